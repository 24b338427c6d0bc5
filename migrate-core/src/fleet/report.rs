//! What a fleet deployment did, target by target.

use std::time::Duration;

/// How one target's deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Nothing was pending: skipped after the preflight.
    UpToDate,
    /// Its pending migrations were applied, verified and probed.
    Deployed,
    /// A step failed before anything changed (preflight, safety gate, backup, drift).
    Refused,
    /// A step failed after the database changed; see the report for the rollback.
    Failed,
    /// Not started: an earlier failure halted the fleet, or it was stopped.
    NotStarted,
}

impl TargetStatus {
    /// The JSON name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpToDate => "up_to_date",
            Self::Deployed => "deployed",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::NotStarted => "not_started",
        }
    }

    /// True for a refusal or a failure.
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Refused | Self::Failed)
    }
}

/// One target of a fleet deployment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetReport {
    /// The target's name.
    pub name: String,
    /// `host:port/database` (and `?schema=`), never the credentials.
    pub location: String,
    /// Its wave.
    pub wave: u32,
    /// How it ended.
    pub status: TargetStatus,
    /// Migrations applied by this run (rolled back again when the status is `failed` and the
    /// rollback ran).
    pub applied: Vec<String>,
    /// Migrations still pending after this run; `None` when the target was not reached.
    pub pending: Option<Vec<String>>,
    /// How long its pipeline ran.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The backup taken before migrating.
    pub backup: Option<String>,
    /// The error, for a refusal or a failure (redacted, one line).
    pub error: Option<String>,
    /// What the rollback did, for a failure.
    pub rollback: Option<String>,
}

/// What a fleet deployment did.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[must_use]
pub struct FleetReport {
    /// Every target, in wave order then file order.
    pub targets: Vec<TargetReport>,
    /// The wave in which a target failed: no later wave started.
    pub halted_at_wave: Option<u32>,
    /// True when a stop request (Ctrl-C) ended the fleet early.
    pub stopped: bool,
    /// Total time.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
}

impl FleetReport {
    /// True when every target is deployed or up to date.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.targets
            .iter()
            .all(|t| matches!(t.status, TargetStatus::Deployed | TargetStatus::UpToDate))
    }

    /// How many targets ended with `status`.
    #[must_use]
    pub fn count(&self, status: TargetStatus) -> usize {
        self.targets.iter().filter(|t| t.status == status).count()
    }
}
