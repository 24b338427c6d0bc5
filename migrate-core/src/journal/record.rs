//! One journal entry.

use chrono::{DateTime, Utc};

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running (or its process died: see [`Outcome::Interrupted`]).
    Running,
    /// Every step passed.
    Succeeded,
    /// A step failed and nothing was rolled back.
    Failed,
    /// A step failed and the deployment was rolled back.
    RolledBack,
    /// Refused before changing anything (safety gate, history).
    Refused,
    /// Its process died; a later run found it.
    Interrupted,
    /// Applied; verification and health checks are running (a pipeline). Found with no live
    /// pipeline, a later run finishes the checks.
    Verifying,
    /// A step failed and the rollback is running (a pipeline). Found with no live pipeline, a
    /// later run finishes the rollback.
    RollingBack,
}

impl Outcome {
    /// The stored text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
            Self::Refused => "refused",
            Self::Interrupted => "interrupted",
            Self::Verifying => "verifying",
            Self::RollingBack => "rolling_back",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "rolled_back" => Self::RolledBack,
            "refused" => Self::Refused,
            "interrupted" => Self::Interrupted,
            "verifying" => Self::Verifying,
            "rolling_back" => Self::RollingBack,
            _ => Self::Running,
        }
    }
}

/// A deployment as the journal records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Deployment {
    /// UUID v4.
    pub id: String,
    /// The environment name, when deployed with `--env`.
    pub environment: Option<String>,
    /// `user@host` of the deploying process.
    pub actor: String,
    /// Its process id.
    pub pid: i32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Outcome,
    /// Migrations it was to apply.
    pub planned: Vec<String>,
    /// Migrations it applied.
    pub applied: Vec<String>,
    /// The backup taken before migrating.
    pub backup_id: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// What was done about a failure (rollback strategy and result) or an interruption.
    pub note: Option<String>,
    /// Step timings in milliseconds, by step name.
    pub timings: serde_json::Value,
}
