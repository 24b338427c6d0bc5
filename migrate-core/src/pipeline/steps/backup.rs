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
    let taken = backup_verified_observed(
        pipeline.backup.as_ref(),
        &pipeline.url,
        &store,
        options.backup_verify,
        &mut progress_events(options.progress_interval, &mut *run.events),
    );
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
