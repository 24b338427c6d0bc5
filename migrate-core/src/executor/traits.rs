//! The executor trait.

use super::{DeployOptions, DeployPlan, DeployReport, Event, ExecuteError};
use crate::ledger::HistoryStatus;
use crate::source::Migrations;

/// Applies a migrations directory to a database and reports where its history stands.
///
/// The default implementation is [`PgExecutor`](super::PgExecutor), which behaves exactly like
/// `prisma migrate deploy`. Implement it to deploy elsewhere or differently (a dry-run executor,
/// a recorder in tests, a proxy that audits every script); the pipeline and the CLI only use
/// this trait.
pub trait MigrationExecutor: Send {
    /// Where each migration stands. Reads only; takes no lock (like `prisma migrate status`).
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] when the database cannot be read.
    fn status(&mut self, migrations: &Migrations) -> Result<HistoryStatus, ExecuteError>;

    /// What [`deploy`](Self::deploy) would do now, and what it would refuse, without writing.
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] when the database cannot be read.
    fn plan(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
    ) -> Result<DeployPlan, ExecuteError>;

    /// Applies the pending migrations in order, reporting progress through `events`.
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] when the history forbids deploying (failed, modified or missing
    /// migrations), a script is certain to fail, or a migration fails; the error tells which
    /// migrations were applied before the failure.
    fn deploy(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<DeployReport, ExecuteError>;

    /// Finishes or undoes what a deployment whose process died left behind, before anything
    /// is planned (under the migration lock). By default, there is nothing to recover.
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] when the recovery cannot run or refuses.
    fn recover(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), ExecuteError> {
        let _ = (migrations, options, events);
        Ok(())
    }
}
