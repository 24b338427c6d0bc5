//! [`Fleet`]: the targets, wave by wave, each through a pipeline of its own.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{FleetError, FleetReport, Target, TargetReport, TargetStatus};
use crate::event::Event;
use crate::monitor::{EventSink, Fanout};
use crate::pipeline::{Pipeline, PipelineError, PipelineOptions, PipelineReport};
use crate::safety::Scope;
use crate::source::MigrationSource;

/// Set it to stop a fleet: no target starts after it is set; running ones finish (or roll
/// back) as they would. A signal handler (Ctrl-C) sets it.
pub type StopFlag = Arc<AtomicBool>;

/// Builds on the pipeline a fleet made for one target (probes, analyzer, sinks…).
type Customize = dyn Fn(&Target, Pipeline) -> Pipeline + Send + Sync;

/// One migrations directory deployed to many databases, in waves, halting on the first
/// failure: waves run in ascending order; within a wave at most [`Fleet::parallel`] targets
/// run at once; when a target of a wave fails, no further target starts, the running ones
/// finish, and no later wave starts. Each target runs the whole [`Pipeline`] (its own journal,
/// backup, verification, health checks and rollback), so a rerun resumes: targets already up to
/// date end after the preflight, the others deploy.
///
/// ```no_run
/// use migrate_core::fleet::{Fleet, TargetsFile};
/// use migrate_core::pipeline::PipelineOptions;
///
/// let targets = TargetsFile::load("targets.toml".as_ref())?;
/// let report = Fleet::new(targets, "prisma/migrations", PipelineOptions::default())
///     .parallel(4)
///     .deploy(&|event| log::info!("{event}"))?;
/// assert!(report.is_success(), "{:?}", report.halted_at_wave);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Fleet {
    pub(super) targets: Vec<Target>,
    pub(super) dir: PathBuf,
    options: PipelineOptions,
    pub(super) parallel: usize,
    customize: Option<Box<Customize>>,
    sinks: Fanout,
    stop: StopFlag,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("targets", &self.targets)
            .field("dir", &self.dir)
            .field("parallel", &self.parallel)
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A fleet of `targets` for the migrations in `dir`, each target deployed with `options`
    /// (its backups in a directory named after it under `options.backup_dir`).
    #[must_use]
    pub fn new(targets: Vec<Target>, dir: impl Into<PathBuf>, options: PipelineOptions) -> Self {
        Self {
            targets,
            dir: dir.into(),
            options,
            parallel: 1,
            customize: None,
            sinks: Fanout::new(),
            stop: StopFlag::default(),
        }
    }

    /// At most `n` targets of a wave at once (at least 1). By default, 1.
    #[must_use]
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Builds on each target's pipeline (the PostgreSQL defaults with the fleet's options):
    /// add probes, replace parts. Called once per target run, on the thread that runs it.
    #[must_use]
    pub fn customize(
        mut self,
        f: impl Fn(&Target, Pipeline) -> Pipeline + Send + Sync + 'static,
    ) -> Self {
        self.customize = Some(Box::new(f));
        self
    }

    /// Adds a sink for the fleet's own events: one [`Event::WaveFinished`] summary per wave
    /// (the targets' events go to the callback of [`Fleet::deploy`], tagged with their name;
    /// a chat channel wants one message per wave, not thousands).
    #[must_use]
    pub fn sink(mut self, sink: Box<dyn EventSink>) -> Self {
        self.sinks.push_boxed(sink);
        self
    }

    /// Uses `stop` as the stop request (share it with a signal handler). By default, a flag of
    /// the fleet's own, see [`Fleet::stop_flag`].
    #[must_use]
    pub fn stop_on(mut self, stop: StopFlag) -> Self {
        self.stop = stop;
        self
    }

    /// The stop request: set, no further target starts.
    #[must_use]
    pub fn stop_flag(&self) -> StopFlag {
        Arc::clone(&self.stop)
    }

    /// The targets.
    #[must_use]
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The pipeline `target` runs.
    #[must_use]
    pub fn pipeline_for(&self, target: &Target) -> Pipeline {
        let mut options = self.options.clone();
        options.backup_dir = options.backup_dir.join(&target.name);
        let pipeline = Pipeline::new(target.url.clone(), &self.dir, options);
        match &self.customize {
            Some(f) => f(target, pipeline),
            None => pipeline,
        }
    }

    /// Deploys the pending migrations to every target, wave by wave. Every event of a target
    /// reaches `events` as [`Event::Target`], from the thread running it; each wave ends with
    /// [`Event::WaveFinished`] (also sent to the fleet's sinks).
    ///
    /// Before any target is touched, the migrations are read and analysed once for the whole
    /// fleet; each target's safety gate then decides with its own live data facts.
    ///
    /// # Errors
    ///
    /// [`FleetError`] when the fleet cannot start (no target, unreadable migrations, bad
    /// approvals): nothing was changed anywhere. A target's failure is in the report.
    pub fn deploy(&self, events: &(dyn Fn(&Event) + Sync)) -> Result<FleetReport, FleetError> {
        let started = Instant::now();
        self.preflight(events)?;
        let mut waves: BTreeMap<u32, Vec<&Target>> = BTreeMap::new();
        for target in &self.targets {
            waves.entry(target.wave).or_default().push(target);
        }
        let mut report = FleetReport::default();
        for (wave, targets) in waves {
            let go = report.halted_at_wave.is_none() && !self.stop.load(Ordering::SeqCst);
            if !go {
                report
                    .targets
                    .extend(targets.iter().map(|t| not_started(t)));
                continue;
            }
            let t = Instant::now();
            let done = self.run_wave(&targets, events);
            let failed: Vec<String> = done
                .iter()
                .filter(|r| r.status.is_failure())
                .map(|r| r.name.clone())
                .collect();
            let stopped = self.stop.load(Ordering::SeqCst);
            if !failed.is_empty() {
                report.halted_at_wave = Some(wave);
            }
            let summary = Event::WaveFinished {
                wave,
                targets: done.len(),
                succeeded: done
                    .iter()
                    .filter(|r| matches!(r.status, TargetStatus::Deployed | TargetStatus::UpToDate))
                    .count(),
                failed,
                not_started: done
                    .iter()
                    .filter(|r| r.status == TargetStatus::NotStarted)
                    .count(),
                duration: t.elapsed(),
                continuing: report.halted_at_wave.is_none() && !stopped,
            };
            events(&summary);
            self.sinks.send(&summary);
            report.targets.extend(done);
        }
        self.sinks.close();
        report.stopped = self.stop.load(Ordering::SeqCst);
        report.duration = started.elapsed();
        Ok(report)
    }

    /// The whole fleet's preflight: the migrations read and analysed once, offline.
    fn preflight(&self, events: &(dyn Fn(&Event) + Sync)) -> Result<(), FleetError> {
        let first = self.targets.first().ok_or(FleetError::Empty)?;
        let migrations = MigrationSource::new(&self.dir).load()?;
        let review = self
            .pipeline_for(first)
            .review(&migrations, &Scope::default(), None)?;
        let needing = review.report.needing_approval().count();
        events(&Event::Step {
            step: "fleet preflight".to_owned(),
            status: "passed".to_owned(),
            detail: format!(
                "{} migration(s) read and analysed once for {} target(s); {needing} finding(s) \
                 need approval offline, each target's gate decides with its own live facts",
                migrations.len(),
                self.targets.len()
            ),
        });
        Ok(())
    }

    /// One wave: a bounded pool of scoped workers taking targets in file order until none is
    /// left, a target failed, or a stop was requested.
    fn run_wave(&self, targets: &[&Target], events: &(dyn Fn(&Event) + Sync)) -> Vec<TargetReport> {
        let next = AtomicUsize::new(0);
        let halt = AtomicBool::new(false);
        let results: Mutex<Vec<Option<TargetReport>>> = Mutex::new(vec![None; targets.len()]);
        let workers = self.parallel.clamp(1, targets.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    if halt.load(Ordering::SeqCst) || self.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else { break };
                    let report = self.deploy_one(target, events);
                    if report.status.is_failure() {
                        halt.store(true, Ordering::SeqCst);
                    }
                    results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(report);
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
        results
            .into_iter()
            .zip(targets)
            .map(|(r, t)| r.unwrap_or_else(|| not_started(t)))
            .collect()
    }

    /// One target's whole pipeline. A panic in it is that target's failure, not the fleet's.
    fn deploy_one(&self, target: &Target, events: &(dyn Fn(&Event) + Sync)) -> TargetReport {
        let started = Instant::now();
        let mut planned: Option<Vec<String>> = None;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.pipeline_for(target).run(&mut |event| {
                if let Event::Planned { pending, .. } = event {
                    planned = Some(pending.clone());
                }
                events(&Event::Target {
                    target: target.name.clone(),
                    event: Box::new(event.clone()),
                });
            })
        }));
        let mut report = not_started(target);
        report.duration = started.elapsed();
        match result {
            Ok(Ok(run)) => {
                report.status = if run.applied.is_empty() {
                    TargetStatus::UpToDate
                } else {
                    TargetStatus::Deployed
                };
                report.pending = Some(Vec::new());
                fill(&mut report, &run);
            }
            Ok(Err(e)) => {
                let run = e.report();
                fill(&mut report, run);
                report.error = Some(first_line(&e.to_string()));
                report.pending = planned.map(|p| still_pending(p, run));
                report.status = match e {
                    PipelineError::Failed { .. } => {
                        report.rollback = Some(run.rollback_summary());
                        TargetStatus::Failed
                    }
                    _ => TargetStatus::Refused,
                };
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                report.status = TargetStatus::Failed;
                report.error = Some(format!("the deployment panicked: {message}"));
            }
        }
        report
    }
}

fn fill(report: &mut TargetReport, run: &PipelineReport) {
    report.applied.clone_from(&run.applied);
    report.backup.clone_from(&run.backup_id);
}

/// What is still pending of `planned` after `run`: what it applied, unless rolled back.
fn still_pending(planned: Vec<String>, run: &PipelineReport) -> Vec<String> {
    let undone = |name: &String| {
        run.rollback
            .as_ref()
            .is_some_and(|r| r.rolled_back.contains(name))
    };
    planned
        .into_iter()
        .filter(|name| !run.applied.contains(name) || undone(name))
        .collect()
}

fn not_started(target: &Target) -> TargetReport {
    TargetReport {
        name: target.name.clone(),
        location: target.location(),
        wave: target.wave,
        status: TargetStatus::NotStarted,
        applied: Vec::new(),
        pending: None,
        duration: std::time::Duration::ZERO,
        backup: None,
        error: None,
        rollback: None,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}
