//! `migrate fleet deploy` and `migrate fleet status`: the core's `Fleet` over a targets file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use migrate_core::config::DeploySettings;
use migrate_core::fleet::{Fleet, FleetReport, StopFlag, TargetStatus, TargetsFile};
use migrate_core::monitor::{EventSink, NdjsonSink, WebhookOptions, WebhookSink};
use migrate_core::pipeline::{Pipeline, Step};
use migrate_core::Event;
use serde_json::json;

use crate::cli::{
    Cli, FleetArgs, FleetCommand, FleetDeployArgs, FleetStatusArgs, FleetTargetsArgs,
};
use crate::output::{Outcome, Output, BOLD, DIM, GREEN, RED, YELLOW};

pub(super) fn run(cli: &Cli, args: &FleetArgs, out: &Output) -> anyhow::Result<Outcome> {
    match &args.command {
        FleetCommand::Deploy(args) => deploy(cli, args, out),
        FleetCommand::Status(args) => status(cli, args, out),
    }
}

fn base_settings(cli: &Cli, fleet: &FleetTargetsArgs) -> anyhow::Result<DeploySettings> {
    let mut settings = DeploySettings::new();
    settings.migrations_dir.clone_from(&cli.migrations_dir);
    settings.config.clone_from(&fleet.config);
    settings.environment.clone_from(&fleet.env);
    settings.lock_wait = cli
        .lock_timeout
        .map(|_| super::lock_wait(cli))
        .transpose()?;
    Ok(settings)
}

fn targets_path(fleet: &FleetTargetsArgs, from_env: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    fleet.targets.clone().or(from_env).ok_or_else(|| {
        anyhow::anyhow!(
            "no targets: give --targets FILE, or --env NAME whose environment has `targets`"
        )
    })
}

fn deploy(cli: &Cli, args: &FleetDeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    let mut settings = base_settings(cli, &args.fleet)?;
    settings.approvals.clone_from(&args.approve);
    if args.dangerous_no_backup {
        settings.off.push(Step::Backup);
    }
    settings.report_only_rollback = args.no_auto_rollback;
    settings.backup_dir.clone_from(&args.backup_dir);
    settings.verify_level = args.verify_level;
    settings.on_drift = args.on_drift;
    settings.webhook.clone_from(&args.webhook);
    let resolved = settings.resolve_fleet()?;
    let targets = TargetsFile::load(&targets_path(&args.fleet, resolved.targets)?)?;
    let mut fleet = Fleet::new(targets, &resolved.dir, resolved.options)
        .parallel(usize::from(args.parallel))
        .stop_on(stop_on_signals());
    if !resolved.probes.is_empty() {
        // Probes are parts of a pipeline, one set per target: built again for each.
        fleet = fleet.customize(move |_, pipeline| {
            let probes = settings.resolve_fleet().map(|r| r.probes);
            probes
                .unwrap_or_default()
                .into_iter()
                .fold(pipeline, Pipeline::probe)
        });
    }
    if let Some(url) = resolved.webhook {
        fleet = fleet.sink(Box::new(WebhookSink::new(url, WebhookOptions::default())?));
    }
    let file: Option<NdjsonSink> = match &args.events {
        Some(path) => {
            Some(NdjsonSink::create(path).with_context(|| format!("--events {}", path.display()))?)
        }
        None => None,
    };
    out.line(format!(
        "{BOLD}Fleet{BOLD:#}: {} target(s), at most {} at once",
        fleet.targets().len(),
        args.parallel
    ));
    let display = Display::new(out);
    let report = fleet.deploy(&|event| {
        if let Some(sink) = &file {
            sink.send(event);
        }
        display.event(event);
    })?;
    display.clear();
    if let Some(sink) = &file {
        sink.close();
    }
    render(out, &report);
    let mut json = serde_json::to_value(&report)?;
    json["ok"] = json!(report.is_success());
    Ok(Outcome {
        ok: report.is_success(),
        json,
    })
}

/// The progress of a fleet for people: one plain line per milestone of each target and, on a
/// terminal, a status line below them, redrawn in place, with each running target's count of
/// applied migrations. Called from every worker thread: one lock keeps lines whole and the
/// status line last.
struct Display<'a> {
    out: &'a Output,
    live: bool,
    state: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    wave: u32,
    /// Running targets: migrations applied, and pending when the run began.
    running: BTreeMap<String, (usize, usize)>,
    done: usize,
    failed: BTreeSet<String>,
    drawn: Option<Instant>,
}

impl<'a> Display<'a> {
    fn new(out: &'a Output) -> Self {
        use std::io::IsTerminal;
        Self {
            out,
            live: !out.is_json() && std::io::stdout().is_terminal(),
            state: Mutex::new(Live {
                wave: 1,
                ..Live::default()
            }),
        }
    }

    fn event(&self, event: &Event) {
        let mut live = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        live.track(event);
        let line = milestone(event);
        if !self.live {
            if let Some(line) = line {
                self.out.line(line);
            }
            return;
        }
        // Redraw at most 10 times a second, unless a milestone line goes above it.
        if line.is_none()
            && live
                .drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        // The cursor controls go around anstream, which strips escape codes under NO_COLOR;
        // the lock is reentrant, so the milestone line still goes between them.
        let stdout = std::io::stdout();
        let mut raw = stdout.lock();
        let _ = write!(raw, "\r\x1b[2K");
        if let Some(line) = line {
            let _ = writeln!(anstream::stdout(), "{line}");
        }
        let _ = write!(raw, "{}", live.status_line());
        let _ = raw.flush();
        live.drawn = Some(Instant::now());
    }

    /// Removes the status line before the report.
    fn clear(&self) {
        if self.live {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "\r\x1b[2K");
            let _ = stdout.flush();
        }
    }
}

impl Live {
    fn track(&mut self, event: &Event) {
        match event {
            Event::Target { target, event } => match event.as_ref() {
                Event::Planned { pending, .. } => {
                    self.running.insert(target.clone(), (0, pending.len()));
                }
                Event::MigrationApplied { .. } => {
                    if let Some((applied, _)) = self.running.get_mut(target) {
                        *applied += 1;
                    }
                }
                Event::Step { step, status, .. } if step == "done" && status == "passed" => {
                    self.running.remove(target);
                    self.done += 1;
                }
                Event::Failed { .. } => {
                    self.running.remove(target);
                    self.failed.insert(target.clone());
                }
                _ => {}
            },
            Event::WaveFinished { wave, .. } => {
                self.wave = wave + 1;
                self.running.clear();
            }
            _ => {}
        }
    }

    fn status_line(&self) -> String {
        let mut running: Vec<String> = self
            .running
            .iter()
            .map(|(name, (applied, total))| format!("{name} {applied}/{total}"))
            .collect();
        if running.len() > 6 {
            let more = running.len() - 6;
            running.truncate(6);
            running.push(format!("+{more}"));
        }
        format!(
            "wave {}: running {} | deployed {} | failed {}",
            self.wave,
            if running.is_empty() {
                "-".to_owned()
            } else {
                running.join(", ")
            },
            self.done,
            self.failed.len()
        )
    }
}

/// The line a milestone of a target or a wave is shown as, if any.
fn milestone(event: &Event) -> Option<String> {
    let line = match event {
        Event::Target { target, event } => match event.as_ref() {
            Event::Planned { pending, .. } if !pending.is_empty() => {
                format!("  [{target}] {} pending migration(s)", pending.len())
            }
            Event::MigrationApplied { .. } => format!("  {DIM}[{target}] {event}{DIM:#}"),
            Event::Failed { .. } | Event::MigrationFailed { .. } => {
                format!("  {RED}[{target}] {event}{RED:#}")
            }
            Event::RollbackStarted { .. }
            | Event::RollbackFinished { .. }
            | Event::Warning { .. } => {
                format!("  {YELLOW}[{target}] {event}{YELLOW:#}")
            }
            Event::Step { step, status, .. } if step == "done" && status == "passed" => {
                format!("  {GREEN}[{target}] deployed{GREEN:#}")
            }
            _ => {
                log::info!("[{target}] {event}");
                return None;
            }
        },
        Event::WaveFinished { failed, .. } if failed.is_empty() => {
            format!("{GREEN}{event}{GREEN:#}")
        }
        Event::WaveFinished { .. } => format!("{RED}{event}{RED:#}"),
        other => format!("{DIM}{other}{DIM:#}"),
    };
    Some(line)
}

fn render(out: &Output, report: &FleetReport) {
    out.line(format!(
        "\n{BOLD}{:<24} {:>4}  {:<12} {:>7} {:>7} {:>9}  backup / error{BOLD:#}",
        "target", "wave", "status", "applied", "pending", "time"
    ));
    for t in &report.targets {
        let pending = t
            .pending
            .as_ref()
            .map_or("?".to_owned(), |p| p.len().to_string());
        let note = t
            .error
            .clone()
            .or_else(|| t.backup.clone())
            .unwrap_or_default();
        let style = match t.status {
            TargetStatus::Deployed | TargetStatus::UpToDate => GREEN,
            TargetStatus::NotStarted => YELLOW,
            _ => RED,
        };
        out.line(format!(
            "{:<24} {:>4}  {style}{:<12}{style:#} {:>7} {:>7} {:>9}  {note}",
            t.name,
            t.wave,
            t.status.as_str(),
            t.applied.len(),
            pending,
            migrate_core::executor::human_duration(t.duration)
        ));
    }
    let summary = format!(
        "{} deployed, {} up to date, {} failed, {} refused, {} not started in {}",
        report.count(TargetStatus::Deployed),
        report.count(TargetStatus::UpToDate),
        report.count(TargetStatus::Failed),
        report.count(TargetStatus::Refused),
        report.count(TargetStatus::NotStarted),
        migrate_core::executor::human_duration(report.duration)
    );
    if report.is_success() {
        out.line(format!("\n{GREEN}{summary}{GREEN:#}"));
    } else {
        let why = match (report.halted_at_wave, report.stopped) {
            (Some(wave), _) => format!("; halted after wave {wave}, rerun to resume"),
            (None, true) => "; stopped, rerun to resume".to_owned(),
            _ => String::new(),
        };
        out.line(format!("\n{RED}{summary}{why}{RED:#}"));
    }
}

fn status(cli: &Cli, args: &FleetStatusArgs, out: &Output) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0,
        "--timeout must be a number of seconds > 0, got {}",
        args.timeout
    );
    let resolved = base_settings(cli, &args.fleet)?.resolve_fleet()?;
    let targets = TargetsFile::load(&targets_path(&args.fleet, resolved.targets)?)?;
    let fleet = Fleet::new(targets, &resolved.dir, resolved.options);
    let status = fleet.status(Duration::from_secs_f64(args.timeout))?;
    out.line(format!(
        "{BOLD}{:<24} {:>4}  {:>7} {:>7} {:>6}  {:<6} last deployment{BOLD:#}",
        "target", "wave", "applied", "pending", "failed", "drift"
    ));
    for t in &status.targets {
        if let Some(error) = &t.error {
            out.line(format!(
                "{:<24} {:>4}  {RED}unreachable: {error}{RED:#}",
                t.name, t.wave
            ));
            continue;
        }
        let last = t.last_deployment.as_ref().map_or("none".to_owned(), |d| {
            format!(
                "{} {}",
                d.outcome.as_str(),
                d.started_at.format("%Y-%m-%d %H:%M:%S")
            )
        });
        out.line(format!(
            "{:<24} {:>4}  {:>7} {:>7} {:>6}  {:<6} {last}",
            t.name,
            t.wave,
            t.applied.len(),
            t.pending.len(),
            t.failed.len(),
            if t.drift.is_some() { "yes" } else { "no" },
        ));
    }
    let up_to_date = status.is_up_to_date();
    let mut json = serde_json::to_value(&status)?;
    json["up_to_date"] = json!(up_to_date);
    Ok(Outcome {
        ok: up_to_date,
        json,
    })
}

/// Set by SIGINT or SIGTERM: no further target starts.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // A second Ctrl-C means now: leave at once (the running targets' journals let the next
    // run finish or roll back what they were doing). Both calls are async-signal-safe.
    if SIGNALLED.swap(true, Ordering::SeqCst) {
        #[allow(unsafe_code)]
        // SAFETY: _exit is async-signal-safe and takes no pointer.
        unsafe {
            libc::_exit(130)
        };
    }
}

/// The fleet's stop request, set on the first SIGINT or SIGTERM: running targets finish or roll
/// back cleanly, none starts after.
fn stop_on_signals() -> StopFlag {
    #[allow(unsafe_code)]
    // SAFETY: installs a handler that only touches an atomic and calls _exit.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    let stop = StopFlag::default();
    let flag = Arc::clone(&stop);
    // The handler cannot reach the fleet's flag: a watcher carries it over.
    std::thread::spawn(move || loop {
        if SIGNALLED.load(Ordering::SeqCst) {
            flag.store(true, Ordering::SeqCst);
            log::warn!("stop requested: no further target starts; running ones finish");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    });
    stop
}
