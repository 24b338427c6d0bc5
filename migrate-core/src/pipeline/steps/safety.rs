//! The safety gate: the analyzer's report on the pending migrations, with live data facts and
//! approvals; unapproved destructive or high-risk findings stop the run.

use std::time::Instant;

use super::super::run::Run;
use super::super::{Pipeline, PipelineError, Step, StepStatus};
use crate::compat::ReleaseStage;
use crate::event::Event;
use crate::journal::Journal;
use crate::safety::{SafetyError, SafetyReview, Scope};
use crate::source::Migrations;

/// Reviews `pending` (with the backward-compatibility check); returns the migrations to apply:
/// all of them, or the expand stage's part.
pub(crate) fn review(
    run: &mut Run<'_>,
    pending: Vec<String>,
) -> Result<Vec<String>, PipelineError> {
    if !run.pipeline.options.runs(Step::Safety) {
        let stage = run.pipeline.options.stage;
        if stage != ReleaseStage::All {
            let e = crate::compat::CompatError::NotChecked {
                stage: stage.as_str(),
                why: "the safety gate is switched off".into(),
            };
            return Err(run.refuse(Step::Safety, e.into(), Instant::now()));
        }
        run.switched_off(Step::Safety, "the pending migrations were not reviewed");
        return Ok(pending);
    }
    let t = Instant::now();
    let (pending, extra) = super::compat::check(run, pending, t)?;
    let pipeline = run.pipeline;
    let mut scope = Scope::pending(pending.clone());
    let live = match run.recorder.db() {
        Ok(db) => {
            // A rerun after a crash continues that deployment, reviewed when it started.
            match Journal::continued(db) {
                Ok(applied) => scope = scope.continuing(applied),
                Err(e) => return Err(run.refuse(Step::Safety, e.into(), t)),
            }
            Some((db, pipeline.url.schema()))
        }
        Err(_) => None,
    };
    let mut review = match reviewed(pipeline, &run.migrations, &scope, live, extra) {
        Ok(review) => review,
        Err(e) => return Err(run.refuse(Step::Safety, e.into(), t)),
    };
    super::compat::drain(run, &mut review, t)?;
    let findings = review.report.findings().count();
    run.event(&Event::SafetyReviewed {
        findings,
        approved: review
            .report
            .findings()
            .filter(|f| f.approved_by.is_some())
            .count(),
    });
    if let Some(refusal) = review.refusal().filter(|_| pipeline.options.safety.enforce) {
        return Err(run.refuse(Step::Safety, refusal.into(), t));
    }
    let compat = run
        .report
        .compat
        .as_ref()
        .filter(|c| c.ran)
        .map(|c| format!("; {}", c.summary()))
        .unwrap_or_default();
    run.report.step(
        Step::Safety,
        StepStatus::Passed,
        format!("{findings} finding(s){compat}"),
        t.elapsed(),
    );
    Ok(pending)
}

/// The gate's review with the pipeline's analyzer (the default one, configured by the
/// options, unless replaced).
pub(crate) fn reviewed(
    pipeline: &Pipeline,
    migrations: &Migrations,
    scope: &Scope,
    live: Option<(&mut postgres::Client, Option<&str>)>,
    extra: Vec<crate::safety::Finding>,
) -> Result<SafetyReview, SafetyError> {
    let gate = &pipeline.options.safety;
    match &pipeline.analyzer {
        Some(analyzer) => gate.review_with(analyzer.as_ref(), migrations, scope, live, extra),
        None => {
            let analyzer = crate::safety::DefaultAnalyzer::new(gate.config.clone());
            gate.review_with(&analyzer, migrations, scope, live, extra)
        }
    }
}

/// The review the gate is about to make, before running: the pending migrations with live data
/// facts (the database is created first when missing, as the run would).
pub(crate) fn pending_review(pipeline: &Pipeline) -> Result<SafetyReview, super::super::StepError> {
    let migrations = pipeline.source.load()?;
    super::preflight::gate_before_creating(pipeline, &migrations)?;
    let mut client = crate::connection::connect_creating(&pipeline.url)?;
    let pending: Vec<String> = pipeline
        .executor
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .plan(&migrations, &pipeline.options.deploy)?
        .migrations
        .into_iter()
        .map(|m| m.name)
        .collect();
    // The check's findings too, as the gate will add them; a stage decides about its breaks
    // itself (expand holds them back, contract looks at the drain), so it is not asked about.
    let options = &pipeline.options;
    let extra = if options.stage == ReleaseStage::All && options.runs(Step::Safety) {
        crate::compat::check(
            &pipeline.url,
            &mut client,
            &migrations,
            &pending,
            &options.compat,
        )
        .map(|report| crate::compat::findings(&report, &migrations, &options.safety.config))
        // The gate says why when it runs.
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let live = Some((&mut client, pipeline.url.schema()));
    Ok(reviewed(
        pipeline,
        &migrations,
        &Scope::pending(pending),
        live,
        extra,
    )?)
}
