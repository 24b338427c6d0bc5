//! `migrate baseline`.

use migrate_core::executor::BaselineOptions;
use serde_json::json;

use crate::cli::{BaselineArgs, Cli};
use crate::output::{Outcome, Output};

pub(super) fn run(cli: &Cli, args: &BaselineArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let status = engine.status()?;
    let count = match &args.to {
        Some(to) => status
            .pending
            .iter()
            .position(|n| n == to)
            .map_or(status.pending.len(), |i| i + 1),
        None => status.pending.len(),
    };
    if count > 0 {
        super::confirm(
            cli,
            &format!(
                "Mark {count} migration(s) as applied on {} WITHOUT running them",
                engine.url()
            ),
        )?;
    }
    let mut options = BaselineOptions::default();
    options.lock_wait = engine.deploy_options().lock_wait;
    options.up_to.clone_from(&args.to);
    let marked = engine.baseline(&options)?;
    for name in &marked {
        out.line(format!("  marked applied: {name}"));
    }
    out.result(format!("{} migration(s) marked as applied.", marked.len()));
    Ok(Outcome::ok(json!({ "marked_applied": marked })))
}
