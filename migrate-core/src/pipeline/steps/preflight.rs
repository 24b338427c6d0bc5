//! Preflight: the directory, the server (created when missing, reopened after a killed
//! restore), a dead deployment's recovery, the history and the plan. Nothing changes here
//! but what finishes an interrupted job.

use std::time::Instant;

use super::super::presence::Presence;
use super::super::recorder::Recorder;
use super::super::run::{refusal, Run};
use super::super::StepError;
use super::super::{Pipeline, PipelineError, PipelineReport, Step, StepStatus};
use crate::connection::{connect_creating, ConnectError};
use crate::event::Event;
use crate::executor::MigrationExecutor;

/// Opens the run: reads the directory, connects, joins the live pipelines, and lets the
/// executor recover a dead deployment.
pub(crate) fn open<'a>(
    pipeline: &'a Pipeline,
    executor: &'a mut dyn MigrationExecutor,
    events: &'a mut dyn FnMut(&Event),
) -> Result<Run<'a>, PipelineError> {
    let started = Instant::now();
    let mut report = PipelineReport::default();
    let opened = connect(pipeline, events).and_then(|(migrations, client, presence)| {
        executor.recover(&migrations, &pipeline.options.deploy, events)?;
        Ok((migrations, client, presence))
    });
    let (migrations, mut client, presence) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            return Err(refusal(
                Step::Preflight,
                e,
                &mut report,
                started,
                events,
                started,
            ))
        }
    };
    // A non-empty schema without a ledger is Prisma's P3005, refused before anything is
    // planned or backed up.
    if let Err(e) = crate::ledger::check_adoptable(&mut client) {
        return Err(refusal(
            Step::Preflight,
            e.into(),
            &mut report,
            started,
            events,
            started,
        ));
    }
    let recorder = Recorder::new(pipeline.url.clone(), client);
    Ok(Run::new(
        pipeline, executor, events, report, migrations, presence, recorder, started,
    ))
}

/// The directory, a session (after undoing a restore killed half-way) and this pipeline's
/// presence.
fn connect(
    pipeline: &Pipeline,
    events: &mut dyn FnMut(&Event),
) -> Result<(crate::source::Migrations, postgres::Client, Presence), StepError> {
    let url = &pipeline.url;
    let migrations = pipeline.source.load()?;
    gate_before_creating(pipeline, &migrations)?;
    let mut client = match connect_creating(url) {
        Ok(client) => client,
        // A restore killed while the database was closed to new sessions: only a maintenance
        // session can reopen it.
        Err(e) if !closed_to_sessions(&e) => return Err(e.into()),
        Err(e) => match crate::backup::recover_interrupted_restore_without_target(url) {
            Ok(undone) if !undone.is_empty() => {
                warn_all(events, undone);
                connect_creating(url)?
            }
            _ => return Err(e.into()),
        },
    };
    let presence = Presence::join(url, pipeline.options.deploy.lock_wait)?;
    // A restore killed half-way leaves the database read-only: undo that first (this session
    // started read-only too, so it is replaced).
    let undone = crate::backup::recover_interrupted_restore(&mut client, url)?;
    if !undone.is_empty() {
        warn_all(events, undone);
        client = connect_creating(url)?;
    }
    Ok((migrations, client, presence))
}

/// A database that does not exist yet would get every migration: the promotion gate judges
/// that before anything, the database included, is created.
pub(crate) fn gate_before_creating(
    pipeline: &Pipeline,
    migrations: &crate::source::Migrations,
) -> Result<(), StepError> {
    if let Some((from, from_url)) = &pipeline.options.promote_from {
        if crate::connection::database_missing(&pipeline.url)? {
            let all: Vec<String> = migrations.iter().map(|m| m.name().to_owned()).collect();
            super::super::check_promotion(from, from_url, migrations, &all)?;
        }
    }
    Ok(())
}

/// The drift check, the plan and the promotion gate: the pending migrations, or a refusal.
pub(crate) fn plan(run: &mut Run<'_>) -> Result<Vec<String>, PipelineError> {
    let t = Instant::now();
    super::drift::check(run, t)?;
    let options = &run.pipeline.options;
    let plan = match run.executor.plan(&run.migrations, &options.deploy) {
        Ok(plan) => plan,
        Err(e) => return Err(run.refuse(Step::Preflight, e.into(), t)),
    };
    if !plan.is_deployable() {
        let e = crate::executor::refusal(&run.migrations, &plan);
        return Err(run.refuse(Step::Preflight, e.into(), t));
    }
    let pending: Vec<String> = plan.migrations.iter().map(|m| m.name.clone()).collect();
    if let Some((from, from_url)) = &options.promote_from {
        let gate = super::super::check_promotion(from, from_url, &run.migrations, &pending);
        if let Err(e) = gate {
            return Err(run.refuse(Step::PromotionGate, e, t));
        }
    }
    run.step(
        Step::Preflight,
        StepStatus::Passed,
        format!("{} pending migration(s)", pending.len()),
        t,
    );
    Ok(pending)
}

fn warn_all(events: &mut dyn FnMut(&Event), messages: Vec<String>) {
    for message in messages {
        events(&Event::Warning {
            migration: None,
            message,
        });
    }
}

/// "database … is not currently accepting connections" (SQLSTATE 55000 at connection).
fn closed_to_sessions(e: &ConnectError) -> bool {
    matches!(
        e,
        ConnectError::Connect { source, .. }
            if source.code() == Some(&postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE)
    )
}
