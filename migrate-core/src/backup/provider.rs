//! The extension point: how backups are taken, checked and restored.

use super::{
    Backup, BackupError, BackupStore, RestoreOptions, RestoreReport, VerifyLevel, VerifyOptions,
    VerifyReport,
};
use crate::connection::DatabaseUrl;

/// Takes restorable snapshots of a database before migrations run, and gives them back.
///
/// [`PgDumpBackup`](super::PgDumpBackup) is the default. Verification and restore are optional
/// capabilities: their defaults return [`BackupError::Unsupported`].
pub trait BackupProvider: Send + Sync + std::fmt::Debug {
    /// A short name for messages, e.g. `pg_dump`.
    fn name(&self) -> &'static str;

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
/// [`Event::BackupProgress`](crate::executor::Event::BackupProgress) events, at most one per
/// `interval`.
pub fn progress_events<'a>(
    interval: std::time::Duration,
    events: &'a mut dyn FnMut(&crate::executor::Event),
) -> impl FnMut(u64) + 'a {
    let started = std::time::Instant::now();
    let mut last = started;
    move |bytes| {
        if last.elapsed() >= interval {
            last = std::time::Instant::now();
            events(&crate::executor::Event::BackupProgress {
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
    let backup = provider.backup_observed(url, store, progress)?;
    let report = provider.verify(&backup, level, &VerifyOptions::default())?;
    if !report.passed() {
        return Err(BackupError::VerificationFailed {
            id: backup.id().to_owned(),
            level: level.number(),
            failures: report.failures().join("; "),
        });
    }
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
