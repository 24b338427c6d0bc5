//! The default provider: `pg_dump` streamed into a file while it is hashed, with a manifest
//! whose row counts and schema fingerprint come from the dump's own snapshot.

use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use flate2::write::GzEncoder;
use flate2::Compression;
use postgres::{Client, GenericClient, IsolationLevel};

use super::hash::{copy_observed, HashingWriter};
use super::manifest::ledger_entries;
use super::replay::slot::{slot_name, SlotHold};
use super::replay::{ReplayPoint, ReplayReadiness};
use super::tools::Running;
use super::{
    Backup, BackupError, BackupFormat, BackupProvider, BackupStore, DatabaseState, Manifest,
    PgTools, RestoreOptions, RestoreReport, VerifyLevel, VerifyOptions, VerifyReport,
    MANIFEST_VERSION,
};
use crate::connection::{connect, DatabaseUrl};
use crate::ledger::LedgerRow;

/// The custom format's default gzip level.
const FAST_COMPRESSION: u32 = 1;

/// How [`PgDumpBackup`] dumps.
#[derive(Debug, Clone, Default)]
pub struct PgDumpOptions {
    /// The file format. By default, [`BackupFormat::Custom`].
    pub format: BackupFormat,
    /// `pg_dump -Z` for the custom format (0–9), or the gzip level of a plain dump.
    /// By default, level 1 for the custom format (speed first: the backup runs before every
    /// deployment) and 6 for a plain dump.
    pub compression: Option<u32>,
    /// The directory of `pg_dump`/`pg_restore`/`psql`. By default, searched as
    /// [`PgTools::find`] does.
    pub bin_dir: Option<PathBuf>,
}

/// Backups with `pg_dump`, checked with `pg_restore`, restored into a fresh database that is
/// then swapped in.
#[derive(Debug, Clone, Default)]
pub struct PgDumpBackup {
    options: PgDumpOptions,
    /// Replication slots of scoped backups, held until [`BackupProvider::release`] (or until
    /// the provider goes): shared by clones.
    slots: Arc<Mutex<Vec<SlotHold>>>,
}

impl PgDumpBackup {
    /// A provider with `options`.
    #[must_use]
    pub fn new(options: PgDumpOptions) -> Self {
        Self {
            options,
            slots: Arc::default(),
        }
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &PgDumpOptions {
        &self.options
    }

    /// The client tools for a server of `server_major`.
    ///
    /// # Errors
    ///
    /// See [`PgTools::find`].
    pub fn tools(&self, server_major: u32) -> Result<PgTools, BackupError> {
        match &self.options.bin_dir {
            Some(dir) => PgTools::in_dir(dir, server_major),
            None => PgTools::find(server_major),
        }
    }
}

/// The server's version: (`server_version`, major).
pub(crate) fn server_version(
    client: &mut Client,
    target: &str,
) -> Result<(String, u32), BackupError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), \
             current_setting('server_version_num')::int / 10000",
            &[],
        )
        .map_err(BackupError::query(
            "reading the server version",
            target.to_owned(),
        ))?;
    let major: i32 = row.get(1);
    Ok((row.get(0), u32::try_from(major).unwrap_or(0)))
}

/// Creates `<id>.<extension>.partial` for a fresh id (mode 0600), retrying with the next id when
/// another process took it first.
fn claim(
    store: &BackupStore,
    started_at: chrono::DateTime<Utc>,
    extension: &str,
) -> Result<(String, std::fs::File), BackupError> {
    loop {
        let id = store.new_id(started_at);
        let path = store.dir().join(format!("{id}.{extension}.partial"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((id, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(BackupError::io("create", &path)(e)),
        }
    }
}

/// Removes a partial file unless disarmed, so a failed backup leaves nothing that looks usable.
struct PartialFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl BackupProvider for PgDumpBackup {
    fn name(&self) -> &'static str {
        super::manifest::PG_DUMP_PROVIDER
    }

    fn backup(&self, url: &DatabaseUrl, store: &BackupStore) -> Result<Backup, BackupError> {
        self.backup_observed(url, store, &mut |_| {})
    }

    /// Drops the backup's replication slot, if this provider holds it.
    fn release(&self, backup: &Backup) {
        let Some(point) = backup
            .manifest
            .scope
            .as_ref()
            .and_then(|s| s.replay.as_ref())
        else {
            return;
        };
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|hold| hold.slot != point.slot);
    }

    fn backup_observed(
        &self,
        url: &DatabaseUrl,
        store: &BackupStore,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Backup, BackupError> {
        self.dump(url, store, None, progress)
    }

    /// `pg_dump --exclude-table-data` for every application table not at risk, in the same
    /// exported snapshot as the counts and the covered tables' digests.
    fn backup_scoped(
        &self,
        url: &DatabaseUrl,
        store: &BackupStore,
        request: &super::ScopeRequest,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Backup, BackupError> {
        self.dump(url, store, Some(request), progress)
    }

    /// A whole-database restore loads a fresh database and renames it in: superuser, or
    /// `CREATEDB` with ownership of the database. A scoped backup is restored table by table,
    /// which needs ownership of the covered tables only.
    fn restore_missing(
        &self,
        privileges: &super::RolePrivileges,
        covered: Option<&[String]>,
    ) -> Vec<super::Privilege> {
        match covered {
            Some(tables) => privileges.missing_for_tables(tables.iter().map(String::as_str)),
            None => privileges.missing_for_database_restore(),
        }
    }

    fn verify(
        &self,
        backup: &Backup,
        level: VerifyLevel,
        options: &VerifyOptions,
    ) -> Result<VerifyReport, BackupError> {
        super::verify::verify(self, backup, level, options)
    }

    fn restore(
        &self,
        backup: &Backup,
        url: &DatabaseUrl,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        match &backup.manifest.scope {
            Some(scope) => super::table_restore::restore_tables(self, backup, scope, url, options),
            None => super::restore::restore(self, backup, url, options),
        }
    }
}

impl PgDumpBackup {
    /// The dump behind [`BackupProvider::backup_observed`] and
    /// [`BackupProvider::backup_scoped`]: with a request, the data of only its tables.
    fn dump(
        &self,
        url: &DatabaseUrl,
        store: &BackupStore,
        request: Option<&super::ScopeRequest>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Backup, BackupError> {
        let target = url.target();
        let started_at = Utc::now();
        let mut client = connect(url)?;
        let (server_version, server_major) = server_version(&mut client, &target)?;
        let tools = self.tools(server_major)?;
        store.ensure_dir()?;
        // Claim the id by creating the partial file: processes sharing the directory in the same
        // second then get different ids instead of writing into each other's file.
        let (id, file) = claim(store, started_at, self.options.format.extension())?;
        let file_name = format!("{id}.{}", self.options.format.extension());
        let final_path = store.dir().join(&file_name);
        let partial_path = store.dir().join(format!("{file_name}.partial"));
        // Armed only once the file is ours, so a failure never removes another backup's file.
        let mut guard = PartialFile {
            path: partial_path.clone(),
            armed: true,
        };

        // A slot created before the snapshot decodes every transaction the dump may miss; the
        // ones it holds anyway are told apart by the snapshot (replay::apply). No slot when the
        // server or role cannot have one: the pipeline said why before.
        let hold = match request.filter(|r| r.replay) {
            Some(_) if ReplayReadiness::read(&mut client, &target)? == ReplayReadiness::Ready => {
                match SlotHold::create(url, &slot_name(&id)) {
                    Ok(hold) => Some(hold),
                    Err(e) => {
                        log::warn!(target: "migrate_core::backup", "{target}: no replication slot, later writes cannot be replayed: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        // The exported snapshot lives as long as this transaction: pg_dump attaches to it, and our
        // counts and fingerprint are read in it, so they describe exactly what the dump holds.
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(BackupError::query(
                "starting the snapshot transaction",
                target.clone(),
            ))?;
        // The counts run beside pg_dump; parallel workers would only compete with it for CPU.
        tx.batch_execute("SET LOCAL max_parallel_workers_per_gather = 0")
            .map_err(BackupError::query(
                "preparing the snapshot transaction",
                target.clone(),
            ))?;
        let snapshot: String = tx
            .query_one("SELECT pg_export_snapshot()", &[])
            .map_err(BackupError::query("exporting the snapshot", target.clone()))?
            .get(0);
        let (ledger_present, rows) = read_ledger(&mut tx, &target)?;
        let mut scoped = match request {
            Some(request) => Some(scope_in_snapshot(&mut tx, request, &target)?),
            None => None,
        };
        if let (Some(scope), Some((hold, lsn))) = (scoped.as_mut(), hold.as_ref()) {
            let current: String = tx
                .query_one("SELECT pg_current_snapshot()::text", &[])
                .map_err(BackupError::query("reading the snapshot", target.clone()))?
                .get(0);
            scope.replay = Some(ReplayPoint {
                slot: hold.slot.clone(),
                lsn: lsn.clone(),
                snapshot: current,
            });
        }

        let mut command = tools.command("pg_dump", url);
        command
            .arg(format!("--snapshot={snapshot}"))
            .arg("--no-password")
            .stdout(Stdio::piped());
        // In double quotes a pattern is the name itself: no wildcard, no case folding.
        for (schema, table) in scoped.iter().flat_map(|s| &s.excluded) {
            command.arg(format!(
                "--exclude-table-data={}.{}",
                quote_ident_always(schema),
                quote_ident_always(table)
            ));
        }
        match self.options.format {
            BackupFormat::Custom => {
                command.arg("--format=custom");
                // A pre-deploy backup is on the deployment's critical path: the fastest gzip
                // level costs a few percent of size and saves most of the compression time.
                let level = self.options.compression.unwrap_or(FAST_COMPRESSION);
                command.arg(format!("--compress={}", level.min(9)));
            }
            BackupFormat::PlainGzip => {
                // Portable: restorable by any role on any server, hence no owners or grants.
                command.args(["--format=plain", "--no-owner", "--no-privileges"]);
            }
        }
        let mut running = Running::spawn(&mut command)?;
        let mut stdout = running.child.stdout.take().ok_or_else(|| {
            BackupError::io("read", "pg_dump")(std::io::ErrorKind::BrokenPipe.into())
        })?;

        // The state is read while pg_dump streams: the shared snapshot makes the order irrelevant,
        // and the two overlap in time instead of adding up.
        let state = std::thread::scope(|scope| {
            let state = scope.spawn(|| {
                let excluded = |schema: &str, table: &str| {
                    scoped
                        .iter()
                        .flat_map(|s| &s.excluded)
                        .any(|(s, t)| s == schema && t == table)
                };
                DatabaseState::capture_except(&mut tx, &target, &excluded)
            });
            let copied = (|| -> std::io::Result<(File, super::Digests)> {
                let mut hashing =
                    HashingWriter::new(BufWriter::with_capacity(super::hash::CHUNK, file));
                match self.options.format {
                    BackupFormat::Custom => {
                        copy_observed(&mut stdout, &mut hashing, progress)?;
                    }
                    BackupFormat::PlainGzip => {
                        let level = Compression::new(self.options.compression.unwrap_or(6).min(9));
                        let mut gz = GzEncoder::new(&mut hashing, level);
                        copy_observed(&mut stdout, &mut gz, progress)?;
                        gz.finish()?;
                    }
                }
                let (buffered, digests) = hashing.finish();
                let file = buffered
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?;
                Ok((file, digests))
            })();
            (state.join(), copied)
        });
        let (state, copied) = state;
        // A failed state query aborts the snapshot's transaction, which then fails pg_dump too:
        // report the cause, not the consequence.
        let state = state.map_err(|_| BackupError::Manifest {
            path: partial_path.clone(),
            reason: "the thread reading the database state panicked".into(),
        })??;
        let (file, digests) = copied.map_err(BackupError::io("write", &partial_path))?;
        drop(stdout);
        running.finish()?;
        tx.commit().map_err(BackupError::query(
            "ending the snapshot transaction",
            target.clone(),
        ))?;
        file.sync_all()
            .map_err(BackupError::io("sync", &partial_path))?;
        fs::rename(&partial_path, &final_path)
            .map_err(BackupError::io("rename into place", &final_path))?;
        guard.armed = false;

        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            id: id.clone(),
            file: file_name,
            format: self.options.format,
            database: url.database().to_owned(),
            target: target.clone(),
            server_version,
            server_major,
            pg_dump_version: tools.pg_dump_version(),
            started_at,
            finished_at: Utc::now(),
            digests,
            snapshot,
            ledger: ledger_entries(&rows),
            ledger_present,
            state,
            provider: None,
            scope: scoped,
        };
        let manifest_path = Manifest::path_in(store.dir(), &id);
        if let Err(e) = manifest.write(&manifest_path) {
            let _ = fs::remove_file(&final_path);
            return Err(e);
        }
        if let Some((hold, _)) = hold {
            self.slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(hold);
        }
        log::info!(
            target: "migrate_core::backup",
            "backup {id} of {target}: {} bytes, sha256 {}",
            manifest.digests.bytes,
            manifest.digests.sha256
        );
        Ok(Backup {
            manifest,
            dir: store.dir().to_owned(),
        })
    }
}

/// The scope of a scoped dump, read in its snapshot: the tables at risk that exist, with
/// counts and digests, and every other application table, whose data is left out. The
/// ledger's rows stay in (a few rows the restore and the verification read).
fn scope_in_snapshot(
    tx: &mut postgres::Transaction<'_>,
    request: &super::ScopeRequest,
    target: &str,
) -> Result<super::Scope, BackupError> {
    let resolved = super::scope::resolve(tx, &request.tables, target)?;
    let mut covered = Vec::with_capacity(resolved.len());
    for (schema, table, reasons) in resolved {
        let qualified = format!(
            "{}.{}",
            crate::sql::quote_ident(&schema),
            crate::sql::quote_ident(&table)
        );
        let (rows, digest) = super::scope::table_digest(tx, &qualified, target)?;
        covered.push(super::CoveredTable {
            schema,
            table,
            rows,
            digest,
            reasons,
        });
    }
    let all = tx
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {} AND c.relkind = 'r' AND c.relname <> '_prisma_migrations' ORDER BY 1, 2",
                crate::schema::SYSTEM_SCHEMAS
            ),
            &[],
        )
        .map_err(BackupError::query("listing tables", target.to_owned()))?;
    let excluded = all
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .filter(|(s, t)| !covered.iter().any(|c| c.schema == *s && c.table == *t))
        .collect();
    Ok(super::Scope {
        migrations: request.migrations.clone(),
        covered,
        excluded,
        replay: None,
    })
}

/// `"name"` with inner quotes doubled, whatever the name (pg_dump patterns fold and match
/// wildcards outside quotes).
fn quote_ident_always(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Used by verification and restore: the tools for a backup's server version.
pub(crate) fn tools_for(provider: &PgDumpBackup, backup: &Backup) -> Result<PgTools, BackupError> {
    provider.tools(backup.manifest.server_major)
}

/// Checks that `path` is a regular file, for messages that name it.
pub(crate) fn require_file(path: &Path) -> Result<(), BackupError> {
    fs::metadata(path)
        .map(drop)
        .map_err(BackupError::io("open", path))
}

/// The ledger as `client` sees it (in the backup's snapshot): whether `_prisma_migrations` exists
/// on the search path, and its rows in Prisma's order.
pub(crate) fn read_ledger(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<(bool, Vec<LedgerRow>), BackupError> {
    let present: bool = client
        .query_one("SELECT to_regclass('_prisma_migrations') IS NOT NULL", &[])
        .map_err(BackupError::query(
            "looking for the ledger",
            target.to_owned(),
        ))?
        .get(0);
    if !present {
        return Ok((false, Vec::new()));
    }
    Ok((true, crate::ledger::read_rows_in(client)?))
}
