//! The backward-compatibility part of the safety gate, and the release stages: expand applies
//! the pending migrations up to the first that breaks a running statement; contract applies the
//! rest once the old version has drained.

use std::time::Instant;

use super::super::run::Run;
use super::super::{PipelineError, Step, StepError};
use crate::compat::{self, CompatError, ReleaseStage};
use crate::safety::{Finding, Rule, SafetyReview};
use crate::source::Migrations;

/// Runs the check on `pending`; returns the migrations this stage applies and the check's
/// findings for the gate. A plain deployment goes on without the check when it cannot run
/// (said in a warning); a stage refuses, since the check is what it stands on.
pub(crate) fn check(
    run: &mut Run<'_>,
    pending: Vec<String>,
    t: Instant,
) -> Result<(Vec<String>, Vec<Finding>), PipelineError> {
    let pipeline = run.pipeline;
    let stage = pipeline.options.stage;
    let result = match run.recorder.db() {
        Ok(db) => compat::check(
            &pipeline.url,
            db,
            &run.migrations,
            &pending,
            &pipeline.options.compat,
        )
        .map_err(StepError::from),
        Err(e) => Err(e),
    };
    let report = match result {
        Ok(report) => report,
        Err(e @ StepError::Compat(CompatError::QueriesFile { .. })) => {
            return Err(run.refuse(Step::Safety, e, t))
        }
        Err(e) if stage == ReleaseStage::All => {
            run.warn(format!("backward-compatibility check not run: {e}"));
            return Ok((pending, Vec::new()));
        }
        Err(e) => {
            let why = CompatError::NotChecked {
                stage: stage.as_str(),
                why: e.to_string(),
            };
            return Err(run.refuse(Step::Safety, why.into(), t));
        }
    };
    if let Some(why) = report.not_run_because.clone() {
        if stage != ReleaseStage::All && !pending.is_empty() {
            let e = CompatError::NoStatements {
                stage: stage.as_str(),
                why,
            };
            return Err(run.refuse(Step::Safety, e.into(), t));
        }
    }
    if report.ran {
        run.event(&crate::event::Event::CompatChecked {
            statements: report.capture.statements.len(),
            breaks: report.breaks.len(),
            unchecked: report.unchecked,
            summary: report.summary(),
        });
    }
    if report.ran && report.unchecked > 0 {
        run.warn(format!(
            "{} running statement(s) were NOT checked against every pending migration",
            report.unchecked
        ));
    }
    for warning in &report.copy_warnings {
        run.warn(format!("schema copy of the compatibility check: {warning}"));
    }
    let findings = compat::findings(&report, &run.migrations, &pipeline.options.safety.config);
    let (pending, findings) = if stage == ReleaseStage::Expand {
        expand(run, &report, &pending, findings)
    } else {
        (pending, findings)
    };
    run.report.compat = Some(report);
    Ok((pending, findings))
}

/// The expand stage's cut: the migrations before the first breaking (or unchecked) one; the run
/// then sees only those.
fn expand(
    run: &mut Run<'_>,
    report: &compat::CompatReport,
    pending: &[String],
    findings: Vec<Finding>,
) -> (Vec<String>, Vec<Finding>) {
    let (kept, stop) = compat::expand_cut(report, pending);
    if let Some((name, why)) = &stop {
        run.event(&crate::event::Event::Warning {
            migration: Some(name.clone()),
            message: format!(
                "expand stage: stopping before {name}, as {why}; it and the {} migration(s) after \
                 it wait for --stage contract, once the old version has drained",
                pending.len() - kept.len() - 1
            ),
        });
    }
    run.report.expand_stopped_before = stop;
    let held: Vec<&String> = pending.iter().filter(|p| !kept.contains(p)).collect();
    let visible: Vec<_> = run
        .migrations
        .iter()
        .filter(|m| !held.iter().any(|h| *h == m.name()))
        .cloned()
        .collect();
    run.migrations = Migrations::from_vec(run.migrations.dir().to_owned(), visible);
    let findings = findings
        .into_iter()
        .filter(|f| kept.contains(&f.migration))
        .collect();
    (kept, findings)
}

/// The contract stage's drain check, after the gate's review: with no session of the old
/// version and the breaking statements no longer called, the breaks are approved by that
/// evidence; otherwise contract refuses unless they are approved already.
pub(crate) fn drain(
    run: &mut Run<'_>,
    review: &mut SafetyReview,
    t: Instant,
) -> Result<(), PipelineError> {
    let options = &run.pipeline.options;
    if options.stage != ReleaseStage::Contract {
        return Ok(());
    }
    let breaks = run
        .report
        .compat
        .as_ref()
        .map(|c| c.breaks.clone())
        .unwrap_or_default();
    let unapproved = |review: &SafetyReview| {
        review
            .report
            .findings()
            .any(|f| f.rule == Rule::BreaksRunningQueries && f.approved_by.is_none())
    };
    if breaks.is_empty() {
        return Ok(());
    }
    let Some(old_app) = options.compat.old_app.clone() else {
        if unapproved(review) {
            return Err(run.refuse(Step::Safety, CompatError::OldAppUnknown.into(), t));
        }
        return Ok(());
    };
    let window = options.compat.drain_window;
    let observed = match run.recorder.db() {
        Ok(db) => compat::observe_drain(db, &old_app, &breaks, window).map_err(StepError::from),
        Err(e) => Err(e),
    };
    let evidence = match observed {
        Ok(evidence) => evidence,
        Err(e) => return Err(run.refuse(Step::Safety, e, t)),
    };
    run.report.drain = Some(evidence.clone());
    if evidence.drained() {
        let by = format!("the old version drained: {}", evidence.describe());
        for analysis in &mut review.report.migrations {
            for f in &mut analysis.findings {
                if f.rule == Rule::BreaksRunningQueries && f.approved_by.is_none() {
                    f.approved_by = Some(by.clone());
                }
            }
        }
        return Ok(());
    }
    if unapproved(review) {
        let e = CompatError::NotDrained {
            evidence: evidence.describe(),
        };
        return Err(run.refuse(Step::Safety, e.into(), t));
    }
    run.warn(format!(
        "contract stage: the old version has not drained ({}); going on because the \
         breaks-running-queries findings are approved",
        evidence.describe()
    ));
    Ok(())
}
