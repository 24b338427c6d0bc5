//! `migrate resolve`.

use migrate_core::ResolveAction;
use serde_json::json;

use crate::cli::{Cli, ResolveArgs};
use crate::output::{Outcome, Output};

pub(super) fn run(cli: &Cli, args: &ResolveArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let action = match (&args.applied, &args.rolled_back) {
        (Some(name), None) => ResolveAction::Applied(name.clone()),
        (None, Some(name)) => ResolveAction::RolledBack(name.clone()),
        _ => anyhow::bail!("give exactly one of --applied NAME or --rolled-back NAME"),
    };
    let outcome = engine.resolve(&action)?;
    match action {
        ResolveAction::Applied(name) => out.result(format!("Migration {name} marked as applied.")),
        ResolveAction::RolledBack(name) => {
            out.result(format!("Migration {name} marked as rolled back."));
        }
    }
    Ok(Outcome::ok(json!({
        "migration": outcome.migration,
        "marked_applied": outcome.marked_applied,
        "rows_rolled_back": outcome.rows_rolled_back,
    })))
}
