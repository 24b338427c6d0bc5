//! The backup directory: naming, permissions, listing and retention.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{BackupError, Manifest};

/// A finished backup: its manifest and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The manifest.
    pub manifest: Manifest,
    /// The directory holding the file and the manifest.
    pub dir: PathBuf,
}

impl Backup {
    /// The backup id, `backup_YYYYmmdd_HHMMSS`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The dump file.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.manifest.file)
    }

    /// The manifest file.
    #[must_use]
    pub fn manifest_path(&self) -> PathBuf {
        Manifest::path_in(&self.dir, &self.manifest.id)
    }

    /// Reads the backup whose manifest is at `path`.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`] or [`BackupError::Manifest`].
    pub fn open(manifest_path: &Path) -> Result<Self, BackupError> {
        let manifest = Manifest::read(manifest_path)?;
        // Pruning removes `<id>.json`: a copied manifest must not name another backup.
        if manifest_path.file_stem().and_then(|s| s.to_str()) != Some(manifest.id.as_str()) {
            return Err(BackupError::Manifest {
                path: manifest_path.to_owned(),
                reason: format!(
                    "id {:?} does not match the manifest's file name",
                    manifest.id
                ),
            });
        }
        let dir = manifest_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        Ok(Self { manifest, dir })
    }
}

/// How many backups to keep when pruning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many of the newest backups. `None`: no limit by count.
    pub keep_last: Option<usize>,
    /// Remove backups older than this. `None`: no limit by age.
    pub max_age: Option<Duration>,
}

/// A directory of backups (mode 0700; files 0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStore {
    dir: PathBuf,
}

impl BackupStore {
    /// The default directory, `./backups`.
    pub const DEFAULT_DIR: &'static str = "backups";

    /// A store in `dir` (created on first backup).
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory with mode 0700 if needed, and tightens an existing one to 0700,
    /// since dumps hold every row of the database. A directory it creates gets a `.gitignore`
    /// ignoring everything, so that `git add .` in a project never picks up a dump of
    /// production data.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`].
    pub fn ensure_dir(&self) -> Result<(), BackupError> {
        let created = !self.dir.exists();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(BackupError::io("create the backup directory", &self.dir))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(BackupError::io("restrict the permissions of", &self.dir))?;
        if !created {
            // A directory of the user's (`--backup-dir prisma`): ignoring everything in it
            // could hide their own files from git.
            return Ok(());
        }
        let ignore = self.dir.join(".gitignore");
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&ignore)
        {
            Ok(mut file) => std::io::Write::write_all(
                &mut file,
                b"# Database dumps made by migrate: never commit them.\n*\n",
            )
            .map_err(BackupError::io("write", &ignore)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(BackupError::io("create", &ignore)(e)),
        }
    }

    /// A fresh id for a backup started at `at`: `backup_YYYYmmdd_HHMMSS`, or with `_2`, `_3`…
    /// appended when a backup of that second exists.
    #[must_use]
    pub fn new_id(&self, at: DateTime<Utc>) -> String {
        let base = at.format("backup_%Y%m%d_%H%M%S").to_string();
        let taken = |id: &str| {
            fs::read_dir(&self.dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.split('.').next() == Some(id))
                })
        };
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}_{n}"))
            .find(|id| !taken(id))
            .unwrap_or(base)
    }

    /// Every backup with a readable manifest, oldest first. Unreadable manifests are logged and
    /// skipped, so one damaged file does not hide the others.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`] when the directory cannot be read (a missing one is empty).
    pub fn list(&self) -> Result<Vec<Backup>, BackupError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BackupError::io("read", &self.dir)(e)),
        };
        let mut backups = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let is_manifest = path.extension().is_some_and(|e| e == "json")
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("backup_"));
            if !is_manifest {
                continue;
            }
            match Backup::open(&path) {
                Ok(backup) => backups.push(backup),
                Err(e) => {
                    log::warn!(target: "migrate_core::backup", "skipping {}: {e}", path.display())
                }
            }
        }
        backups.sort_by(|a, b| {
            (a.manifest.started_at, &a.manifest.id).cmp(&(b.manifest.started_at, &b.manifest.id))
        });
        Ok(backups)
    }

    /// The backup named `name`: an id in this directory, or a path to a manifest or dump file.
    ///
    /// # Errors
    ///
    /// [`BackupError::NotFound`], or the manifest's errors.
    pub fn get(&self, name: &str) -> Result<Backup, BackupError> {
        let as_path = Path::new(name);
        let candidates = [
            Manifest::path_in(&self.dir, name),
            as_path.with_extension("json"),
            // `X.sql.gz` → `X.json`.
            as_path.with_extension("").with_extension("json"),
        ];
        for candidate in candidates {
            if candidate.is_file() {
                return Backup::open(&candidate);
            }
        }
        Err(BackupError::NotFound {
            name: name.to_owned(),
            dir: self.dir.clone(),
        })
    }

    /// The newest backup, if any.
    ///
    /// # Errors
    ///
    /// As [`BackupStore::list`].
    pub fn latest(&self) -> Result<Option<Backup>, BackupError> {
        Ok(self.list()?.pop())
    }

    /// [`BackupStore::prune`] as of now.
    ///
    /// # Errors
    ///
    /// As [`BackupStore::prune`].
    pub fn prune_now(&self, retention: &Retention) -> Result<Vec<String>, BackupError> {
        self.prune(retention, Utc::now())
    }

    /// Removes the backups (file and manifest) that `retention` does not keep; returns the
    /// removed ids. The newest backup is always kept.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`] when a file cannot be removed.
    pub fn prune(
        &self,
        retention: &Retention,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, BackupError> {
        let mut removed = Vec::new();
        for backup in self.prunable(retention, now)? {
            for path in [backup.path(), backup.manifest_path()] {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(BackupError::io("remove", &path)(e)),
                }
            }
            log::info!(target: "migrate_core::backup", "pruned backup {}", backup.id());
            removed.push(backup.id().to_owned());
        }
        Ok(removed)
    }

    /// [`BackupStore::prunable`] as of now.
    ///
    /// # Errors
    ///
    /// As [`BackupStore::list`].
    pub fn prunable_now(&self, retention: &Retention) -> Result<Vec<Backup>, BackupError> {
        self.prunable(retention, Utc::now())
    }

    /// The backups that [`prune`](Self::prune) would remove at `now`, oldest first, without
    /// removing anything (a dry run). The newest backup is never among them.
    ///
    /// # Errors
    ///
    /// As [`BackupStore::list`].
    pub fn prunable(
        &self,
        retention: &Retention,
        now: DateTime<Utc>,
    ) -> Result<Vec<Backup>, BackupError> {
        let backups = self.list()?;
        let total = backups.len();
        let mut prunable = Vec::new();
        for (index, backup) in backups.into_iter().enumerate() {
            let newer = total - index - 1;
            if newer == 0 {
                break;
            }
            let over_count = retention.keep_last.is_some_and(|keep| newer >= keep);
            let age = now
                .signed_duration_since(backup.manifest.started_at)
                .to_std()
                .unwrap_or_default();
            let too_old = retention.max_age.is_some_and(|max| age > max);
            if over_count || too_old {
                prunable.push(backup);
            }
        }
        Ok(prunable)
    }
}
