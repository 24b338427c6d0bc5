//! A failure after the database changed: recorded as rolling back, then undone as the
//! planner decides (or only reported), then the probes run again.

use std::time::Instant;

use super::super::run::{first_line, Run};
use super::super::step::Failure;
use super::super::{PipelineError, RollbackMode, Step, StepStatus};
use crate::event::Event;
use crate::journal::Outcome;
use crate::rollback::{RollbackPlan, Selection};

/// The run ends with `failure`: rolled back, and the error to give.
pub(crate) fn fail(mut run: Run<'_>, failure: Failure) -> PipelineError {
    fail_here(&mut run, failure)
}

/// As [`fail`], for a run that cannot be given up (a dead run's job being finished).
pub(crate) fn fail_here(run: &mut Run<'_>, failure: Failure) -> PipelineError {
    run.event(&Event::Failed {
        step: failure.step.as_str().to_owned(),
        error: first_line(&failure.message),
    });
    let note = format!("{} failed: {}", failure.step, first_line(&failure.message));
    run.recorder
        .outcome(Outcome::RollingBack, &note, &mut *run.events);
    roll_back(run, failure.migration);
    let mut report = std::mem::take(&mut run.report);
    report.duration = run.elapsed();
    PipelineError::Failed {
        step: failure.step,
        message: failure.message,
        report: Box::new(report),
    }
}

/// Undoes what this run applied, and the failed migration's attempt.
fn roll_back(run: &mut Run<'_>, failed: Option<String>) {
    let t = Instant::now();
    let mut names = run.report.applied.clone();
    names.extend(failed);
    if !run.pipeline.options.runs(Step::Rollback) {
        run.switched_off(Step::Rollback, "what was applied stays applied");
        return not_rolled_back(run, "failed; rollback off");
    }
    if names.is_empty() {
        run.report.step(
            Step::Rollback,
            StepStatus::Skipped,
            "nothing to undo",
            t.elapsed(),
        );
        return not_rolled_back(run, "failed; nothing to undo");
    }
    let Some(plan) = plan(run, names, t) else {
        return;
    };
    if run.pipeline.options.rollback == RollbackMode::ReportOnly {
        let note = format!("would roll back by {}: {}", plan.strategy, plan.reason);
        run.report
            .step(Step::Rollback, StepStatus::Skipped, &note, t.elapsed());
        return not_rolled_back(run, &format!("not rolled back (report only); {note}"));
    }
    execute(run, &plan, t);
}

/// The planner's choice, announced; `None` (recorded) when nothing can undo it.
fn plan(run: &mut Run<'_>, names: Vec<String>, t: Instant) -> Option<RollbackPlan> {
    let pipeline = run.pipeline;
    let planned = pipeline.planner.plan(
        &pipeline.url,
        &run.migrations,
        &Selection::Migrations(names.clone()),
        &run.store,
        pipeline.backup.as_ref(),
        pipeline.options.rollback_preference,
    );
    match planned {
        Ok(plan) => {
            run.event(&Event::RollbackStarted {
                strategy: plan.strategy.to_string(),
                migrations: names,
                data_loss: plan.data_loss.to_string(),
                automatic: pipeline.options.rollback == RollbackMode::Automatic,
            });
            Some(plan)
        }
        Err(e) => {
            let message = format!("no rollback possible: {e}");
            run.failed(&Failure::new(Step::Rollback, message.clone()), t);
            not_rolled_back(run, &message);
            None
        }
    }
}

fn execute(run: &mut Run<'_>, plan: &RollbackPlan, t: Instant) {
    let pipeline = run.pipeline;
    // A restore rewinds the journal too: keep this deployment's entry to put it back.
    let entry = run.recorder.entry();
    let executed = pipeline.planner.execute(
        plan,
        &pipeline.url,
        pipeline.backup.as_ref(),
        pipeline.options.deploy.lock_wait,
    );
    // A restore ended every session of the database, the bookkeeping one too.
    run.recorder.reopen();
    let outcome = match executed {
        Ok(outcome) => outcome,
        Err(e) => {
            run.failed(&Failure::new(Step::Rollback, e.to_string()), t);
            return not_rolled_back(run, &format!("rollback failed: {e}"));
        }
    };
    let note = format!(
        "rolled back by {} in {:.1}s",
        outcome.strategy,
        outcome.duration.as_secs_f64()
    );
    match entry {
        Some(entry) => run.recorder.put_back(entry, &note, &mut *run.events),
        None => run
            .recorder
            .outcome(Outcome::RolledBack, &note, &mut *run.events),
    }
    run.event(&Event::RollbackFinished {
        strategy: outcome.strategy.to_string(),
        migrations: outcome.rolled_back.clone(),
        duration: outcome.duration,
    });
    run.report.step(
        Step::Rollback,
        StepStatus::Passed,
        format!("{} by {}", outcome.rolled_back.join(", "), outcome.strategy),
        t.elapsed(),
    );
    run.report.rollback = Some(outcome);
    run.report.health_after_rollback = super::check::probe(run, Step::HealthAfterRollback);
}

/// The deployment failed and stays applied: `failed` in the journal, with why (and what it
/// applied stays expected: the next drift check must not take it for a hand edit).
fn not_rolled_back(run: &mut Run<'_>, note: &str) {
    run.recorder
        .outcome(Outcome::Failed, note, &mut *run.events);
}
