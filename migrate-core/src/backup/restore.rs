//! Restoring a backup so that the database is exactly what it was: loaded into a fresh database,
//! checked against the manifest, then swapped in under the original name. Objects created after
//! the backup vanish with the old database, which `pg_restore --clean` cannot do.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::interrupted::{clean_up, Marker, RestoreLock};
use super::load::{load, Load};
use super::pg_dump::tools_for;
use super::read_only::{end_sessions, ReadOnlyGuard};
use super::{
    is_read_only, Backup, BackupError, DatabaseState, PgDumpBackup, VerifyLevel, VerifyOptions,
};
use crate::connection::{connect, DatabaseUrl};
use crate::sql::{quote_ident, quote_literal};

/// How a restore runs.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Parallel `pg_restore` jobs. By default, the number of CPUs, at most 4.
    pub jobs: usize,
    /// Verification of the backup before anything is touched. By default,
    /// [`VerifyLevel::Contents`] (L2).
    pub verify_before: VerifyLevel,
    /// Keep the replaced database, renamed `<db>_pre_restore_<YYYYmmdd_HHMMSS>` and read-only, to
    /// recover rows written after the backup by hand. By default, true.
    pub keep_previous: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            verify_before: VerifyLevel::Contents,
            keep_previous: true,
        }
    }
}

/// What a restore lost in one table: the rows it held when writes stopped versus at backup time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableLoss {
    /// The schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// Rows at backup time; `None` for a table created after the backup (all its rows are lost).
    pub rows_at_backup: Option<i64>,
    /// Rows when writes were stopped.
    pub rows_before_restore: i64,
    /// Inserts, updates and deletes since the backup according to the statistics collector
    /// (an estimate; `None` when unknown or reset).
    pub writes_since_backup: Option<i64>,
}

/// What a restore did, how long it took, and what it lost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[must_use]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: String,
    /// The database restored (its name did not change).
    pub database: String,
    /// Where the replaced database went, when kept.
    pub previous_database: Option<String>,
    /// From the start to the restored database in place and verified: the recovery time.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Time per phase in seconds, in order (in JSON: `{"phase", "duration_ms"}` objects).
    #[serde(serialize_with = "phases_ms")]
    pub phases: Vec<(String, f64)>,
    /// Tables whose content changed since the backup; their later writes are lost.
    pub lost: Vec<TableLoss>,
    /// Sessions ended to stop writes and to swap the databases.
    pub sessions_ended: u64,
    /// What an interrupted earlier restore had left and this one undid first, one sentence each.
    pub recovered: Vec<String>,
    /// The writes made to the covered tables after a scoped backup, replayed by a table-level
    /// restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::replay::ReplayReport>,
}

fn phases_ms<S: serde::Serializer>(phases: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(phases.len()))?;
    for (phase, secs) in phases {
        seq.serialize_element(&serde_json::json!({
            "phase": phase,
            "duration_ms": crate::event::ms(Duration::from_secs_f64(*secs)),
        }))?;
    }
    seq.end()
}

impl RestoreReport {
    /// True when nothing was written after the backup (as far as counts and statistics show).
    #[must_use]
    pub fn lost_nothing(&self) -> bool {
        self.lost.is_empty()
    }
}

/// Per-table loss between the backup's state and the state when writes stopped.
pub(crate) fn losses(at_backup: &DatabaseState, now: &DatabaseState) -> Vec<TableLoss> {
    now.tables
        .iter()
        .filter_map(|t| {
            let before = at_backup
                .tables
                .iter()
                .find(|b| b.schema == t.schema && b.table == t.table);
            let writes = match (before.and_then(|b| b.writes), t.writes) {
                (Some(b), Some(n)) if n >= b => Some(n - b),
                (None, Some(n)) if before.is_none() => Some(n),
                _ => None,
            };
            let changed = match before {
                None => true,
                Some(b) => b.rows != t.rows || writes.is_some_and(|w| w > 0),
            };
            changed.then(|| TableLoss {
                schema: t.schema.clone(),
                table: t.table.clone(),
                rows_at_backup: before.map(|b| b.rows),
                rows_before_restore: t.rows,
                writes_since_backup: writes,
            })
        })
        .collect()
}

/// The database-level settings of `database` (`ALTER DATABASE … SET`), which a dump does not
/// carry, except the read-only switch that we manage.
fn database_settings(
    admin: &mut postgres::Client,
    database: &str,
    target: &str,
) -> Result<Vec<String>, BackupError> {
    let rows = admin
        .query(
            "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
             WHERE d.datname = $1 AND s.setrole = 0",
            &[&database],
        )
        .map_err(BackupError::query("reading the database settings", target.to_owned()))?;
    Ok(rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|s| !s.starts_with("default_transaction_read_only="))
        .collect())
}

pub(crate) fn restore(
    provider: &PgDumpBackup,
    backup: &Backup,
    url: &DatabaseUrl,
    options: &RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    if let Some(scope) = &backup.manifest.scope {
        return Err(BackupError::ScopedBackup {
            id: backup.id().to_owned(),
            covered: scope.covered.len(),
        });
    }
    let start = Instant::now();
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut phase_start = Instant::now();
    let mut phase = |name: &str, phases: &mut Vec<(String, f64)>| {
        phases.push((name.to_owned(), phase_start.elapsed().as_secs_f64()));
        phase_start = Instant::now();
    };
    let target = url.target();
    let database = url.database().to_owned();
    let tools = tools_for(provider, backup)?;

    super::verify::verify(
        provider,
        backup,
        options.verify_before,
        &VerifyOptions::default(),
    )?
    .required(backup.id(), options.verify_before)
    .map(drop)?;

    phase("verify backup", &mut phases);

    // One restore at a time; what a killed one left is undone first.
    let mut lock = RestoreLock::acquire(url)?;
    let recovered = clean_up(lock.admin(), &database, &target)?;
    refuse_without_privileges(url, &target)?;
    if !recovered.is_empty() {
        phase("undo an interrupted restore", &mut phases);
    }

    let stamp = Utc::now().format("%Y%m%d_%H%M%S").to_string();
    let fresh = format!("{}_restoring_{stamp}", truncate(&database, 30));
    let previous = super::previous::previous_name(&database, &stamp);
    let admin = lock.admin();
    let props = admin
        .query_one(
            "SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, pg_get_userbyid(d.datdba), \
             (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
             shobj_description(d.oid, 'pg_database') \
             FROM pg_database d WHERE d.datname = $1",
            &[&database],
        )
        .map_err(BackupError::query("reading the database's properties", target.clone()))?;
    let (encoding, collate, ctype, owner, superuser): (String, String, String, String, bool) = (
        props.get(0),
        props.get(1),
        props.get(2),
        props.get(3),
        props.get(4),
    );
    let comment: Option<String> = props.get(5);
    let settings = database_settings(admin, &database, &target)?;
    let mut create = format!(
        "CREATE DATABASE {} TEMPLATE template0 ENCODING '{}' LC_COLLATE '{}' LC_CTYPE '{}'",
        quote_ident(&fresh),
        encoding.replace('\'', "''"),
        collate.replace('\'', "''"),
        ctype.replace('\'', "''"),
    );
    if superuser {
        create.push_str(&format!(" OWNER {}", quote_ident(&owner)));
    }
    admin.batch_execute(&create).map_err(BackupError::query(
        format!("creating {fresh}"),
        target.clone(),
    ))?;
    let mut fresh_guard = DropOnFailure {
        name: fresh.clone(),
        url: url.clone(),
        armed: true,
    };
    // Marked before the target becomes read-only: a kill from here on is undone by the next run.
    let marked = Marker {
        migrate_restore_of: database.clone(),
        backup: backup.id().to_owned(),
        was_read_only: is_read_only(admin, &database, &target)?,
    }
    .write(admin, &fresh, &target);
    if let Err(e) = marked {
        fresh_guard.drop_now(admin);
        return Err(e);
    }
    for setting in &settings {
        if let Some((name, value)) = setting.split_once('=') {
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE {} SET {} = '{}'",
                    quote_ident(&fresh),
                    quote_ident(name),
                    value.replace('\'', "''")
                ))
                .map_err(BackupError::query(
                    format!("copying setting {name} to {fresh}"),
                    target.clone(),
                ))?;
        }
    }

    // Writes stop now: whatever is written from here on would be lost, so it must fail instead.
    let mut guard = ReadOnlyGuard::engage(url)?;
    let mut sessions_ended = guard.sessions_ended();
    let now_state = {
        let mut client = connect(url)?;
        DatabaseState::capture(&mut client, &target)?
    };
    let lost = losses(&backup.manifest.state, &now_state);
    phase("stop writes and measure loss", &mut phases);

    let fresh_url = url.with_database(&fresh);
    let loaded = load(
        &tools,
        backup,
        &fresh_url,
        Load {
            jobs: options.jobs,
            no_owner: !superuser,
        },
    );
    if let Err(e) = loaded {
        fresh_guard.drop_now(guard.admin());
        return Err(e);
    }
    phase("load into a fresh database", &mut phases);

    let restored_state = {
        let mut client = connect(&fresh_url)?;
        let state = DatabaseState::capture(&mut client, &fresh_url.target());
        client.close().ok();
        state?
    };
    let diffs = backup.manifest.state.differences(&restored_state);
    if !diffs.is_empty() {
        fresh_guard.drop_now(guard.admin());
        return Err(BackupError::RestoreMismatch {
            id: backup.id().to_owned(),
            failures: diffs.join("; "),
        });
    }
    phase("verify against the manifest", &mut phases);
    carry_journal(url, &fresh_url, backup, &target);

    // The swap: nobody may connect to the old database while it is renamed.
    let admin = guard.admin();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
            quote_ident(&database)
        ))
        .map_err(BackupError::query(
            format!("closing {database} to new sessions"),
            target.clone(),
        ))?;
    // Both renames and the comment in one transaction: there is never a moment without a
    // database under the original name, even if this process dies.
    let swap = format!(
        "BEGIN; ALTER DATABASE {db} RENAME TO {prev}; ALTER DATABASE {fresh} RENAME TO {db}; \
         COMMENT ON DATABASE {db} IS {comment}; COMMIT",
        db = quote_ident(&database),
        prev = quote_ident(&previous),
        fresh = quote_ident(&fresh),
        comment = comment
            .as_deref()
            .map_or_else(|| "NULL".to_owned(), quote_literal),
    );
    let mut attempt = 0;
    loop {
        let swapped = end_sessions(admin, &database, &target).and_then(|ended| {
            sessions_ended += ended;
            admin.batch_execute(&swap).map_err(BackupError::query(
                format!("swapping {fresh} in for {database}"),
                target.clone(),
            ))
        });
        match swapped {
            Ok(()) => break,
            // 55006: sessions still closing; they go within moments.
            Err(BackupError::Query { source, .. })
                if attempt < 50 && source.code().is_some_and(|c| c.code() == "55006") =>
            {
                let _ = admin.batch_execute("ROLLBACK");
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                // Never leave the original closed: it is still the database.
                let _ = admin.batch_execute(&format!(
                    "ROLLBACK; ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
                    quote_ident(&database)
                ));
                fresh_guard.drop_now(admin);
                return Err(e);
            }
        }
    }
    fresh_guard.armed = false;
    // The restore is done from here on: what follows is tidying, and its failures are warnings.
    let tidy = |admin: &mut postgres::Client, sql: String, what: &str| {
        admin.batch_execute(&sql).map_err(|e| {
            log::warn!(target: "migrate_core::backup", "restored, but {what}: {e}");
        })
    };
    let previous_database = if options.keep_previous {
        // Readable for forensics, still read-only (its setting moved with it).
        let _ = tidy(
            admin,
            format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
                quote_ident(&previous)
            ),
            &format!("could not reopen {previous}"),
        );
        Some(previous)
    } else {
        tidy(
            admin,
            format!("DROP DATABASE {}", quote_ident(&previous)),
            &format!("could not drop {previous}; drop it by hand"),
        )
        .err()
        .map(|()| previous)
    };
    // The database now under the original name never had the read-only setting.
    guard.keep();
    phase("swap databases", &mut phases);
    // The restored schema is what the next deployment's drift check should expect.
    if let Ok(mut client) = connect(url) {
        crate::journal::record_schema_latest(&mut client, &target);
    }

    let report = RestoreReport {
        backup: backup.id().to_owned(),
        database,
        previous_database,
        duration: start.elapsed(),
        phases,
        lost,
        sessions_ended,
        recovered,
        replay: None,
    };
    log::info!(
        target: "migrate_core::backup",
        "restored {} into {target} in {:.1}s",
        report.backup,
        report.duration.as_secs_f64()
    );
    Ok(report)
}

/// The deployment journal outlives the restore: the replaced database's entries (writes are
/// stopped, so it no longer changes) go into the restored copy, the ones the restore undoes
/// marked so. A failure here costs the history, not the restore: a warning.
fn carry_journal(url: &DatabaseUrl, fresh_url: &DatabaseUrl, backup: &Backup, target: &str) {
    let kept = backup.manifest.applied_migrations();
    let carried = connect(url).and_then(|mut from| {
        let mut to = connect(fresh_url)?;
        Ok(crate::journal::Journal::carry(
            &mut from,
            &mut to,
            backup.id(),
            &kept,
        ))
    });
    match carried {
        Ok(Ok(n)) => {
            log::info!(target: "migrate_core::backup", "{target}: {n} journal entries carried into the restored database")
        }
        Ok(Err(e)) => {
            log::warn!(target: "migrate_core::backup", "{target}: the deployment journal was not carried over: {e}")
        }
        Err(e) => {
            log::warn!(target: "migrate_core::backup", "{target}: the deployment journal was not carried over: {e}")
        }
    }
}

/// A role that may not create or rename the database is told so before anything is created
/// (PostgreSQL would only say `permission denied to create database` half-way).
fn refuse_without_privileges(url: &DatabaseUrl, target: &str) -> Result<(), BackupError> {
    // Unreachable (closed to sessions): the restore's own statements tell.
    let Ok(mut client) = connect(url) else {
        return Ok(());
    };
    let privileges = super::RolePrivileges::read(&mut client, target)?;
    let missing = privileges.missing_for_database_restore();
    if missing.is_empty() {
        return Ok(());
    }
    Err(BackupError::MissingPrivilege {
        role: privileges.role,
        operation: "a whole-database restore".to_owned(),
        missing: super::list_privileges(&missing),
    })
}

/// Names are at most 63 bytes; keep room for the suffix.
fn truncate(name: &str, max: usize) -> &str {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The fresh database, dropped when the restore gives up before swapping it in, on every path
/// (`?` and panics included).
struct DropOnFailure {
    name: String,
    url: DatabaseUrl,
    armed: bool,
}

impl DropOnFailure {
    fn drop_now(&mut self, admin: &mut postgres::Client) {
        if self.armed {
            self.armed = false;
            if let Err(e) = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            )) {
                log::warn!(target: "migrate_core::backup", "could not drop {}: {e}; the next restore drops it", self.name);
            }
        }
    }
}

impl Drop for DropOnFailure {
    fn drop(&mut self) {
        if self.armed {
            match super::read_only::admin_client(&self.url) {
                Ok(mut admin) => self.drop_now(&mut admin),
                Err(e) => log::warn!(
                    target: "migrate_core::backup",
                    "restore stopped early: could not drop {} ({e}); the next restore drops it",
                    self.name
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::TableCount;
    use crate::schema::SchemaFingerprint;

    fn state(tables: &[(&str, i64, Option<i64>)]) -> DatabaseState {
        DatabaseState {
            tables: tables
                .iter()
                .map(|(name, rows, writes)| TableCount {
                    schema: "public".into(),
                    table: (*name).into(),
                    rows: *rows,
                    writes: *writes,
                })
                .collect(),
            schema_fingerprint: SchemaFingerprint {
                sha256: String::new(),
                objects: 0,
            },
        }
    }

    #[test]
    fn losses_count_new_tables_changed_counts_and_rewrites() {
        let at_backup = state(&[
            ("same", 10, Some(10)),
            ("grew", 5, Some(5)),
            ("updated", 3, Some(3)),
        ]);
        let now = state(&[
            ("same", 10, Some(10)),
            ("grew", 8, Some(8)),
            ("updated", 3, Some(7)),
            ("new", 2, Some(2)),
        ]);
        let lost = losses(&at_backup, &now);
        let view: Vec<(&str, Option<i64>, i64, Option<i64>)> = lost
            .iter()
            .map(|l| {
                (
                    l.table.as_str(),
                    l.rows_at_backup,
                    l.rows_before_restore,
                    l.writes_since_backup,
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                ("grew", Some(5), 8, Some(3)),
                ("updated", Some(3), 3, Some(4)),
                ("new", None, 2, Some(2)),
            ]
        );
    }
}
