//! What a pipeline run did.

use std::time::Duration;

use crate::executor::DeployReport;
use crate::health::HealthReport;
use crate::rollback::RollbackOutcome;

use super::{Step, StepStatus, Verification};

/// One step of the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// What it found or did.
    pub detail: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// Everything a pipeline run did, step by step.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PipelineReport {
    /// The steps, in order.
    pub steps: Vec<StepReport>,
    /// The journal entry of the deployment.
    pub deployment_id: Option<String>,
    /// The backup taken before migrating.
    pub backup_id: Option<String>,
    /// Older backups removed by the retention after the deployment succeeded.
    pub pruned: Vec<String>,
    /// How the schema had changed since the last deployment, found in the preflight.
    pub drift: Option<super::Drift>,
    /// The apply step's report, when it succeeded.
    pub deploy: Option<DeployReport>,
    /// Migrations applied by this run (also when a later step failed).
    pub applied: Vec<String>,
    /// Post-migration verification.
    pub verification: Option<Verification>,
    /// Health probes after the deploy.
    pub health: Option<HealthReport>,
    /// The rollback, when one ran.
    pub rollback: Option<RollbackOutcome>,
    /// Health probes after the rollback.
    pub health_after_rollback: Option<HealthReport>,
    /// The release stage of the run (`all`, `expand`, `contract`).
    pub stage: crate::compat::ReleaseStage,
    /// The backward-compatibility check of the safety gate, when it was made.
    pub compat: Option<crate::compat::CompatReport>,
    /// Where the expand stage stopped: the first migration it did not apply, and why.
    pub expand_stopped_before: Option<(String, String)>,
    /// What the contract stage's drain check saw, when it looked.
    pub drain: Option<crate::compat::DrainEvidence>,
    /// Total time.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
}

impl PipelineReport {
    pub(crate) fn step(
        &mut self,
        step: Step,
        status: StepStatus,
        detail: impl Into<String>,
        took: Duration,
    ) {
        self.steps.push(StepReport {
            step,
            status,
            detail: detail.into(),
            duration_ms: took.as_millis() as u64,
        });
    }

    /// One sentence on the rollback, for error messages.
    #[must_use]
    pub fn rollback_summary(&self) -> String {
        match &self.rollback {
            Some(r) => {
                let kept = match r
                    .restore
                    .as_ref()
                    .and_then(|restore| restore.replay.as_ref())
                {
                    Some(replay) if replay.reconcile_entries() > 0 => format!(
                        ", keeping the {} change(s) written since the backup ({} to reconcile: \
                         see the rollback's reconciliation files)",
                        replay.changes,
                        replay.reconcile_entries()
                    ),
                    Some(replay) => format!(
                        ", keeping the {} change(s) written since the backup",
                        replay.changes
                    ),
                    None => String::new(),
                };
                format!(
                    "rolled back {} migration(s) by {} in {:.1}s{kept}; fix the cause and deploy again",
                    r.rolled_back.len(),
                    r.strategy,
                    r.duration.as_secs_f64()
                )
            }
            None if self.applied.is_empty() => "nothing had been applied".to_owned(),
            None => format!(
                "NOT rolled back: {} migration(s) remain applied ({})",
                self.applied.len(),
                self.applied.join(", ")
            ),
        }
    }
}
