//! Errors of the pipeline.

use super::PipelineReport;

/// Why a deployment did not complete. The report says what ran, what was rolled back, and the
/// state the database was left in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A step failed before anything was changed (preflight, safety gate, backup).
    #[error("{step} failed, nothing was changed: {source}")]
    Refused {
        /// The step.
        step: super::Step,
        /// The cause.
        #[source]
        source: Box<StepError>,
        /// What ran.
        report: Box<PipelineReport>,
    },
    /// The schema changed since the last deployment and the policy is to refuse; nothing was
    /// changed.
    #[error("preflight refused, nothing was changed: {drift}")]
    Drift {
        /// How it changed.
        drift: Box<super::Drift>,
        /// What ran.
        report: Box<PipelineReport>,
    },
    /// A step failed after the database was changed; the report says whether the rollback
    /// restored the previous state.
    #[error("{step} failed: {message}; {}", report.rollback_summary())]
    Failed {
        /// The step.
        step: super::Step,
        /// What went wrong.
        message: String,
        /// What ran, and what the rollback did.
        report: Box<PipelineReport>,
    },
}

impl PipelineError {
    /// The report of the run.
    pub fn report(&self) -> &PipelineReport {
        match self {
            Self::Refused { report, .. }
            | Self::Failed { report, .. }
            | Self::Drift { report, .. } => report,
        }
    }
}

/// What failed inside a step: the error of the part that failed, as that part reported it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The migrations directory.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// Connecting.
    #[error(transparent)]
    Connect(#[from] crate::connection::ConnectError),
    /// The ledger or its lock.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The deployment journal or the drift check.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The safety gate.
    #[error(transparent)]
    Safety(#[from] crate::safety::SafetyError),
    /// The executor.
    #[error(transparent)]
    Execute(#[from] crate::executor::ExecuteError),
    /// The backup provider.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// The rollback planner or a strategy.
    #[error(transparent)]
    Rollback(#[from] crate::rollback::RollbackError),
    /// The health probes.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
    /// Describing the schema.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// The backward-compatibility check or the drain check of a release stage.
    #[error(transparent)]
    Compat(#[from] crate::compat::CompatError),
    /// The promotion gate: the pending migrations are not yet deployed, with the same checksum,
    /// on the environment before this one.
    #[error("promotion gate: {0}")]
    Promotion(String),
}
