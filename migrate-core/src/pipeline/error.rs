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
        source: Box<crate::Error>,
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
