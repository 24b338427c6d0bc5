//! `migrate maintenance read-only on|off`.

use migrate_core::backup::set_read_only;
use serde_json::json;

use crate::cli::{Cli, MaintenanceArgs, MaintenanceCommand};
use crate::output::{Outcome, Output, YELLOW};

pub(super) fn run(cli: &Cli, args: &MaintenanceArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    match &args.command {
        MaintenanceCommand::ReadOnly { state } => {
            let on = state == "on";
            let change = set_read_only(engine.url(), on)?;
            if on {
                out.result(format!(
                    "{YELLOW}{} is read-only{YELLOW:#}: new transactions cannot write; {} session(s) ended. \
                     Lift with `migrate maintenance read-only off`.",
                    change.database, change.sessions_ended
                ));
            } else {
                out.result(format!("{} accepts writes again.", change.database));
            }
            Ok(Outcome::ok(json!(change)))
        }
        MaintenanceCommand::PreviousDatabases { drop: Some(name) } => {
            super::confirm(cli, &format!("Drop database {name} for good?"))?;
            migrate_core::backup::drop_previous_database(engine.url(), name)?;
            out.line(format!("Dropped {name}."));
            Ok(Outcome::ok(json!({ "dropped": name })))
        }
        MaintenanceCommand::PreviousDatabases { drop: None } => {
            let kept = migrate_core::backup::previous_databases(engine.url())?;
            if kept.is_empty() {
                out.line("No database kept by a restore.");
            }
            for p in &kept {
                out.line(format!(
                    "{}  {}  replaced {}",
                    p.name,
                    migrate_core::executor::human_bytes(u64::try_from(p.bytes).unwrap_or(0)),
                    p.replaced_at
                        .map_or_else(|| "?".to_owned(), |t| format!("{t} UTC"))
                ));
            }
            Ok(Outcome::ok(json!({ "previous_databases": kept })))
        }
    }
}
