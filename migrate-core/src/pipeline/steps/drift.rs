//! The drift check of the preflight: has the schema changed since the last deployment
//! recorded it? Warned, refused or accepted as the policy says.

use std::time::Instant;

use super::super::run::Run;
use super::super::{DriftPolicy, PipelineError, Step, StepStatus};

/// `Err` with the drift when the policy refuses it.
pub(crate) fn check(run: &mut Run<'_>, t: Instant) -> Result<(), PipelineError> {
    let policy = run.pipeline.options.drift;
    if policy == DriftPolicy::Ignore {
        return Ok(());
    }
    let target = run.pipeline.url.target();
    let found = match run
        .recorder
        .db()
        .and_then(|db| Ok(crate::journal::detect_drift(db, &target)?))
    {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(()),
        // Drift is advice: not being able to look does not stop a deployment.
        Err(e) => {
            log::warn!(target: "migrate_core::pipeline", "drift check: {e}");
            return Ok(());
        }
    };
    run.report.drift = Some(found.clone());
    if policy == DriftPolicy::Refuse {
        run.report.step(
            Step::Preflight,
            StepStatus::Failed,
            found.to_string(),
            t.elapsed(),
        );
        run.event(&crate::event::Event::Failed {
            step: Step::Preflight.as_str().to_owned(),
            error: found.to_string(),
        });
        let mut report = std::mem::take(&mut run.report);
        report.duration = run.elapsed();
        return Err(PipelineError::Drift {
            drift: Box::new(found),
            report: Box::new(report),
        });
    }
    run.warn(found.to_string());
    if policy == DriftPolicy::Accept {
        if let Ok(db) = run.recorder.db() {
            crate::journal::record_schema_latest(db, &target);
        }
        run.warn("drift accepted: this schema is the expected one from now on");
    }
    Ok(())
}
