//! `migrate deploy`.

use migrate_core::safety::report::{self, Format, Sources};
use migrate_core::safety::{RunApproval, SafetyGate, Scope};
use migrate_core::Engine;
use serde_json::json;

use crate::cli::{Cli, DeployArgs};
use crate::output::{Outcome, Output, BOLD, GREEN};

pub(super) fn run(cli: &Cli, args: &DeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    let mut gate = SafetyGate::default();
    gate.enforce = !args.dangerous_skip_safety;
    for arg in &args.approve {
        gate.approvals.push(arg.parse()?);
    }
    let engine = super::engine(cli, out)?.safety(gate.clone());
    let engine = match approve_interactively(&engine, &gate, out)? {
        Some(gate) => engine.safety(gate),
        None => engine,
    };
    let migrations = engine.migrations()?;
    out.line(format!("Datasource: {}", engine.url()));
    out.line(format!(
        "{} migration(s) found in {}",
        migrations.len(),
        engine.source().dir().display()
    ));
    let options = engine
        .deploy_options()
        .accept_modified(args.accept_modified)
        .accept_missing_locally(args.accept_missing);
    let report = engine.deploy_with(&options, &mut |event| out.event(event))?;
    if report.applied.is_empty() {
        out.line(format!("{GREEN}No pending migrations to apply.{GREEN:#}"));
    } else {
        out.line(format!(
            "{BOLD}All migrations have been successfully applied{BOLD:#} ({} in {}).",
            report.applied.len(),
            migrate_core::executor::human_duration(report.duration)
        ));
    }
    Ok(Outcome::ok(json!({
        "applied": report.applied.iter().map(|m| json!({
            "name": m.name,
            "checksum": m.checksum,
            "duration_ms": m.duration.as_secs_f64() * 1e3,
        })).collect::<Vec<_>>(),
        "already_applied": report.already_applied,
        "ledger_created": report.ledger_created,
        "lock_wait_ms": report.lock_wait.as_secs_f64() * 1e3,
        "duration_ms": report.duration.as_secs_f64() * 1e3,
    })))
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
    let pending: Vec<String> = engine
        .plan(&engine.deploy_options())?
        .migrations
        .into_iter()
        .map(|m| m.name)
        .collect();
    if pending.is_empty() {
        return Ok(None);
    }
    let review = engine.review(Scope::pending(pending), None)?;
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
        "{}",
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
