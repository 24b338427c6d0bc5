//! What the pipeline does at each step.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::backup::VerifyLevel;
use crate::executor::DeployOptions;
use crate::health::RetryWindow;
use crate::ledger::LockWait;
use crate::rollback::Preference;
use crate::safety::SafetyGate;

use super::Step;

/// What happens when a step fails after the database was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RollbackMode {
    /// Roll back with the planner's choice (transaction, `down.sql`, restore), then probe again.
    #[default]
    Automatic,
    /// Only report what a rollback would do.
    ReportOnly,
}

/// How row counts of tables the migrations did not touch are checked after applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowCountCheck {
    /// Not checked.
    Off,
    /// A table that lost rows is a warning (the application may delete rows meanwhile).
    #[default]
    Warn,
    /// Any change fails the verification (maintenance windows, rehearsals).
    Strict,
}

/// Settings of a pipeline run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// Executor options (lock wait, lock policy, history overrides, environment).
    pub deploy: DeployOptions,
    /// The safety gate.
    pub safety: SafetyGate,
    /// Where backups go (for the default provider, and where the rollback planner looks).
    /// By default, `backups`.
    pub backup_dir: PathBuf,
    /// Steps switched off ([`Step::OPTIONAL`]); each is reported as off in the events, the
    /// report and the journal. By default, none.
    ///
    /// ### Warning
    ///
    /// Without the backup, a failure can only be undone by `down.sql` or a transaction; without
    /// the safety gate, destructive migrations run unreviewed.
    pub off: BTreeSet<Step>,
    /// Which backups to keep: after a successful deployment that took a backup, the others of
    /// the backup directory are pruned ([`BackupStore::prune`](crate::backup::BackupStore::prune)).
    /// By default, `None`: every backup is kept.
    pub retention: Option<crate::backup::Retention>,
    /// Which backup: scoped to the tables at risk, full, or scoped when the analyzer can bound
    /// the migrations. By default, [`BackupMode::Auto`](crate::backup::BackupMode::Auto).
    pub backup_mode: crate::backup::BackupMode,
    /// Verification the backup must pass before migrating. By default, L2.
    pub backup_verify: VerifyLevel,
    /// What to do on failure after the backup. By default, automatic rollback.
    pub rollback: RollbackMode,
    /// Strategy preference of the rollback planner. By default, the fastest that loses no data.
    pub rollback_preference: Preference,
    /// Row counts of untouched tables. By default, a warning when a table lost rows.
    pub row_counts: RowCountCheck,
    /// SQL assertions to run after applying (each must return one row whose first column is
    /// true); `verify.sql` files beside migrations are added.
    pub assertions: Vec<String>,
    /// How long failing health probes are retried.
    pub health_window: RetryWindow,
    /// How long to wait between the deploy and the first probe (e.g. the application's restart).
    pub health_delay: Duration,
    /// At most one [`Event::BackupProgress`](crate::event::Event::BackupProgress) per this
    /// interval while the backup is written. By default, 5 s.
    pub progress_interval: Duration,
    /// What to do when the schema changed since the last deployment recorded it. By default,
    /// warn.
    pub drift: super::DriftPolicy,
    /// The promotion gate: the predecessor environment's name and URL. Every pending migration
    /// must be deployed there with the same checksum, and at the same ledger point both schemas
    /// must match.
    pub promote_from: Option<(String, crate::DatabaseUrl)>,
    /// The backward-compatibility check of the safety gate (statements of the running
    /// application re-checked against the migrated schema). By default, on whenever statements
    /// are collected (`pg_stat_statements` on the target, or a queries file).
    pub compat: crate::compat::CompatOptions,
    /// Which pending migrations to apply: all (by default), the expand stage or the contract
    /// stage.
    pub stage: crate::compat::ReleaseStage,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            deploy: DeployOptions::default()
                .lock_wait(LockWait::for_deployments())
                .locks(crate::executor::LockPolicy::recommended()),
            safety: SafetyGate::default(),
            backup_dir: PathBuf::from("backups"),
            off: BTreeSet::new(),
            retention: None,
            backup_mode: crate::backup::BackupMode::Auto,
            backup_verify: VerifyLevel::Contents,
            rollback: RollbackMode::Automatic,
            rollback_preference: Preference::Auto,
            row_counts: RowCountCheck::Warn,
            assertions: Vec::new(),
            health_window: RetryWindow::default(),
            health_delay: Duration::ZERO,
            progress_interval: Duration::from_secs(5),
            drift: super::DriftPolicy::Warn,
            promote_from: None,
            compat: crate::compat::CompatOptions::default(),
            stage: crate::compat::ReleaseStage::All,
        }
    }
}

impl PipelineOptions {
    /// Whether `step` runs.
    #[must_use]
    pub fn runs(&self, step: Step) -> bool {
        !self.off.contains(&step)
    }
}
