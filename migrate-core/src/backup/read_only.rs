//! Emergency read-only mode: `default_transaction_read_only` set on the database, and the
//! sessions that were open before (which keep their old default) ended.
//!
//! ### Warning
//!
//! This stops well-behaved writers, not hostile ones: a session may still run
//! `SET default_transaction_read_only = off`. It is a brake for incidents, not a permission.

use postgres::Client;

use super::BackupError;
use crate::connection::{connect, DatabaseUrl};
use crate::sql::quote_ident;

/// What switching read-only mode did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadOnlyChange {
    /// The database.
    pub database: String,
    /// Read-only now.
    pub read_only: bool,
    /// Sessions ended so that they reconnect with the new default.
    pub sessions_ended: u64,
}

/// A session on a maintenance database of the same server (`postgres`, else `template1`), for
/// statements that must not run inside the target database (rename, drop, create).
pub(crate) fn admin_client(url: &DatabaseUrl) -> Result<Client, BackupError> {
    // Never the target itself: a database cannot be renamed or dropped from inside.
    let (first, second) = if url.database() == "postgres" {
        ("template1", "template1")
    } else {
        ("postgres", "template1")
    };
    match connect(&url.with_database(first)) {
        Ok(client) => Ok(client),
        Err(e) => connect(&url.with_database(second)).map_err(|_| e.into()),
    }
}

/// Whether `database` has `default_transaction_read_only` set on (for every role).
///
/// # Errors
///
/// [`BackupError::Query`].
pub fn is_read_only(
    client: &mut Client,
    database: &str,
    target: &str,
) -> Result<bool, BackupError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
             WHERE d.datname = $1 AND s.setrole = 0 \
             AND 'default_transaction_read_only=on' = ANY (s.setconfig))",
            &[&database],
        )
        .map_err(BackupError::query("reading the database settings", target.to_owned()))?;
    Ok(row.get(0))
}

/// Ends every other client session on `database`; returns how many.
pub(crate) fn end_sessions(
    client: &mut Client,
    database: &str,
    target: &str,
) -> Result<u64, BackupError> {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            &[&database],
        )
        .map_err(BackupError::query(
            format!("ending the sessions on {database}"),
            target.to_owned(),
        ))?;
    let ended: i64 = row.get(0);
    Ok(u64::try_from(ended).unwrap_or(0))
}

fn set(client: &mut Client, database: &str, on: bool, target: &str) -> Result<(), BackupError> {
    let sql = if on {
        format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            quote_ident(database)
        )
    } else {
        format!(
            "ALTER DATABASE {} RESET default_transaction_read_only",
            quote_ident(database)
        )
    };
    client.batch_execute(&sql).map_err(BackupError::query(
        format!("switching read-only mode of {database}"),
        target.to_owned(),
    ))
}

/// Switches the database of `url` to read-only (ending the sessions that could still write) or
/// back. This is `migrate maintenance read-only on|off`; it lasts until switched back.
///
/// # Errors
///
/// [`BackupError::Connect`] or [`BackupError::Query`] (e.g. without the privilege to alter the
/// database or end sessions).
pub fn set_read_only(url: &DatabaseUrl, on: bool) -> Result<ReadOnlyChange, BackupError> {
    let target = url.target();
    let mut admin = admin_client(url)?;
    set(&mut admin, url.database(), on, &target)?;
    // Existing sessions keep the default they started with: only new sessions are read-only.
    let sessions_ended = if on {
        end_sessions(&mut admin, url.database(), &target)?
    } else {
        0
    };
    log::warn!(
        target: "migrate_core::backup",
        "{target} is now {} ({sessions_ended} session(s) ended)",
        if on { "read-only" } else { "writable" }
    );
    Ok(ReadOnlyChange {
        database: url.database().to_owned(),
        read_only: on,
        sessions_ended,
    })
}

/// Read-only mode for the lifetime of the guard: on when created, back to what it was when
/// dropped (or [`ReadOnlyGuard::release`]d).
pub struct ReadOnlyGuard {
    admin: Client,
    database: String,
    target: String,
    was_read_only: bool,
    sessions_ended: u64,
    armed: bool,
}

impl std::fmt::Debug for ReadOnlyGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyGuard")
            .field("database", &self.database)
            .field("was_read_only", &self.was_read_only)
            .finish_non_exhaustive()
    }
}

impl ReadOnlyGuard {
    /// Makes the database of `url` read-only and ends its other sessions.
    ///
    /// # Errors
    ///
    /// As [`set_read_only`].
    pub fn engage(url: &DatabaseUrl) -> Result<Self, BackupError> {
        let target = url.target();
        let mut admin = admin_client(url)?;
        let was_read_only = is_read_only(&mut admin, url.database(), &target)?;
        set(&mut admin, url.database(), true, &target)?;
        let mut guard = Self {
            admin,
            database: url.database().to_owned(),
            target,
            was_read_only,
            sessions_ended: 0,
            armed: true,
        };
        guard.sessions_ended = end_sessions(&mut guard.admin, &guard.database, &guard.target)?;
        Ok(guard)
    }

    /// Sessions ended when the guard was engaged.
    #[must_use]
    pub fn sessions_ended(&self) -> u64 {
        self.sessions_ended
    }

    /// The maintenance session the guard holds, for statements outside the database.
    pub(crate) fn admin(&mut self) -> &mut Client {
        &mut self.admin
    }

    /// Leaves the setting as it is now (read-only) when dropped; for a database renamed away
    /// that nobody should write to any more.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }

    /// Puts the setting back as it was.
    ///
    /// # Errors
    ///
    /// [`BackupError::Query`].
    pub fn release(mut self) -> Result<(), BackupError> {
        self.armed = false;
        let (database, on, target) = (
            self.database.clone(),
            self.was_read_only,
            self.target.clone(),
        );
        set(&mut self.admin, &database, on, &target)
    }
}

impl Drop for ReadOnlyGuard {
    fn drop(&mut self) {
        if self.armed {
            let (database, on, target) = (
                self.database.clone(),
                self.was_read_only,
                self.target.clone(),
            );
            if let Err(e) = set(&mut self.admin, &database, on, &target) {
                log::error!(target: "migrate_core::backup", "could not restore the read-only setting of {database}: {e}");
            }
        }
    }
}
