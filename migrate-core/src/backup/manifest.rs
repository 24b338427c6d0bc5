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

/// The provider name of a manifest without a [`ProviderPart`]: the built-in
/// [`PgDumpBackup`](super::PgDumpBackup).
pub const PG_DUMP_PROVIDER: &str = "pg_dump";

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
    /// What a [`BackupProvider`](super::BackupProvider) other than `pg_dump` records about the
    /// backup: its name and its own data, for example a cloud snapshot id. `None` for a
    /// `pg_dump` backup, whose manifest then has no `provider` key (manifests written before
    /// this field existed load unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderPart>,
    /// For a scoped backup, the tables whose data it holds and those it leaves out; `None` for
    /// a full backup (and for manifests written before scoped backups existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<super::Scope>,
}

/// The provider-specific part of a [`Manifest`]: which provider took the backup and what it
/// needs to find and restore it.
///
/// ```
/// use migrate_core::backup::ProviderPart;
///
/// let part = ProviderPart::new("ebs-snapshot", serde_json::json!({ "snapshot": "snap-123" }));
/// assert_eq!(part.data["snapshot"], "snap-123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ProviderPart {
    /// The provider's [`name`](super::BackupProvider::name).
    pub name: String,
    /// The provider's own data, for example a cloud snapshot id; any JSON. `null` (left out of
    /// the file) when the provider has nothing to add.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl ProviderPart {
    /// The part of provider `name`, holding `data`.
    #[must_use]
    pub fn new(name: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            name: name.into(),
            data,
        }
    }
}

impl Manifest {
    /// Whether the backup holds the data of only some tables.
    #[must_use]
    pub fn is_scoped(&self) -> bool {
        self.scope.is_some()
    }

    /// What a restore of the archive into an empty database holds: the state at backup time,
    /// with no rows in the tables a scoped backup leaves out.
    #[must_use]
    pub fn expected_state(&self) -> DatabaseState {
        let mut state = self.state.clone();
        if let Some(scope) = &self.scope {
            for t in &mut state.tables {
                if scope
                    .excluded
                    .iter()
                    .any(|(s, n)| *s == t.schema && *n == t.table)
                {
                    t.rows = 0;
                }
            }
        }
        state
    }

    /// The name of the provider that took the backup: its [`ProviderPart`]'s, or
    /// [`PG_DUMP_PROVIDER`] when the manifest has none.
    #[must_use]
    pub fn provider_name(&self) -> &str {
        self.provider
            .as_ref()
            .map_or(PG_DUMP_PROVIDER, |p| p.name.as_str())
    }

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
        Self::parse(&text, path)
    }

    /// Parses and checks the text of a manifest (`path` is for messages).
    ///
    /// Beyond the JSON shape, the id and file name must be plain names inside the backup
    /// directory: pruning deletes `<dir>/<file>`, so a tampered `"file": "/etc/passwd"` or
    /// `"../x"` must never be accepted.
    ///
    /// # Errors
    ///
    /// [`BackupError::Manifest`] saying what is wrong.
    pub fn parse(text: &str, path: &Path) -> Result<Self, BackupError> {
        let invalid = |reason: String| BackupError::Manifest {
            path: path.to_owned(),
            reason,
        };
        let manifest: Self = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if manifest.manifest_version > MANIFEST_VERSION {
            return Err(invalid(format!(
                "manifest version {} is newer than this program's {MANIFEST_VERSION}",
                manifest.manifest_version
            )));
        }
        if !is_backup_id(&manifest.id) {
            return Err(invalid(format!(
                "id {:?} is not a backup id (backup_ followed by letters, digits and _)",
                manifest.id
            )));
        }
        let expected = format!("{}.{}", manifest.id, manifest.format.extension());
        if manifest.file != expected {
            return Err(invalid(format!(
                "file {:?} should be {expected:?}, beside the manifest",
                manifest.file
            )));
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

/// Whether `id` has the shape of a backup id: `backup_` and then ASCII letters, digits and `_`
/// (so it is a plain file name, never a path).
#[must_use]
pub fn is_backup_id(id: &str) -> bool {
    id.strip_prefix("backup_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
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

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Component;

    use proptest::prelude::*;

    use super::*;
    use crate::backup::{DatabaseState, TableCount};
    use crate::schema::SchemaFingerprint;

    /// A manifest of backup `id` with one table and one applied migration per name.
    pub(crate) fn sample(id: &str, names: &[String]) -> Manifest {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Manifest {
            manifest_version: MANIFEST_VERSION,
            id: id.to_owned(),
            file: format!("{id}.dump"),
            format: BackupFormat::Custom,
            database: names.first().cloned().unwrap_or_default(),
            target: "localhost:5432/app".to_owned(),
            server_version: "15.18".to_owned(),
            server_major: 15,
            pg_dump_version: "pg_dump (PostgreSQL) 15.18".to_owned(),
            started_at: at,
            finished_at: at,
            digests: Digests {
                bytes: 42,
                md5: "0".repeat(32),
                sha256: "0".repeat(64),
            },
            snapshot: "00000003-0000001B-1".to_owned(),
            ledger: names
                .iter()
                .map(|n| LedgerEntry {
                    migration_name: n.clone(),
                    checksum: "c".repeat(64),
                    finished_at: Some(at),
                })
                .collect(),
            ledger_present: true,
            state: DatabaseState {
                tables: names
                    .iter()
                    .map(|n| TableCount {
                        schema: "public".to_owned(),
                        table: n.clone(),
                        rows: 7,
                        writes: None,
                    })
                    .collect(),
                schema_fingerprint: SchemaFingerprint {
                    sha256: "f".repeat(64),
                    objects: names.len(),
                },
            },
            provider: None,
            scope: None,
        }
    }

    fn reparse(json: &serde_json::Value) -> Result<Manifest, BackupError> {
        Manifest::parse(&json.to_string(), Path::new("m.json"))
    }

    #[test]
    fn files_and_ids_outside_the_directory_are_refused() {
        let good = serde_json::to_value(sample("backup_20261125_100000", &[])).unwrap();
        assert!(reparse(&good).is_ok());
        for (field, value) in [
            ("file", "/etc/passwd"),
            ("file", "../backup_20261125_100000.dump"),
            ("file", "sub/backup_20261125_100000.dump"),
            ("file", "backup_20261125_100000.sql.gz"),
            ("id", "../backup_x"),
            ("id", "backup_"),
            ("id", "backup_a/b"),
            ("id", "other"),
        ] {
            let mut json = good.clone();
            json[field] = serde_json::json!(value);
            let err = reparse(&json).expect_err(value).to_string();
            assert!(err.contains(field) && err.contains("m.json"), "{err}");
        }
    }

    #[test]
    fn a_newer_manifest_version_is_refused_by_name() {
        let mut json = serde_json::to_value(sample("backup_1", &[])).unwrap();
        json["manifest_version"] = serde_json::json!(MANIFEST_VERSION + 1);
        let err = reparse(&json).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }

    #[test]
    fn a_pg_dump_manifest_has_no_provider_key_and_older_ones_load_byte_identically() {
        let manifest = sample("backup_20261125_100000", &["a".to_owned()]);
        let json = serde_json::to_value(&manifest).unwrap();
        assert!(json.get("provider").is_none(), "{json}");
        assert_eq!(manifest.provider_name(), PG_DUMP_PROVIDER);
        // What an earlier version wrote (no `provider` key) loads, and writes back the same.
        let text = serde_json::to_string_pretty(&manifest).unwrap();
        let loaded = Manifest::parse(&text, Path::new("m.json")).unwrap();
        assert_eq!(loaded.provider, None);
        assert_eq!(serde_json::to_string_pretty(&loaded).unwrap(), text);
        let mut explicit_null = json.clone();
        explicit_null["provider"] = serde_json::Value::Null;
        assert_eq!(reparse(&explicit_null).unwrap(), manifest);
    }

    #[test]
    fn a_provider_part_is_written_and_read_back() {
        let mut manifest = sample("backup_20261125_100000", &[]);
        manifest.provider = Some(ProviderPart::new(
            "cloud-snapshot",
            serde_json::json!({ "snapshot": "snap-123" }),
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = Manifest::path_in(dir.path(), &manifest.id);
        manifest.write(&path).unwrap();
        let written: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            written["provider"],
            serde_json::json!({ "name": "cloud-snapshot", "data": { "snapshot": "snap-123" } })
        );
        let read = Manifest::read(&path).unwrap();
        assert_eq!(read, manifest);
        assert_eq!(read.provider_name(), "cloud-snapshot");
        // A part without data: `data` is left out, and reads back as null.
        let mut bare = serde_json::to_value(sample("backup_1", &[])).unwrap();
        bare["provider"] = serde_json::json!({ "name": "x" });
        let parsed = reparse(&bare).unwrap();
        assert_eq!(
            parsed.provider,
            Some(ProviderPart::new("x", serde_json::Value::Null))
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), bare);
        // A part must name its provider.
        bare["provider"] = serde_json::json!({ "data": 1 });
        assert!(reparse(&bare).is_err());
    }

    /// Any JSON value, a few levels deep, for a provider's data.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(any::<String>(), inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// What this crate writes, it reads back identically, whatever the names and the
        /// provider's data hold.
        #[test]
        fn written_manifests_read_back_identically(
            id in "backup_[A-Za-z0-9_]{1,24}",
            names in proptest::collection::vec(any::<String>(), 0..4),
            part in proptest::option::of((any::<String>(), any_json())),
        ) {
            let mut manifest = sample(&id, &names);
            manifest.provider = part.map(|(name, data)| ProviderPart::new(name, data));
            let text = serde_json::to_string_pretty(&manifest).unwrap();
            prop_assert_eq!(Manifest::parse(&text, Path::new("m.json")).unwrap(), manifest);
        }

        /// Any text: an error or a manifest whose file is one plain name in the directory.
        #[test]
        fn any_text_parses_to_an_error_or_a_file_inside_the_directory(
            text in any::<String>(),
            file in any::<String>(),
            id in any::<String>(),
        ) {
            let _ = Manifest::parse(&text, Path::new("m.json"));
            let mut json = serde_json::to_value(sample("backup_1", &[])).unwrap();
            json["file"] = serde_json::json!(file);
            json["id"] = serde_json::json!(id);
            if let Ok(m) = reparse(&json) {
                let parts: Vec<_> = Path::new(&m.file).components().collect();
                prop_assert!(matches!(parts.as_slice(), [Component::Normal(_)]), "{:?}", m.file);
                prop_assert!(is_backup_id(&m.id));
            }
        }
    }
}
