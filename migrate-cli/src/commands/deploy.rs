//! `migrate deploy`.

use serde_json::json;

use crate::cli::{Cli, DeployArgs};
use crate::output::{Outcome, Output, BOLD, GREEN};

pub(super) fn run(cli: &Cli, args: &DeployArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
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
