//! Options of the executor's operations.

use super::LockPolicy;
use crate::ledger::LockWait;

/// How [`deploy`](super::MigrationExecutor::deploy) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployOptions {
    /// How long to wait for the migration lock. By default, 10 s like Prisma.
    pub lock_wait: LockWait,
    /// Deploy even when an applied migration's `migration.sql` changed since it was applied.
    /// By default, such a deployment is refused (Prisma silently skips the edited file).
    ///
    /// ### Warning
    ///
    /// The database then does not match the files: the edit is never applied.
    pub accept_modified: bool,
    /// Deploy even when applied migrations have no directory here (a branch that is behind, or
    /// a deleted migration). By default, such a deployment is refused.
    pub accept_missing_locally: bool,
    /// Lock timeouts, retries and the watchdog. By default, Prisma's behaviour (none).
    pub locks: LockPolicy,
    /// The environment name recorded in the deployment journal.
    pub environment: Option<String>,
    /// Record the deployment in the journal (`_migrate.deployments`) and recover deployments
    /// whose process died. By default, on.
    pub journal: bool,
    /// The outcome recorded when every migration applied: `Succeeded`, or `Verifying` when a
    /// pipeline's checks follow.
    pub(crate) journal_outcome: crate::journal::Outcome,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            lock_wait: LockWait::default(),
            accept_modified: false,
            accept_missing_locally: false,
            locks: LockPolicy::default(),
            environment: None,
            journal: true,
            journal_outcome: crate::journal::Outcome::Succeeded,
        }
    }
}

impl DeployOptions {
    /// Sets the lock policy.
    #[must_use]
    pub fn locks(mut self, locks: LockPolicy) -> Self {
        self.locks = locks;
        self
    }

    /// Sets how long to wait for the lock.
    #[must_use]
    pub fn lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Accepts applied migrations whose file changed (see the field's warning).
    #[must_use]
    pub fn accept_modified(mut self, yes: bool) -> Self {
        self.accept_modified = yes;
        self
    }

    /// Accepts applied migrations missing from the directory.
    #[must_use]
    pub fn accept_missing_locally(mut self, yes: bool) -> Self {
        self.accept_missing_locally = yes;
        self
    }
}

/// What `resolve` records, like `prisma migrate resolve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveAction {
    /// `--applied NAME`: record the migration as applied without running it.
    Applied(String),
    /// `--rolled-back NAME`: mark its failed attempts rolled back, so deploy runs it again.
    RolledBack(String),
}

/// How `baseline` marks an existing database as up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaselineOptions {
    /// How long to wait for the migration lock.
    pub lock_wait: LockWait,
    /// Mark migrations up to and including this one; by default, all of them.
    pub up_to: Option<String>,
}
