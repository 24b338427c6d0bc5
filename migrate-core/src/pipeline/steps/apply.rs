//! The apply step: the executor runs the pending migrations; the journal entry it opens stays
//! `verifying` until the checks pass.

use std::collections::BTreeMap;
use std::time::Instant;

use super::super::run::Run;
use super::super::step::Failure;
use super::super::verify::{touched_tables, untouched_counts};
use super::super::{RollbackMode, Step, StepStatus};
use crate::executor::ExecuteError;
use crate::journal::Outcome;

/// Applies; `Ok` with the row counts of the tables the migrations do not touch, taken before,
/// for the verification.
pub(crate) fn apply(
    run: &mut Run<'_>,
    pending: &[String],
) -> Result<Option<BTreeMap<String, i64>>, Failure> {
    let t = Instant::now();
    let touched = touched_tables(&run.migrations, pending);
    let before = run
        .recorder
        .db()
        .ok()
        .and_then(|db| untouched_counts(db, &touched).ok());
    let mut options = run.pipeline.options.deploy.clone();
    options.journal_outcome = Outcome::Verifying;
    let applied = run
        .executor
        .deploy(&run.migrations, &options, &mut *run.events);
    let result = match applied {
        Ok(deploy) => {
            run.report.applied = deploy.applied.iter().map(|a| a.name.clone()).collect();
            run.recorder.adopt(deploy.deployment_id.clone());
            run.report.deployment_id.clone_from(&deploy.deployment_id);
            run.report.step(
                Step::Apply,
                StepStatus::Passed,
                format!("{} applied", run.report.applied.len()),
                t.elapsed(),
            );
            run.report.deploy = Some(deploy);
            Ok(before)
        }
        Err(e) => {
            run.report.applied = e.applied_before().to_vec();
            if let ExecuteError::MigrationFailed(f) = &e {
                run.recorder.adopt(f.deployment_id.clone());
                run.report.deployment_id.clone_from(&f.deployment_id);
            }
            // The automatic rollback decides what comes next and says so; Prisma's advice
            // (resolve, then deploy) is for a failure left in the ledger.
            let rolls_back = run.pipeline.options.runs(Step::Rollback)
                && run.pipeline.options.rollback == RollbackMode::Automatic;
            let message = match &e {
                ExecuteError::MigrationFailed(f) if rolls_back => f.without_advice(),
                other => other.to_string(),
            };
            run.report.step(
                Step::Apply,
                StepStatus::Failed,
                message.clone(),
                t.elapsed(),
            );
            Err(Failure {
                step: Step::Apply,
                message,
                migration: match &e {
                    ExecuteError::MigrationFailed(f) => Some(f.name.clone()),
                    _ => None,
                },
            })
        }
    };
    if let Some(backup) = run.report.backup_id.clone() {
        run.recorder.attach_backup(&backup, &mut *run.events);
    }
    result
}
