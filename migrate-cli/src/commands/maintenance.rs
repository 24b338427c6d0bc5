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
    }
}
