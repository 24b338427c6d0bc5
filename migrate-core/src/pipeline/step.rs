//! The names and outcomes of the pipeline's steps.

use std::fmt;

/// A step of the pipeline, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// The directory, the server, the history; a dead deployment's unfinished job.
    Preflight,
    /// A predecessor environment must have deployed the pending migrations first.
    PromotionGate,
    /// The safety analysis of the pending migrations, with approvals.
    Safety,
    /// The verified backup taken before anything changes.
    Backup,
    /// The migrations themselves.
    Apply,
    /// Checks of the applied migrations (ledger, schema, data, assertions).
    Verify,
    /// The health probes.
    Health,
    /// Undoing what was applied, after a failure.
    Rollback,
    /// The health probes again, after a rollback.
    HealthAfterRollback,
    /// A dead pipeline's rollback, finished by this run.
    PreviousDeployment,
    /// The end of a successful run.
    Done,
}

impl Step {
    /// The name in reports, events and the journal (`preflight`, `promotion gate`…).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::PromotionGate => "promotion gate",
            Self::Safety => "safety",
            Self::Backup => "backup",
            Self::Apply => "apply",
            Self::Verify => "verify",
            Self::Health => "health",
            Self::Rollback => "rollback",
            Self::HealthAfterRollback => "health after rollback",
            Self::PreviousDeployment => "previous deployment",
            Self::Done => "done",
        }
    }

    /// The steps a deployer may switch off ([`Pipeline::without`](super::Pipeline::without)).
    pub const OPTIONAL: &'static [Step] = &[
        Self::Safety,
        Self::Backup,
        Self::Verify,
        Self::Health,
        Self::Rollback,
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StepStatus {
    /// It ran and found nothing wrong.
    Passed,
    /// It ran and failed.
    Failed,
    /// It did not run (switched off, or nothing to do).
    Skipped,
}

impl StepStatus {
    /// `passed`, `failed` or `skipped`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step that failed: which, why, and the migration that failed, if one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub step: Step,
    pub message: String,
    pub migration: Option<String>,
}

impl Failure {
    pub fn new(step: Step, message: impl Into<String>) -> Self {
        Self {
            step,
            message: message.into(),
            migration: None,
        }
    }
}
