//! `migrate status`.

use serde_json::json;

use crate::cli::Cli;
use crate::output::{Outcome, Output, BOLD, GREEN, RED, YELLOW};

pub(super) fn run(cli: &Cli, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let status = engine.status()?;
    let up_to_date = status.is_up_to_date();

    out.line(format!("Datasource: {}", engine.url()));
    let section = |title: &str, names: &[String], hint: &str| {
        if !names.is_empty() {
            out.line(format!("\n{BOLD}{title}{BOLD:#}"));
            for name in names {
                out.line(format!("  {name}"));
            }
            out.line(hint);
        }
    };
    section(
        "Following migration(s) have not yet been applied:",
        &status.pending,
        "Apply them with `migrate deploy`.",
    );
    let failed: Vec<String> = status
        .failed
        .iter()
        .filter(|n| !status.interrupted.contains(n))
        .cloned()
        .collect();
    section(
        "Following migration(s) have failed:",
        &failed,
        "Resolve with `migrate resolve --rolled-back NAME` (to retry) or `--applied NAME`.",
    );
    section(
        "Following migration(s) were interrupted (their attempt has no outcome):",
        &status.interrupted,
        "If no deployment is running, `migrate deploy` resumes them: it checks what PostgreSQL \
         kept and applies the rest. (An attempt another tool started and left is resolved as \
         a failed one.)",
    );
    section(
        "Following applied migration(s) were modified on disk since:",
        &status.modified,
        "Restore the original files; edits of applied migrations are never applied.",
    );
    section(
        "Following applied migration(s) are missing from the migrations directory:",
        &status.missing_locally,
        "Is this checkout behind the database?",
    );
    // Advice, not a verdict: a status that cannot look for drift still answers.
    let drift = engine.drift().unwrap_or_else(|e| {
        out.warn(format_args!("drift check: {e}"));
        None
    });
    if let Some(drift) = &drift {
        out.line(format!("\n{YELLOW}Drift:{YELLOW:#} {drift}"));
    }
    if !status.ledger_exists {
        out.line(format!(
            "\n{YELLOW}The database has no _prisma_migrations table: it is not managed yet.{YELLOW:#}"
        ));
    }
    if up_to_date {
        out.result(format!(
            "\n{GREEN}Database schema is up to date!{GREEN:#} ({} migration(s) applied)",
            status.applied.len()
        ));
    } else {
        out.result(format!("\n{RED}Database is not up to date.{RED:#}"));
    }

    let mut json = serde_json::to_value(&status)?;
    json["up_to_date"] = json!(up_to_date);
    json["drift"] = serde_json::to_value(&drift)?;
    Ok(Outcome {
        ok: up_to_date,
        json,
    })
}
