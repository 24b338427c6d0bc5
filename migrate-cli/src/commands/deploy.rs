//! `migrate deploy`: maps flags and `migrate.toml` onto the library's `Pipeline`.

use std::time::Duration;

use anyhow::Context;
use migrate_core::backup::VerifyLevel;
use migrate_core::config::{ConfigFile, Environment};
use migrate_core::health::{CommandProbe, HealthProbe, HttpProbe, SqlProbe};
use migrate_core::monitor::{EventSink, Fanout, NdjsonSink, WebhookOptions, WebhookSink};
use migrate_core::pipeline::{Pipeline, PipelineError, PipelineOptions, RollbackMode};
use migrate_core::safety::report::{self, Format, Sources};
use migrate_core::safety::{RunApproval, SafetyGate};
use migrate_core::{DatabaseUrl, Engine};

use crate::cli::{Cli, DeployArgs};
use crate::output::{Outcome, Output, BOLD, GREEN, RED};

pub(super) fn run(cli: &Cli, args: &DeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    let config = ConfigFile::load(&args.config)?;
    let environment = match (&args.env, &config) {
        (Some(name), Some(file)) => {
            Some((name.clone(), file.environment(name, &args.config)?.clone()))
        }
        (Some(name), None) => anyhow::bail!(
            "--env {name}: {} not found (environments are defined there)",
            args.config.display()
        ),
        (None, _) => None,
    };
    let url: DatabaseUrl = match (&cli.database_url, &environment) {
        (Some(url), _) if !url.trim().is_empty() => url.parse()?,
        (_, Some((name, env))) => env.url(name)?.parse()?,
        _ => return Err(migrate_core::connection::ConnectError::Missing.into()),
    };
    for warning in url.warnings() {
        out.line(format!("warning: {warning}"));
    }
    let dir = if cli.migrations_dir.as_os_str() == "prisma/migrations" {
        config
            .as_ref()
            .and_then(|c| c.migrations_dir.clone())
            .unwrap_or_else(|| cli.migrations_dir.clone())
    } else {
        cli.migrations_dir.clone()
    };
    let env = environment
        .as_ref()
        .map(|(_, e)| e.clone())
        .unwrap_or_default();

    let mut options = PipelineOptions::default();
    options.deploy = options
        .deploy
        .lock_wait(super::lock_wait(cli)?)
        .accept_modified(args.accept_modified)
        .accept_missing_locally(args.accept_missing);
    options.deploy.environment = environment.as_ref().map(|(n, _)| n.clone());
    if let Some(ms) = env.lock_timeout_ms {
        options.deploy.locks.exclusive_timeout = Some(Duration::from_millis(ms));
    }
    if let Some(retries) = env.retries {
        options.deploy.locks.retries = retries;
    }
    options.safety = safety_gate(args, &env)?;
    options.backup_dir = if args.dangerous_no_backup || env.backup == Some(false) {
        None
    } else {
        Some(
            args.backup_dir
                .clone()
                .or_else(|| env.backup_dir.clone())
                .or_else(|| config.as_ref().and_then(|c| c.backup_dir.clone()))
                .unwrap_or_else(|| "backups".into()),
        )
    };
    if let Some(level) = args.verify_level.or(env.backup_verify_level) {
        options.backup_verify = level
            .to_string()
            .parse::<VerifyLevel>()
            .map_err(anyhow::Error::msg)?;
    }
    if let Some(policy) = args.on_drift.or(env.on_drift) {
        options.drift = policy;
    }
    if args.no_auto_rollback || env.auto_rollback == Some(false) {
        options.rollback = RollbackMode::ReportOnly;
    }
    options.health_window = env.health.retry_window()?;
    if let Some(secs) = args.health_window {
        anyhow::ensure!(
            secs.is_finite() && secs >= 0.0,
            "--health-window must be >= 0 seconds"
        );
        options.health_window.window = Duration::from_secs_f64(secs);
    }
    if let (Some((name, env)), false) = (&environment, args.dangerous_skip_promotion_gate) {
        if let (true, Some(from), Some(file)) = (env.gated(), &env.promote_from, &config) {
            let from_env = file.environment(from, &args.config)?;
            options.promote_from = Some((from.clone(), from_env.url(from)?.parse()?));
            log::info!("promotion gate: {name} requires {from} first");
        }
    }

    // Interactive approval on a terminal, before anything runs.
    let engine = Engine::new(url.clone(), &dir).safety(options.safety.clone());
    if let Some(gate) = approve_interactively(&engine, &options.safety, out)? {
        options.safety = gate;
    }

    let mut pipeline = Pipeline::new(url.clone(), &dir, options);
    for probe in probes(args)?.into_iter().chain(env.health.build_probes()?) {
        pipeline = pipeline.probe(probe);
    }
    let sinks = sinks(cli, args, &env)?;

    out.line(format!("Datasource: {url}"));
    let result = pipeline.run(&mut |event| {
        out.event(event);
        sinks.send(event);
    });
    sinks.close();
    match result {
        Ok(report) => {
            if report.applied.is_empty() {
                out.line(format!("{GREEN}No pending migrations to apply.{GREEN:#}"));
            } else {
                out.line(format!(
                    "{BOLD}All migrations have been successfully applied{BOLD:#} ({} in {}, backup {}).",
                    report.applied.len(),
                    migrate_core::executor::human_duration(report.duration),
                    report.backup_id.as_deref().unwrap_or("none")
                ));
            }
            Ok(Outcome::ok(serde_json::to_value(&report)?))
        }
        Err(PipelineError::Refused { source, .. }) => Err((*source).into()),
        Err(e @ (PipelineError::Failed { .. } | PipelineError::Drift { .. })) => {
            // The failure is an error for people: stderr, like every other error.
            let _ = std::io::Write::write_fmt(
                &mut anstream::stderr(),
                format_args!("{RED}error{RED:#}: {e}\n"),
            );
            let mut json = serde_json::to_value(e.report())?;
            json["error"] = serde_json::json!({ "message": e.to_string(), "exit_code": 1 });
            Ok(Outcome { ok: false, json })
        }
        Err(other) => Err(other.into()),
    }
}

fn safety_gate(args: &DeployArgs, env: &Environment) -> anyhow::Result<SafetyGate> {
    let mut gate = SafetyGate::default();
    gate.enforce = !args.dangerous_skip_safety && env.approval_required != Some(false);
    for arg in &args.approve {
        gate.approvals.push(arg.parse()?);
    }
    Ok(gate)
}

fn probes(args: &DeployArgs) -> anyhow::Result<Vec<Box<dyn HealthProbe>>> {
    let mut probes: Vec<Box<dyn HealthProbe>> = Vec::new();
    for url in &args.health_url {
        probes.push(Box::new(HttpProbe::from_flag(url)?));
    }
    for sql in &args.health_sql {
        probes.push(Box::new(SqlProbe::from_flag(sql)?));
    }
    for cmd in &args.health_cmd {
        probes.push(Box::new(CommandProbe::from_flag(cmd)?));
    }
    Ok(probes)
}

fn sinks(cli: &Cli, args: &DeployArgs, env: &Environment) -> anyhow::Result<Fanout> {
    let mut fanout = Fanout::new();
    if let Some(path) = &args.events {
        fanout.push(
            NdjsonSink::create(path).with_context(|| format!("--events {}", path.display()))?,
        );
    } else if cli.json {
        fanout.push(NdjsonSink::stdout());
    }
    let webhook = args.webhook.clone().or_else(|| {
        env.webhook_env
            .as_ref()
            .and_then(|var| std::env::var(var).ok())
            .filter(|v| !v.is_empty())
    });
    if let Some(url) = webhook {
        fanout.push(WebhookSink::new(url, WebhookOptions::default())?);
    }
    Ok(fanout)
}

/// On a terminal, shows the unapproved destructive changes and asks to approve them for this
/// run; returns the gate with those approvals. Without a terminal, the gate refuses later.
fn approve_interactively(
    engine: &Engine,
    gate: &SafetyGate,
    out: &Output,
) -> anyhow::Result<Option<SafetyGate>> {
    use std::io::IsTerminal;
    if !gate.enforce || out.is_json() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    // The very review the gate will make (pending migrations, live data facts), so that the
    // prompt asks about what would be refused, nothing else; the database is created first
    // when missing, as the deployment would.
    let review = engine.review_pending()?;
    let unapproved: Vec<_> = review.report.needing_approval().cloned().collect();
    if unapproved.is_empty() {
        return Ok(None);
    }
    let dir = engine.source().dir().to_owned();
    let migrations = engine.migrations()?;
    let path_of = |name: &str| dir.join(name).join("migration.sql").display().to_string();
    let text_of = |name: &str| {
        migrations
            .get(name)
            .and_then(|m| m.script())
            .map(|s| s.text().to_owned())
    };
    let mut shown = review.report.clone();
    for m in &mut shown.migrations {
        m.findings.retain(|f| f.needs_approval());
    }
    let sources = Sources {
        path: &path_of,
        text: &text_of,
    };
    eprint!(
        "Datasource: {}\n{}",
        engine.url(),
        report::render(&shown, &review.approvals, &sources, Format::Human)
    );
    if !super::ask(&format!(
        "Approve these {} destructive or high-risk change(s) for this deployment?",
        unapproved.len()
    )) {
        return Ok(None);
    }
    let mut gate = gate.clone();
    gate.approvals
        .extend(unapproved.iter().map(|f| RunApproval {
            migration: f.migration.clone(),
            rule: Some(f.rule),
        }));
    Ok(Some(gate))
}
