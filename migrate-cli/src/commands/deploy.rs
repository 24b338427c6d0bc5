//! `migrate deploy`: hands the flags to the core's settings, runs its `Pipeline`, prints.

use anyhow::Context;
use migrate_core::config::DeploySettings;
use migrate_core::monitor::{EventSink, NdjsonSink, WebhookOptions, WebhookSink};
use migrate_core::pipeline::{Pipeline, PipelineError, Step};
use migrate_core::safety::report::{self, Format, Sources};
use migrate_core::safety::{RunApproval, SafetyGate};
use migrate_core::Engine;

use crate::cli::{Cli, DeployArgs};
use crate::output::{Outcome, Output, BOLD, GREEN, RED};

pub(super) fn run(cli: &Cli, args: &DeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    // A bad --queries path is said before anything is read or changed.
    if let Some(path) = &args.queries {
        migrate_core::compat::read_queries_file(path)?;
    }
    let resolved = settings(cli, args)?.resolve()?;
    let url = resolved.url.clone();
    if let Some(path) = &resolved.url_file {
        out.loaded_from(path);
    }
    for warning in url.warnings() {
        out.warn(warning);
    }
    let mut options = resolved.options;
    if !options.safety.enforce {
        skipped_review_warning(if args.dangerous_skip_safety {
            "--dangerous-skip-safety"
        } else {
            "approval_required = false in the config file"
        });
    }
    // Interactive approval on a terminal, before anything runs.
    let engine = Engine::with_options(url.clone(), &resolved.dir, options.clone());
    if let Some(gate) = approve_interactively(&engine, &options.safety, out)? {
        options.safety = gate;
    }
    let mut pipeline = Pipeline::new(url.clone(), &resolved.dir, options);
    for probe in resolved.probes {
        pipeline = pipeline.probe(probe);
    }
    for sink in sinks(args, resolved.webhook)? {
        pipeline = pipeline.sink(sink);
    }

    out.line(format!("Datasource: {url}"));
    let result = pipeline.run(&mut |event| out.event(event));
    match result {
        Ok(report) => {
            if let Some((name, why)) = &report.expand_stopped_before {
                out.result(format!(
                    "Expand stage: {} migration(s) applied; stopped before {name}, as {why}. \
                     Deploy the new version of the application, then `migrate deploy --stage \
                     contract`.",
                    report.applied.len()
                ));
                return Ok(Outcome::ok(serde_json::to_value(&report)?));
            }
            if report.applied.is_empty() {
                out.result(format!("{GREEN}No pending migrations to apply.{GREEN:#}"));
            } else {
                out.result(format!(
                    "{BOLD}All migrations have been successfully applied{BOLD:#} ({} in {}, backup {}).",
                    report.applied.len(),
                    migrate_core::executor::human_duration(report.duration),
                    report.backup_id.as_deref().unwrap_or("none")
                ));
            }
            Ok(Outcome::ok(serde_json::to_value(&report)?))
        }
        Err(PipelineError::Refused { source, .. }) => {
            Err(migrate_core::Error::from(*source).into())
        }
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

/// Says loudly, on stderr (red and bold on a terminal), that the safety review will not stop
/// this deployment. Shown with `--quiet` and `--json` too: it is the one thing a reader of the
/// log must not miss.
fn skipped_review_warning(cause: &str) {
    let _ = std::io::Write::write_fmt(
        &mut anstream::stderr(),
        format_args!(
            "{RED}WARNING: the safety review was skipped ({cause}): destructive and high-risk \
             changes run without approval.{RED:#}\n"
        ),
    );
}

/// The flags, for the core's precedence (flag > environment variable > file > default).
fn settings(cli: &Cli, args: &DeployArgs) -> anyhow::Result<DeploySettings> {
    let mut settings = DeploySettings::new();
    settings.database_url = cli.database_url.clone().filter(|u| !u.trim().is_empty());
    settings.migrations_dir.clone_from(&cli.migrations_dir);
    settings.config.clone_from(&args.config);
    settings.environment.clone_from(&args.env);
    settings.lock_wait = cli
        .lock_timeout
        .map(|_| super::lock_wait(cli))
        .transpose()?;
    settings.accept_modified = args.accept_modified;
    settings.accept_missing = args.accept_missing;
    settings.approvals.clone_from(&args.approve);
    let off = [
        (args.dangerous_skip_safety, Step::Safety),
        (args.dangerous_no_backup, Step::Backup),
    ];
    settings.off = off.iter().filter(|(on, _)| *on).map(|(_, s)| *s).collect();
    settings.report_only_rollback = args.no_auto_rollback;
    settings.backup_dir.clone_from(&args.backup_dir);
    settings.verify_level = args.verify_level;
    settings.backup_mode = args.backup;
    settings.on_drift = args.on_drift;
    settings.health_window = args.health_window;
    settings.health_urls.clone_from(&args.health_url);
    settings.health_sql.clone_from(&args.health_sql);
    settings.health_commands.clone_from(&args.health_cmd);
    settings.webhook.clone_from(&args.webhook);
    settings.skip_promotion_gate = args.dangerous_skip_promotion_gate;
    settings.queries.clone_from(&args.queries);
    settings.stage = match args.stage.as_deref() {
        Some(stage) => stage.parse().map_err(anyhow::Error::msg)?,
        None => migrate_core::compat::ReleaseStage::All,
    };
    settings.old_app.clone_from(&args.old_app);
    settings.drain_window = Some(args.drain_window);
    settings.compat_budget = Some(args.compat_budget);
    settings.skip_compat_check = args.no_compat_check;
    Ok(settings)
}

/// The event sinks: the events file (or stdout's JSON lines), the webhook.
fn sinks(args: &DeployArgs, webhook: Option<String>) -> anyhow::Result<Vec<Box<dyn EventSink>>> {
    let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
    if let Some(path) = &args.events {
        let sink =
            NdjsonSink::create(path).with_context(|| format!("--events {}", path.display()))?;
        sinks.push(Box::new(sink));
    } else if args.json_events {
        sinks.push(Box::new(NdjsonSink::stdout()));
    }
    if let Some(url) = webhook {
        sinks.push(Box::new(WebhookSink::new(url, WebhookOptions::default())?));
    }
    Ok(sinks)
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
            rule: Some(f.rule.name().to_owned()),
        }));
    Ok(Some(gate))
}
