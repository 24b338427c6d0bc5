//! `migrate history`.

use migrate_core::journal::Journal;
use serde_json::json;

use crate::cli::{Cli, HistoryArgs};
use crate::output::{Outcome, Output, DIM};

pub(super) fn run(cli: &Cli, args: &HistoryArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let mut client = migrate_core::connection::connect(engine.url())?;
    let deployments = Journal::history(&mut client, args.limit)?;
    if deployments.is_empty() {
        out.result("No deployment recorded yet.");
    }
    for d in &deployments {
        let env = d.environment.as_deref().unwrap_or("-");
        out.result(format!(
            "{}  {:<11} env {env:<10} {} applied of {} planned  {DIM}{} by {}{DIM:#}",
            d.started_at.format("%Y-%m-%d %H:%M:%S"),
            d.outcome.as_str(),
            d.applied.len(),
            d.planned.len(),
            d.id,
            d.actor
        ));
        if let Some(note) = &d.note {
            out.result(format!("    {note}"));
        }
        if let Some(error) = &d.error {
            out.result(format!("    {}", error.lines().next().unwrap_or_default()));
        }
    }
    Ok(Outcome::ok(json!({ "deployments": deployments })))
}
