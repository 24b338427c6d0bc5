//! The JSON manifest written beside every backup file.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{BackupError, DatabaseState, Digests};
use crate::ledger::{LedgerRow, RowState};

/// The manifest format version written by this crate.
pub const MANIFEST_VERSION: u32 = 1;

/// How the backup file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackupFormat {
    /// `pg_dump -Fc`: restored with `pg_restore`, in parallel; listable at level 2.
    #[default]
    Custom,
    /// `pg_dump -Fp` compressed with gzip: portable SQL, restored with `psql`.
    PlainGzip,
}

impl BackupFormat {
    /// The file extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Custom => "dump",
            Self::PlainGzip => "sql.gz",
        }
    }
}

/// A migration the ledger recorded as applied when the backup was taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The migration name.
    pub migration_name: String,
    /// Prisma's checksum of its script.
    pub checksum: String,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Everything known about a backup: what it holds and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The manifest format version.
    pub manifest_version: u32,
    /// `backup_YYYYmmdd_HHMMSS` (UTC), with `_N` appended when that second is taken.
    pub id: String,
    /// The backup file's name, in the manifest's directory.
    pub file: String,
    /// The file format.
    pub format: BackupFormat,
    /// The database dumped.
    pub database: String,
    /// `host:port/database` (no credentials).
    pub target: String,
    /// `SHOW server_version`.
    pub server_version: String,
    /// The server's major version.
    pub server_major: u32,
    /// `pg_dump --version`.
    pub pg_dump_version: String,
    /// When the backup started (UTC).
    pub started_at: DateTime<Utc>,
    /// When the file was complete (UTC).
    pub finished_at: DateTime<Utc>,
    /// Size and digests of the file.
    #[serde(flatten)]
    pub digests: Digests,
    /// The snapshot the dump and the counts share (`pg_export_snapshot`).
    pub snapshot: String,
    /// The applied migrations at backup time, in ledger order; empty without a ledger.
    pub ledger: Vec<LedgerEntry>,
    /// Whether `_prisma_migrations` existed.
    pub ledger_present: bool,
    /// Row counts and schema fingerprint, taken in the dump's snapshot.
    #[serde(flatten)]
    pub state: DatabaseState,
}

impl Manifest {
    /// Where the manifest of backup `id` lives in `dir`: `<dir>/<id>.json`.
    #[must_use]
    pub fn path_in(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Reads a manifest.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`] or [`BackupError::Manifest`].
    pub fn read(path: &Path) -> Result<Self, BackupError> {
        let text = fs::read_to_string(path).map_err(BackupError::io("read", path))?;
        let manifest: Self = serde_json::from_str(&text).map_err(|e| BackupError::Manifest {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if manifest.manifest_version > MANIFEST_VERSION {
            return Err(BackupError::Manifest {
                path: path.to_owned(),
                reason: format!(
                    "manifest version {} is newer than this program's {MANIFEST_VERSION}",
                    manifest.manifest_version
                ),
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest (mode 0600) atomically: a temporary file renamed into place.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`].
    pub fn write(&self, path: &Path) -> Result<(), BackupError> {
        let tmp = path.with_extension("json.partial");
        let text = serde_json::to_vec_pretty(self).map_err(|e| BackupError::Manifest {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(BackupError::io("create", &tmp))?;
        file.write_all(&text)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(BackupError::io("write", &tmp))?;
        fs::rename(&tmp, path).map_err(BackupError::io("rename into place", path))
    }

    /// The names of the migrations applied at backup time.
    #[must_use]
    pub fn applied_migrations(&self) -> Vec<&str> {
        self.ledger
            .iter()
            .map(|e| e.migration_name.as_str())
            .collect()
    }

    /// The entry of `schema.table`, if the backup has that table.
    #[must_use]
    pub fn table(&self, schema: &str, table: &str) -> Option<&super::TableCount> {
        self.state
            .tables
            .iter()
            .find(|t| t.schema == schema && t.table == table)
    }
}

/// The applied migrations of a ledger, for a manifest.
pub(crate) fn ledger_entries(rows: &[LedgerRow]) -> Vec<LedgerEntry> {
    rows.iter()
        .filter(|r| r.state() == RowState::Applied)
        .map(|r| LedgerEntry {
            migration_name: r.migration_name.clone(),
            checksum: r.checksum.clone(),
            finished_at: r.finished_at,
        })
        .collect()
}
