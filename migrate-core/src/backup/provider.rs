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
    let backup = provider.backup(url, store)?;
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
