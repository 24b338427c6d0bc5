//! `migrate rollback --to MIGRATION [--strategy auto|down|restore] [--dry-run]`.

use migrate_core::backup::{BackupStore, PgDumpBackup, RestoreOptions};
use migrate_core::rollback::{self, DataLoss, Preference, RollbackPlan, Selection};
use serde_json::{json, Value};

use crate::cli::{Cli, RollbackArgs, StrategyArg};
use crate::output::{Outcome, Output, BOLD, GREEN, YELLOW};

fn plan_json(plan: &RollbackPlan) -> Value {
    json!({
        "strategy": plan.strategy,
        "reason": plan.reason,
        "migrations": plan.targets.iter().map(|t| json!({
            "name": t.name,
            "applied": t.applied,
            "has_down": t.down.is_some(),
        })).collect::<Vec<_>>(),
        "rejected": plan.rejected.iter().map(|(k, r)| json!({"strategy": k, "reason": r})).collect::<Vec<_>>(),
        "backup": plan.backup.as_ref().map(|b| b.id().to_owned()),
        "data_loss": plan.data_loss,
    })
}

fn print_plan(plan: &RollbackPlan, out: &Output) {
    out.line(format!(
        "Rollback of {} migration(s), newest first, by {BOLD}{}{BOLD:#}:",
        plan.targets.len(),
        plan.strategy
    ));
    for t in plan.targets.iter().rev() {
        out.line(format!(
            "  {}{}",
            t.name,
            if t.applied { "" } else { " (failed)" }
        ));
    }
    out.line(format!("Why: {}", plan.reason));
    match &plan.data_loss {
        DataLoss::Nothing => out.line("Data lost: nothing."),
        DataLoss::DroppedByDownScripts { drops } => {
            out.line(format!(
                "{YELLOW}Data lost{YELLOW:#}: what the down scripts drop, rows of every other table stay:"
            ));
            for d in drops {
                out.line(format!("  {d}"));
            }
        }
        DataLoss::SinceBackup { backup, tables } => {
            out.line(format!(
                "{YELLOW}Data lost{YELLOW:#}: everything written after backup {backup}:"
            ));
            if tables.is_empty() {
                out.line("  nothing was written since");
            }
            for t in tables {
                let was = t
                    .rows_at_backup
                    .map_or("created after the backup".to_owned(), |n| {
                        format!("{n} at backup")
                    });
                out.line(format!(
                    "  {}.{}: {} rows now, {was}",
                    t.schema, t.table, t.rows_before_restore
                ));
            }
        }
        other => out.line(format!("Data lost: {other}.")),
    }
}

pub(super) fn run(cli: &Cli, args: &RollbackArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let selection = match (&args.to, args.last_deployment) {
        (Some(name), false) => Selection::To(name.clone()),
        (None, true) => Selection::LastDeployment,
        _ => anyhow::bail!("give exactly one of --to MIGRATION or --last-deployment"),
    };
    let preference = match args.strategy {
        StrategyArg::Auto => Preference::Auto,
        StrategyArg::Down => Preference::Down,
        StrategyArg::Restore => Preference::Restore,
    };
    let migrations = engine.migrations()?;
    let store = BackupStore::new(&args.dir.backup_dir);
    let provider = PgDumpBackup::default();
    let plan = rollback::plan(
        engine.url(),
        &migrations,
        &selection,
        &store,
        &provider,
        preference,
    )?;
    print_plan(&plan, out);
    let mut json = json!({ "plan": plan_json(&plan), "dry_run": args.dry_run });
    if args.dry_run {
        out.result("Dry run: nothing was changed.");
        return Ok(Outcome::ok(json));
    }
    super::confirm(
        cli,
        &format!(
            "Roll back {} migration(s) by {}?",
            plan.targets.len(),
            plan.strategy
        ),
    )?;
    let outcome = rollback::execute(
        &plan,
        engine.url(),
        &provider,
        super::lock_wait(cli)?,
        &RestoreOptions::default(),
    )?;
    if let Some(report) = &outcome.restore {
        super::restore::print_restore(report, out);
    }
    out.result(format!(
        "{GREEN}Rolled back{GREEN:#} {} in {:.1}s by {}.",
        outcome.rolled_back.join(", "),
        outcome.duration.as_secs_f64(),
        outcome.strategy
    ));
    json["outcome"] = serde_json::to_value(&outcome).unwrap_or(Value::Null);
    Ok(Outcome::ok(json))
}
