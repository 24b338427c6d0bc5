//! The extension point: how backups are taken, checked and restored.

use super::{
    Backup, BackupError, BackupStore, RestoreOptions, RestoreReport, VerifyLevel, VerifyOptions,
    VerifyReport,
};
use crate::connection::DatabaseUrl;

/// Takes restorable snapshots of a database before migrations run, finds them again, and gives
/// them back.
///
/// [`PgDumpBackup`](super::PgDumpBackup) is the default. Another provider (a cloud snapshot, say)
/// records what it needs in the manifest's [`ProviderPart`](super::ProviderPart), and, when its
/// backups do not live as manifests in the [`BackupStore`]'s directory, overrides
/// [`backups`](Self::backups) (and [`find`](Self::find) when it has a faster way than a search):
/// the rollback planner and `migrate restore` find backups only through these. Verification and
/// restore are optional capabilities: their defaults return [`BackupError::Unsupported`].
pub trait BackupProvider: Send + Sync + std::fmt::Debug {
    /// A short name for messages and for the manifest's [`ProviderPart`](super::ProviderPart),
    /// e.g. `pg_dump`.
    fn name(&self) -> &'static str;

    /// Every backup this provider can restore, oldest first (the order of
    /// [`BackupStore::list`]). By default, the manifests in `store`'s directory:
    /// `store.list()`.
    ///
    /// # Errors
    ///
    /// [`BackupError`] when the backups cannot be listed.
    fn backups(&self, store: &BackupStore) -> Result<Vec<Backup>, BackupError> {
        store.list()
    }

    /// The backup named `name` (an id, or whatever else the provider accepts). By default,
    /// [`BackupStore::get`] (an id in the directory, or a path to a manifest or dump file), and
    /// when that finds nothing, the newest of [`backups`](Self::backups) with that id.
    ///
    /// # Errors
    ///
    /// [`BackupError::NotFound`], or the errors of reading the backup.
    fn find(&self, store: &BackupStore, name: &str) -> Result<Backup, BackupError> {
        match store.get(name) {
            Err(BackupError::NotFound { .. }) => self
                .backups(store)?
                .into_iter()
                .rev()
                .find(|b| b.id() == name)
                .ok_or_else(|| BackupError::NotFound {
                    name: name.to_owned(),
                    dir: store.dir().to_owned(),
                }),
            found => found,
        }
    }

    /// Takes a backup of the database of `url` into `store` and writes its manifest.
    ///
    /// # Errors
    ///
    /// Any [`BackupError`]; a failed backup leaves no file behind.
    fn backup(&self, url: &DatabaseUrl, store: &BackupStore) -> Result<Backup, BackupError>;

    /// As [`backup`](Self::backup), telling `progress` how many bytes the dump has produced so
    /// far, as it streams (often: throttle in the callback). By default, reports nothing.
    ///
    /// # Errors
    ///
    /// As [`backup`](Self::backup).
    fn backup_observed(
        &self,
        url: &DatabaseUrl,
        store: &BackupStore,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Backup, BackupError> {
        let _ = progress;
        self.backup(url, store)
    }

    /// As [`backup_observed`](Self::backup_observed), holding the whole schema but the data of
    /// only the tables `request` puts at risk (those existing now), recorded in the manifest's
    /// [`Scope`](super::Scope) with counts and digests. By default,
    /// [`BackupError::Unsupported`]: the pipeline then takes a full backup and says why.
    ///
    /// # Errors
    ///
    /// As [`backup`](Self::backup).
    fn backup_scoped(
        &self,
        url: &DatabaseUrl,
        store: &BackupStore,
        request: &super::ScopeRequest,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Backup, BackupError> {
        let _ = (url, store, request, progress);
        Err(BackupError::Unsupported {
            provider: self.name(),
            operation: "scoped backup",
        })
    }

    /// The deployment that took `backup` no longer needs to roll back from it (it succeeded,
    /// or its rollback ran): frees what the backup holds on the server, such as the replication
    /// slot of a scoped backup that keeps later writes. By default, nothing.
    fn release(&self, backup: &Backup) {
        let _ = backup;
    }

    /// Checks `backup` at `level` (and every level below).
    ///
    /// # Errors
    ///
    /// [`BackupError`] when the checks cannot run; failed checks are in the report.
    fn verify(
        &self,
        backup: &Backup,
        level: VerifyLevel,
        options: &VerifyOptions,
    ) -> Result<VerifyReport, BackupError> {
        let _ = (backup, level, options);
        Err(BackupError::Unsupported {
            provider: self.name(),
            operation: "verification",
        })
    }

    /// The privileges that [`restore`](Self::restore) needs and the role of `privileges`
    /// lacks: empty when it can run. `covered` is `Some` (the covered tables, `schema.table`
    /// quoted as `quote_ident` does) for a scoped backup, `None` for a full one. Asked before a
    /// deployment changes anything, so that a rollback by restore is known to be executable.
    /// By default, nothing (a provider that restores by other means knows its own needs).
    fn restore_missing(
        &self,
        privileges: &super::RolePrivileges,
        covered: Option<&[String]>,
    ) -> Vec<super::Privilege> {
        let _ = (privileges, covered);
        Vec::new()
    }

    /// Brings the database of `url` back to exactly the state of `backup`.
    ///
    /// # Errors
    ///
    /// [`BackupError`]; the original database is left in place unless the restored copy
    /// matched the manifest.
    fn restore(
        &self,
        backup: &Backup,
        url: &DatabaseUrl,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let _ = (backup, url, options);
        Err(BackupError::Unsupported {
            provider: self.name(),
            operation: "restore",
        })
    }
}

/// A progress callback for [`BackupProvider::backup_observed`] that turns byte counts into
/// [`Event::BackupProgress`](crate::event::Event::BackupProgress) events, at most one per
/// `interval`.
pub fn progress_events<'a>(
    interval: std::time::Duration,
    events: &'a mut dyn FnMut(&crate::event::Event),
) -> impl FnMut(u64) + 'a {
    let started = std::time::Instant::now();
    let mut last = started;
    move |bytes| {
        if last.elapsed() >= interval {
            last = std::time::Instant::now();
            events(&crate::event::Event::BackupProgress {
                bytes,
                elapsed: started.elapsed(),
            });
        }
    }
}

/// Takes a backup and verifies it at `level` before anything else happens: what a deployment
/// runs first (level 2 by default).
///
/// # Errors
///
/// The backup's errors, or [`BackupError::VerificationFailed`] with the failed checks.
pub fn backup_verified(
    provider: &dyn BackupProvider,
    url: &DatabaseUrl,
    store: &BackupStore,
    level: VerifyLevel,
) -> Result<(Backup, VerifyReport), BackupError> {
    backup_verified_observed(provider, url, store, level, &mut |_| {})
}

/// [`backup_verified`], with the dump's progress in bytes (see
/// [`BackupProvider::backup_observed`]).
///
/// # Errors
///
/// As [`backup_verified`].
pub fn backup_verified_observed(
    provider: &dyn BackupProvider,
    url: &DatabaseUrl,
    store: &BackupStore,
    level: VerifyLevel,
    progress: &mut dyn FnMut(u64),
) -> Result<(Backup, VerifyReport), BackupError> {
    backup_verified_scoped(provider, url, store, level, None, progress)
}

/// As [`backup_verified_observed`], scoped to `scope` when given
/// ([`BackupProvider::backup_scoped`]).
///
/// # Errors
///
/// As [`backup_verified_observed`].
pub fn backup_verified_scoped(
    provider: &dyn BackupProvider,
    url: &DatabaseUrl,
    store: &BackupStore,
    level: VerifyLevel,
    scope: Option<&super::ScopeRequest>,
    progress: &mut dyn FnMut(u64),
) -> Result<(Backup, VerifyReport), BackupError> {
    let backup = match scope {
        Some(request) => provider.backup_scoped(url, store, request, progress)?,
        None => provider.backup_observed(url, store, progress)?,
    };
    let report = provider
        .verify(&backup, level, &VerifyOptions::default())?
        .required(backup.id(), level)?;
    Ok((backup, report))
}

/// What a deployment does before migrating: take a backup with the default provider and verify
/// it (level 2 by default), refusing to go on when either fails.
///
/// ```no_run
/// use migrate_core::backup::BackupPolicy;
///
/// let url = "postgresql://app:secret@db/app".parse()?;
/// let mut policy = BackupPolicy::new("backups");
/// if let Some((backup, _report)) = policy.before_deploy(&url)? {
///     log::info!("pre-deploy backup {}", backup.id());
/// }
/// # Ok::<(), migrate_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BackupPolicy {
    store: BackupStore,
    provider: super::PgDumpBackup,
    verify_level: VerifyLevel,
    skip: bool,
}

impl BackupPolicy {
    /// Backups into `dir` with [`PgDumpBackup`](super::PgDumpBackup)'s defaults.
    #[must_use]
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            store: BackupStore::new(dir),
            provider: super::PgDumpBackup::default(),
            verify_level: VerifyLevel::Contents,
            skip: false,
        }
    }

    /// Sets the provider's options (format, compression, tools). By default,
    /// `PgDumpOptions::default()`.
    pub fn options(&mut self, options: super::PgDumpOptions) -> &mut Self {
        self.provider = super::PgDumpBackup::new(options);
        self
    }

    /// Sets the verification a backup must pass before migrating. By default,
    /// [`VerifyLevel::Contents`] (L2).
    pub fn verify_level(&mut self, level: VerifyLevel) -> &mut Self {
        self.verify_level = level;
        self
    }

    /// Deploys without a backup.
    ///
    /// ### Warning
    ///
    /// Without a backup, a migration that loses data can only be undone by `down.sql`, if at
    /// all. By default, the backup is taken.
    pub fn dangerous_skip_backup(&mut self, skip: bool) -> &mut Self {
        self.skip = skip;
        self
    }

    /// The backup directory.
    #[must_use]
    pub fn store(&self) -> &BackupStore {
        &self.store
    }

    /// Takes and verifies the pre-deploy backup; `None` when skipped.
    ///
    /// # Errors
    ///
    /// As [`backup_verified`].
    pub fn before_deploy(
        &self,
        url: &DatabaseUrl,
    ) -> Result<Option<(Backup, VerifyReport)>, BackupError> {
        if self.skip {
            log::warn!(target: "migrate_core::backup", "deploying without a backup (dangerous_skip_backup)");
            return Ok(None);
        }
        backup_verified(&self.provider, url, &self.store, self.verify_level).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::backup::manifest::tests::sample;
    use crate::backup::{Manifest, ProviderPart};

    /// Keeps its backups in memory, not in the store's directory.
    #[derive(Debug, Default)]
    struct Remembering(Mutex<Vec<Backup>>);

    impl BackupProvider for Remembering {
        fn name(&self) -> &'static str {
            "remembering"
        }

        fn backup(&self, _: &DatabaseUrl, _: &BackupStore) -> Result<Backup, BackupError> {
            Err(BackupError::Unsupported {
                provider: self.name(),
                operation: "backup",
            })
        }

        fn backups(&self, _: &BackupStore) -> Result<Vec<Backup>, BackupError> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    /// The default provider's way: no override.
    #[derive(Debug)]
    struct Directory;

    impl BackupProvider for Directory {
        fn name(&self) -> &'static str {
            "directory"
        }

        fn backup(&self, _: &DatabaseUrl, _: &BackupStore) -> Result<Backup, BackupError> {
            Err(BackupError::Unsupported {
                provider: self.name(),
                operation: "backup",
            })
        }
    }

    fn backup_in(dir: &std::path::Path, id: &str) -> Backup {
        let mut manifest = sample(id, &[]);
        manifest.provider = Some(ProviderPart::new(
            "remembering",
            serde_json::json!({ "snapshot": "snap-1" }),
        ));
        Backup {
            manifest,
            dir: dir.to_owned(),
        }
    }

    #[test]
    fn by_default_backups_and_find_read_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BackupStore::new(tmp.path());
        let backup = backup_in(tmp.path(), "backup_20261125_100000");
        backup.manifest.write(&backup.manifest_path()).unwrap();
        assert_eq!(
            Directory.backups(&store).unwrap(),
            std::slice::from_ref(&backup)
        );
        assert_eq!(Directory.find(&store, backup.id()).unwrap(), backup);
        let err = Directory.find(&store, "backup_other").unwrap_err();
        assert!(matches!(err, BackupError::NotFound { .. }), "{err:?}");
    }

    #[test]
    fn a_provider_that_lists_its_own_backups_is_searched_by_find() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = BackupStore::new(tmp.path().join("none"));
        let provider = Remembering::default();
        let older = backup_in(tmp.path(), "backup_20261125_100000");
        let newer = backup_in(tmp.path(), "backup_20261125_100001");
        provider
            .0
            .lock()
            .unwrap()
            .extend([older.clone(), newer.clone()]);
        assert!(empty.list().unwrap().is_empty());
        assert_eq!(provider.backups(&empty).unwrap(), [older, newer.clone()]);
        assert_eq!(provider.find(&empty, newer.id()).unwrap(), newer);
        assert!(matches!(
            provider.find(&empty, "backup_other"),
            Err(BackupError::NotFound { .. })
        ));
        // A manifest in the directory is still found by id or path first.
        let on_disk = backup_in(tmp.path(), "backup_20261125_090000");
        on_disk.manifest.write(&on_disk.manifest_path()).unwrap();
        let store = BackupStore::new(tmp.path());
        assert_eq!(
            provider
                .find(&store, &on_disk.manifest_path().display().to_string())
                .unwrap(),
            on_disk
        );
        assert_eq!(
            Manifest::read(&on_disk.manifest_path())
                .unwrap()
                .provider_name(),
            "remembering"
        );
    }
}
