//! The backup, taken through the provider and verified before anything changes.

use std::time::Instant;

use super::super::run::Run;
use super::super::{PipelineError, Step, StepStatus};
use crate::backup::{backup_verified_observed, progress_events};
use crate::event::Event;

pub(crate) fn take(run: &mut Run<'_>) -> Result<(), PipelineError> {
    let pipeline = run.pipeline;
    if !pipeline.options.runs(Step::Backup) {
        run.switched_off(
            Step::Backup,
            "a failure can only be undone by down.sql or a transaction",
        );
        return Ok(());
    }
    let t = Instant::now();
    let options = &pipeline.options;
    let store = run.store.clone();
    // Another deployment applying migrations meanwhile changes tables under the dump (pg_dump
    // fails on a column dropped after its snapshot): let it finish first, and take the dump
    // again when the ledger moved during it anyway.
    let mut tries = 0;
    let taken = loop {
        if let Ok(db) = run.recorder.db() {
            // A stuck holder is the apply step's business (it names it); not waiting is safe.
            let _ = crate::ledger::wait_until_free(db, options.deploy.lock_wait);
        }
        let before = ledger_mark(run);
        let taken = backup_verified_observed(
            pipeline.backup.as_ref(),
            &pipeline.url,
            &store,
            options.backup_verify,
            &mut progress_events(options.progress_interval, &mut *run.events),
        );
        match taken {
            Err(e) if tries < 3 && ledger_mark(run) != before => {
                tries += 1;
                run.warn(format!(
                    "another deployment applied migrations during the backup, which failed \
                     ({}): taking it again",
                    super::super::run::first_line(&e.to_string())
                ));
            }
            other => break other,
        }
    };
    match taken {
        Ok((backup, verify)) => {
            run.event(&Event::BackupCreated {
                id: backup.id().to_owned(),
                bytes: backup.manifest.digests.bytes,
                level: verify.level,
            });
            run.report.backup_id = Some(backup.id().to_owned());
            run.report.step(
                Step::Backup,
                StepStatus::Passed,
                format!("{} verified at L{}", backup.id(), verify.level),
                t.elapsed(),
            );
            Ok(())
        }
        Err(e) => Err(run.refuse(Step::Backup, e.into(), t)),
    }
}

/// Where the ledger stands: rows, finished rows, the latest start (`None` without a ledger).
fn ledger_mark(run: &mut Run<'_>) -> Option<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)> {
    let db = run.recorder.db().ok()?;
    db.query_one(
        "SELECT count(*), count(finished_at), max(started_at) FROM _prisma_migrations",
        &[],
    )
    .ok()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
}
