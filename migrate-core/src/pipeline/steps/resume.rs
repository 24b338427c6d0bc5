//! Finishing what a pipeline whose process died left: its checks (`verifying`), then the
//! rollback if they fail, or its rollback (`rolling_back`), before anything new runs.

use super::super::run::Run;
use super::super::step::Failure;
use super::super::{PipelineError, Step};
use crate::journal::{Deployment, Journal, Outcome};
use crate::ledger::RowState;

/// Resumes the dead pipeline's job, if there is one and no other pipeline is alive (it may be
/// that one's). `Err` when it was rolled back: this run stops there, as the dead one would
/// have.
pub(crate) fn orphan(run: &mut Run<'_>) -> Result<(), PipelineError> {
    let orphan = match run.presence.others_alive() {
        Ok(false) => run
            .recorder
            .db()
            .ok()
            .and_then(|db| Journal::unfinished(db).ok())
            .and_then(|d| d.into_iter().next()),
        _ => None,
    };
    // Exclusively: pipelines that start meanwhile wait in their preflight, so nothing is
    // applied while the dead one's checks or rollback run. Someone may have joined since the
    // check above: then it is left to a later run.
    let Some(orphan) = orphan.filter(|_| run.presence.claim().unwrap_or(false)) else {
        return Ok(());
    };
    resume(run, &orphan)?;
    run.presence.release();
    // What this run does next is its own: the dead deployment's ids, migrations and checks
    // stay in the journal, not in this report.
    run.recorder.adopt(None);
    let report = &mut run.report;
    report.deployment_id = None;
    report.backup_id = None;
    report.applied.clear();
    report.verification = None;
    report.health = None;
    Ok(())
}

fn resume(run: &mut Run<'_>, orphan: &Deployment) -> Result<(), PipelineError> {
    // Deployments followed the dead one (replicas that do not announce themselves): its
    // rollback would undo theirs too. It stays for a person.
    let latest = run
        .recorder
        .db()
        .ok()
        .and_then(|db| Journal::list(db, 1).ok())
        .and_then(|d| d.into_iter().next().map(|d| d.id));
    run.recorder.adopt(Some(orphan.id.clone()));
    if latest.as_deref() != Some(orphan.id.as_str()) {
        let note = "its process died during its checks or rollback; later deployments \
                    followed, so it was not resumed";
        run.recorder
            .outcome(Outcome::Interrupted, note, &mut *run.events);
        run.warn(format!("deployment {}: {note}", orphan.id));
        return Ok(());
    }
    // Only what is still applied: a down-script rollback may have undone part of it.
    let t = std::time::Instant::now();
    let rows = match run
        .recorder
        .db()
        .and_then(|db| Ok(crate::ledger::read_rows(db)?))
    {
        Ok(rows) => rows,
        Err(e) => return Err(run.refuse(Step::Preflight, e, t)),
    };
    run.report.deployment_id = Some(orphan.id.clone());
    run.report.backup_id.clone_from(&orphan.backup_id);
    run.report.applied = orphan
        .applied
        .iter()
        .filter(|n| {
            rows.iter()
                .any(|r| &r.migration_name == *n && r.state() == RowState::Applied)
        })
        .cloned()
        .collect();
    let failure = match orphan.outcome {
        Outcome::Verifying => {
            run.warn(format!(
                "deployment {} ({}) died during its checks after applying {}: checking now",
                orphan.id,
                orphan.actor,
                crate::event::names(&run.report.applied)
            ));
            super::check::check(run, None).err()
        }
        _ => {
            let why = orphan.note.as_deref().unwrap_or("no reason recorded");
            run.warn(format!(
                "deployment {} ({}) died while rolling back {:?} ({why}): finishing the \
                 rollback",
                orphan.id, orphan.actor, run.report.applied
            ));
            Some(Failure::new(
                Step::PreviousDeployment,
                format!("its process died while rolling back ({why})"),
            ))
        }
    };
    match failure {
        None => {
            let note = "checked by a later run (its process died during the checks)";
            run.recorder
                .outcome(Outcome::Succeeded, note, &mut *run.events);
            Ok(())
        }
        Some(failure) if run.report.applied.is_empty() => {
            // Nothing of it is left applied: the rollback had finished.
            let note = "rolled back (its process died before recording it)";
            run.recorder
                .outcome(Outcome::RolledBack, note, &mut *run.events);
            log::info!(target: "migrate_core::pipeline", "{}: {}", failure.step, failure.message);
            Ok(())
        }
        Some(failure) => Err(super::rollback::fail_here(run, failure)),
    }
}
