//! The checks after applying: verification of what was applied (ledger, schema, data,
//! assertions), then the health probes. Also what a successful run ends with.

use std::collections::BTreeMap;
use std::time::Instant;

use super::super::check_same_schema;
use super::super::run::Run;
use super::super::step::Failure;
use super::super::verify::{file_assertions, verify_deployment};
use super::super::{PipelineReport, Step, StepStatus, VerificationCheck};
use crate::event::Event;
use crate::health::{run_probes, HealthReport, ProbeContext};
use crate::journal::Outcome;

/// Verification, then health: the first failure.
pub(crate) fn check(
    run: &mut Run<'_>,
    before: Option<&BTreeMap<String, i64>>,
) -> Result<(), Failure> {
    verify(run, before)?;
    if !run.pipeline.options.runs(Step::Health) {
        run.switched_off(Step::Health, "the deployed system was not probed");
        return Ok(());
    }
    let Some(health) = probe(run, Step::Health) else {
        return Ok(());
    };
    let failed: Vec<String> = health
        .probes
        .iter()
        .filter(|p| !p.passed)
        .map(|p| format!("{}: {}", p.name, p.last_error.clone().unwrap_or_default()))
        .collect();
    let status = if failed.is_empty() {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    run.report
        .step(Step::Health, status, failed.join("; "), health.elapsed);
    run.report.health = Some(health);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(Step::Health, failed.join("; ")))
    }
}

fn verify(run: &mut Run<'_>, before: Option<&BTreeMap<String, i64>>) -> Result<(), Failure> {
    let options = &run.pipeline.options;
    if !options.runs(Step::Verify) {
        run.switched_off(Step::Verify, "what was applied was not checked");
        return Ok(());
    }
    let t = Instant::now();
    let mut assertions: Vec<(String, String)> = options
        .assertions
        .iter()
        .enumerate()
        .map(|(i, sql)| (format!("#{}", i + 1), sql.clone()))
        .collect();
    assertions.extend(file_assertions(&run.migrations, &run.report.applied));
    let verified = run.recorder.db().and_then(|db| {
        verify_deployment(
            db,
            &run.migrations,
            &run.report.applied,
            before,
            options.row_counts,
            &assertions,
        )
        .map_err(super::super::StepError::from)
    });
    let mut verification = verified.map_err(|e| Failure::new(Step::Verify, e.to_string()))?;
    if let Some((from, from_url)) = &options.promote_from {
        verification
            .checks
            .push(same_schema(from, from_url, &run.pipeline.url));
    }
    for c in &verification.checks {
        run.event(&Event::Check {
            step: Step::Verify.as_str().to_owned(),
            name: c.name.clone(),
            passed: c.passed || c.warning,
            detail: c.detail.clone(),
        });
    }
    let failures = verification.failures().join("; ");
    let passed = verification.passed();
    let status = if passed {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    run.report
        .step(Step::Verify, status, failures.clone(), t.elapsed());
    run.report.verification = Some(verification);
    if passed {
        Ok(())
    } else {
        Err(Failure::new(Step::Verify, failures))
    }
}

/// Runs the health probes (none: `None`), after the configured delay, as `step`.
pub(crate) fn probe(run: &mut Run<'_>, step: Step) -> Option<HealthReport> {
    let pipeline = run.pipeline;
    if pipeline.probes.is_empty() {
        return None;
    }
    std::thread::sleep(pipeline.options.health_delay);
    let health = run_probes(
        &pipeline.probes,
        &ProbeContext::new(pipeline.url.clone()),
        pipeline.options.health_window,
    );
    for p in &health.probes {
        run.event(&Event::Check {
            step: step.as_str().to_owned(),
            name: p.name.clone(),
            passed: p.passed,
            detail: p
                .last_error
                .clone()
                .unwrap_or_else(|| format!("passed after {} attempt(s)", p.attempts)),
        });
    }
    Some(health)
}

/// A run whose checks passed: the journal entry says so and expects this schema.
pub(crate) fn done(mut run: Run<'_>) -> PipelineReport {
    let note = "verification and health checks passed";
    run.recorder
        .outcome(Outcome::Succeeded, note, &mut *run.events);
    prune(&mut run);
    let detail = format!("{} migration(s) deployed", run.report.applied.len());
    run.announce(Step::Done, StepStatus::Passed, detail);
    run.finish()
}

/// Applies the retention once the deployment succeeded and its own backup is the newest: a
/// failure to prune is a warning, never a failed deployment.
fn prune(run: &mut Run<'_>) {
    let (Some(retention), Some(_)) = (run.pipeline.options.retention, &run.report.backup_id) else {
        return;
    };
    match run.store.prune_now(&retention) {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => {
            let detail = format!(
                "retention: removed {} older backup(s) from {}: {}",
                removed.len(),
                run.store.dir().display(),
                removed.join(", ")
            );
            run.announce(Step::Backup, StepStatus::Passed, detail);
            run.report.pruned = removed;
        }
        Err(e) => run.warn(format!("retention: could not prune old backups: {e}")),
    }
}

/// Drift detection against the predecessor environment, when both are at the same ledger
/// point.
fn same_schema(
    from: &str,
    from_url: &crate::DatabaseUrl,
    url: &crate::DatabaseUrl,
) -> VerificationCheck {
    let (passed, detail) = match check_same_schema(from_url, url) {
        Ok(Some((same, detail))) => (same, detail),
        Ok(None) => (
            true,
            format!("{from} is at another ledger point: not compared"),
        ),
        Err(e) => (false, format!("cannot compare with {from}: {e}")),
    };
    VerificationCheck {
        name: format!("same schema as {from}"),
        passed,
        warning: false,
        detail,
    }
}
