//! Restores that died half-way (SIGKILL, lost host): one restore at a time per database, and
//! what the next one, or the next deployment, finds and cleans up.
//!
//! A restore loads into a fresh database, `<db>_restoring_<stamp>`, while the target is
//! read-only, then swaps the two in one transaction. Killed before the swap, it leaves the target
//! untouched but read-only, and the fresh database behind. The fresh database carries a marker
//! (its comment) from the moment it exists, before the target is made read-only, saying whose
//! restore it is and whether the target was read-only before: enough to undo both.
//!
//! A session-level advisory lock on the maintenance database tells a dead restore from a live
//! one: the server releases it when the restoring process's connection goes.

use postgres::Client;
use serde::{Deserialize, Serialize};

use super::read_only::admin_client;
use super::BackupError;
use crate::connection::DatabaseUrl;
use crate::sql::quote_ident;

/// First key of the restore lock ("mgrs"); the second is the database name's hash.
const RESTORE_LOCK_KEY: i32 = 0x6d67_7273;

/// The comment on a database being restored into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    /// The database this one will replace.
    pub migrate_restore_of: String,
    /// The backup being restored.
    pub backup: String,
    /// Whether the target was read-only before the restore made it so.
    pub was_read_only: bool,
}

impl Marker {
    /// Marks `fresh` as the restore described by `self`.
    pub(crate) fn write(
        &self,
        admin: &mut Client,
        fresh: &str,
        target: &str,
    ) -> Result<(), BackupError> {
        let text = serde_json::to_string(self).unwrap_or_default();
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {} IS {}",
                quote_ident(fresh),
                crate::sql::quote_literal(&text)
            ))
            .map_err(BackupError::query(
                format!("marking {fresh} as a restore in progress"),
                target.to_owned(),
            ))
    }
}

/// The restore lock of one database, held for the whole restore on a maintenance session.
pub(crate) struct RestoreLock {
    admin: Client,
}

impl RestoreLock {
    /// Takes the lock, or says who holds it.
    pub(crate) fn acquire(url: &DatabaseUrl) -> Result<Self, BackupError> {
        let target = url.target();
        let mut admin = admin_client(url)?;
        // Idle through the whole load: a server-side idle timeout must not end it (the restore
        // would then look dead to other runs). PostgreSQL 14 and later.
        let _ = admin.batch_execute("SET idle_session_timeout = 0");
        let taken: bool = admin
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&RESTORE_LOCK_KEY, &url.database()],
            )
            .map_err(BackupError::query(
                "taking the restore lock",
                target.clone(),
            ))?
            .get(0);
        if !taken {
            let holder: Option<(i32, String)> = admin
                .query_opt(
                    "SELECT a.pid, coalesce(a.application_name, '') FROM pg_locks l \
                     JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid \
                     AND l.objid = hashtext($2)::oid AND l.objsubid = 2 LIMIT 1",
                    &[&RESTORE_LOCK_KEY, &url.database()],
                )
                .ok()
                .flatten()
                .map(|row| (row.get(0), row.get(1)));
            return Err(BackupError::RestoreInProgress {
                database: url.database().to_owned(),
                holder: holder.map_or_else(
                    || "another session".to_owned(),
                    |(pid, app)| format!("server pid {pid} ({app})"),
                ),
            });
        }
        Ok(Self { admin })
    }

    /// The maintenance session holding the lock.
    pub(crate) fn admin(&mut self) -> &mut Client {
        &mut self.admin
    }
}

// No Drop: closing the session (dropping the client) releases a session-level advisory lock.

/// Undoes what interrupted restores of `url`'s database left: drops their fresh databases and
/// puts the target's read-only setting and connection switch back as they were. Returns one
/// sentence per thing done. Call it holding the [`RestoreLock`].
pub(crate) fn clean_up(
    admin: &mut Client,
    database: &str,
    target: &str,
) -> Result<Vec<String>, BackupError> {
    let leftovers = leftovers(admin, database, target)?;
    let mut done = Vec::new();
    if leftovers.is_empty() {
        return Ok(done);
    }
    let was_read_only = leftovers.iter().any(|(_, m)| m.was_read_only);
    // The target first, the leftovers (the only record of the interruption) last: a failure in
    // between leaves something the next run still finds.
    let row = admin
        .query_opt(
            "SELECT datallowconn FROM pg_database WHERE datname = $1",
            &[&database],
        )
        .map_err(BackupError::query(
            "reading the database",
            target.to_owned(),
        ))?;
    if row.is_some_and(|r| !r.get::<_, bool>(0)) {
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
                quote_ident(database)
            ))
            .map_err(BackupError::query(
                "reopening the database",
                target.to_owned(),
            ))?;
        done.push(format!("reopened {database} to new sessions"));
    }
    if !was_read_only && super::is_read_only(admin, database, target)? {
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} RESET default_transaction_read_only",
                quote_ident(database)
            ))
            .map_err(BackupError::query(
                "lifting the read-only mode",
                target.to_owned(),
            ))?;
        done.push(format!(
            "lifted the read-only mode the interrupted restore had put on {database}"
        ));
    }
    for (name, marker) in &leftovers {
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(name)
            ))
            .map_err(BackupError::query(
                format!("dropping {name}, left by an interrupted restore"),
                target.to_owned(),
            ))?;
        done.push(format!(
            "dropped {name}, left by an interrupted restore of {}; that restore did not happen",
            marker.backup
        ));
    }
    for sentence in &done {
        log::warn!(target: "migrate_core::backup", "{target}: {sentence}");
    }
    Ok(done)
}

/// The databases marked as restores into `database`.
fn leftovers(
    client: &mut Client,
    database: &str,
    target: &str,
) -> Result<Vec<(String, Marker)>, BackupError> {
    let rows = client
        .query(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database \
             WHERE shobj_description(oid, 'pg_database') LIKE '%\"migrate_restore_of\"%'",
            &[],
        )
        .map_err(BackupError::query(
            "looking for interrupted restores",
            target.to_owned(),
        ))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let marker: Marker = serde_json::from_str(row.get::<_, &str>(1)).ok()?;
            (marker.migrate_restore_of == database).then(|| (row.get(0), marker))
        })
        .collect())
}

/// Refuses a database left by an interrupted restore, for callers that must not undo it (a
/// service deploying at start-up): `Err` naming the backup and what to run.
///
/// # Errors
///
/// [`BackupError::InterruptedRestore`], or [`BackupError::Query`] when the catalog cannot be
/// read.
pub fn refuse_interrupted_restore(
    client: &mut Client,
    url: &DatabaseUrl,
) -> Result<(), BackupError> {
    let Some((leftover, marker)) = leftovers(client, url.database(), &url.target())?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    // A restore running now holds its lock (taken on a maintenance database: any one counts).
    let running: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2)",
            &[&RESTORE_LOCK_KEY, &url.database()],
        )
        .map_err(BackupError::query(
            "looking for a running restore",
            url.target(),
        ))?
        .get(0);
    Err(if running {
        BackupError::RestoreInProgress {
            database: url.database().to_owned(),
            holder: format!("backup {} is being loaded into {leftover}", marker.backup),
        }
    } else {
        BackupError::InterruptedRestore {
            database: url.database().to_owned(),
            backup: marker.backup,
            leftover,
        }
    })
}

/// Cleans up after interrupted restores of `url`'s database, if any, unless a restore is
/// running now. Cheap when there is nothing to do: one catalog query on `client` (any session of
/// the same server). For deployments, which must not start on a database left read-only.
///
/// # Errors
///
/// [`BackupError::Query`] or [`BackupError::Connect`] when the cleanup fails; a restore in
/// progress is [`BackupError::RestoreInProgress`].
pub fn recover_interrupted_restore(
    client: &mut Client,
    url: &DatabaseUrl,
) -> Result<Vec<String>, BackupError> {
    if leftovers(client, url.database(), &url.target())?.is_empty() {
        return Ok(Vec::new());
    }
    recover_interrupted_restore_without_target(url)
}

/// [`recover_interrupted_restore`] for when the database itself cannot be connected to (a
/// restore killed while it was closed to new sessions): from a maintenance session only.
///
/// # Errors
///
/// As [`recover_interrupted_restore`].
pub fn recover_interrupted_restore_without_target(
    url: &DatabaseUrl,
) -> Result<Vec<String>, BackupError> {
    let mut lock = RestoreLock::acquire(url)?;
    clean_up(lock.admin(), url.database(), &url.target())
}
