//! Running the pipeline: the steps in order (each in `steps/`), sharing one [`Run`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::presence::Presence;
use super::recorder::Recorder;
use super::step::Failure;
use super::StepError;
use super::{steps, Pipeline, PipelineError, PipelineReport, Step, StepStatus};
use crate::backup::BackupStore;
use crate::connection::off_runtime;
use crate::event::Event;
use crate::executor::MigrationExecutor;
use crate::monitor::EventSink;
use crate::safety::SafetyReview;
use crate::source::Migrations;

impl Pipeline {
    /// Runs every step, reporting through `events` (and the pipeline's sinks).
    ///
    /// # Errors
    ///
    /// [`PipelineError::Refused`] when a step before the apply fails (nothing changed),
    /// [`PipelineError::Drift`] when the schema drifted and the policy refuses, and
    /// [`PipelineError::Failed`] when the apply, the verification or the probes fail (the
    /// report says what the rollback did), or when finishing a dead pipeline's job rolled it
    /// back.
    ///
    /// The callback is `Send`: called from inside an async runtime, the run moves to a thread
    /// of its own (the sync `postgres` client cannot run on the runtime's threads).
    pub fn run(
        &self,
        events: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<PipelineReport, PipelineError> {
        let sinks = &self.sinks;
        let mut events = |event: &Event| {
            events(event);
            sinks.send(event);
        };
        let result = off_runtime(|| self.run_steps(&mut events));
        sinks.close();
        result
    }

    /// The review the safety gate is about to make, with the same analyzer and live facts: for
    /// showing the unapproved findings before running (a terminal's prompt).
    ///
    /// # Errors
    ///
    /// Reading the directory, connecting (the database is created when missing, as the run
    /// would), planning, or unreadable approvals.
    pub fn review_pending(&self) -> Result<SafetyReview, StepError> {
        off_runtime(|| steps::safety::pending_review(self))
    }

    /// The safety gate's review of `scope` with this pipeline's analyzer (live data facts when
    /// a session is given).
    ///
    /// # Errors
    ///
    /// Unreadable approvals.
    pub fn review(
        &self,
        migrations: &Migrations,
        scope: &crate::safety::Scope,
        live: Option<(&mut postgres::Client, Option<&str>)>,
    ) -> Result<SafetyReview, crate::safety::SafetyError> {
        steps::safety::reviewed(self, migrations, scope, live, Vec::new())
    }

    /// As [`review`](Self::review), adding `extra` findings (e.g. [`crate::compat::findings`])
    /// before the approvals apply.
    ///
    /// # Errors
    ///
    /// Unreadable approvals.
    pub fn review_with(
        &self,
        migrations: &Migrations,
        scope: &crate::safety::Scope,
        live: Option<(&mut postgres::Client, Option<&str>)>,
        extra: Vec<crate::safety::Finding>,
    ) -> Result<SafetyReview, crate::safety::SafetyError> {
        steps::safety::reviewed(self, migrations, scope, live, extra)
    }

    fn run_steps(&self, events: &mut dyn FnMut(&Event)) -> Result<PipelineReport, PipelineError> {
        // One run at a time per pipeline: the executor is one session.
        let mut executor = self
            .executor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut run = steps::preflight::open(self, executor.as_mut(), events)?;
        run.report.stage = self.options.stage;
        steps::resume::orphan(&mut run)?;
        steps::replay::drop_orphans(&mut run);
        let pending = steps::preflight::plan(&mut run)?;
        if pending.is_empty() {
            return Ok(run.finish());
        }
        // The stage (expand) may hold migrations back: what follows sees only those applied now.
        let pending = steps::safety::review(&mut run, pending)?;
        if pending.is_empty() {
            return Ok(run.finish());
        }
        steps::readiness::check(&mut run, &pending)?;
        steps::backup::take(&mut run, &pending)?;
        let failure = steps::apply::apply(&mut run, &pending)
            .and_then(|before| steps::check::check(&mut run, before.as_ref()));
        match failure {
            Ok(()) => Ok(steps::check::done(run)),
            Err(failure) => Err(steps::rollback::fail(run, failure)),
        }
    }
}

/// Everything the steps share during one run.
pub(crate) struct Run<'a> {
    pub pipeline: &'a Pipeline,
    pub executor: &'a mut dyn MigrationExecutor,
    pub events: &'a mut dyn FnMut(&Event),
    pub report: PipelineReport,
    pub migrations: Migrations,
    pub presence: Presence,
    pub recorder: Recorder,
    /// Where the rollback planner and the default provider find backups.
    pub store: BackupStore,
    /// The backup this run took: released when the run ends.
    pub taken: Option<TakenBackup<'a>>,
    started: Instant,
}

/// A backup taken by a run, released through its provider when the run ends, however it ends
/// (its replication slot, kept for the rollback, is dropped then).
pub(crate) struct TakenBackup<'a> {
    pub provider: &'a dyn crate::backup::BackupProvider,
    pub backup: crate::backup::Backup,
}

impl Drop for TakenBackup<'_> {
    fn drop(&mut self) {
        self.provider.release(&self.backup);
    }
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)] // the preflight's findings, handed over once
    pub fn new(
        pipeline: &'a Pipeline,
        executor: &'a mut dyn MigrationExecutor,
        events: &'a mut dyn FnMut(&Event),
        report: PipelineReport,
        migrations: Migrations,
        presence: Presence,
        recorder: Recorder,
        started: Instant,
    ) -> Self {
        Self {
            store: BackupStore::new(pipeline.options.backup_dir.clone()),
            pipeline,
            executor,
            events,
            report,
            migrations,
            presence,
            recorder,
            taken: None,
            started,
        }
    }

    pub fn event(&mut self, event: &Event) {
        (self.events)(event);
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        self.event(&Event::Warning {
            migration: None,
            message: message.into(),
        });
    }

    /// Records how `step` ended in the report, and tells the events.
    pub fn step(&mut self, step: Step, status: StepStatus, detail: impl Into<String>, t: Instant) {
        let detail = detail.into();
        self.report.step(step, status, detail.clone(), t.elapsed());
        self.announce(step, status, detail);
    }

    /// Tells the events how `step` ended (the report keeps the steps that did work).
    pub fn announce(&mut self, step: Step, status: StepStatus, detail: impl Into<String>) {
        self.event(&Event::Step {
            step: step.as_str().to_owned(),
            status: status.as_str().to_owned(),
            detail: detail.into(),
        });
    }

    /// A step switched off: said in the events, the report, and every journal note.
    pub fn switched_off(&mut self, step: Step, consequence: &str) {
        self.recorder.remark(format!("{step} off"));
        self.step(
            step,
            StepStatus::Skipped,
            format!("{step} off: switched off by the deployer; {consequence}"),
            Instant::now(),
        );
    }

    /// A step failed before anything changed: the run stops there.
    pub fn refuse(&mut self, step: Step, source: StepError, t: Instant) -> PipelineError {
        refusal(step, source, &mut self.report, t, self.events, self.started)
    }

    /// A failed step, as events and the report say it.
    pub fn failed(&mut self, failure: &Failure, t: Instant) {
        self.report.step(
            failure.step,
            StepStatus::Failed,
            &failure.message,
            t.elapsed(),
        );
        self.event(&Event::Failed {
            step: failure.step.as_str().to_owned(),
            error: first_line(&failure.message),
        });
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The report of a run that ends here.
    pub fn finish(mut self) -> PipelineReport {
        self.report.duration = self.started.elapsed();
        self.report
    }
}

/// A refusal before the run has its [`Run`] (the preflight's own).
pub(crate) fn refusal(
    step: Step,
    source: StepError,
    report: &mut PipelineReport,
    t: Instant,
    events: &mut dyn FnMut(&Event),
    started: Instant,
) -> PipelineError {
    report.step(step, StepStatus::Failed, source.to_string(), t.elapsed());
    events(&Event::Failed {
        step: step.as_str().to_owned(),
        error: first_line(&source.to_string()),
    });
    let mut report = std::mem::take(report);
    report.duration = started.elapsed();
    PipelineError::Refused {
        step,
        source: Box::new(source),
        report: Box::new(report),
    }
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

/// One pipeline's executor, shared by its runs.
pub(crate) type SharedExecutor = Mutex<Box<dyn MigrationExecutor>>;
