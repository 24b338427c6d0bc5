//! `migrate rehearse`.

use migrate_core::executor::human_duration;
use migrate_core::rehearsal::{rehearse, RehearsalOptions};

use crate::cli::{Cli, RehearseArgs};
use crate::output::{Outcome, Output, BOLD, DIM, GREEN, RED};

pub(super) fn run(cli: &Cli, args: &RehearseArgs, out: &Output) -> anyhow::Result<Outcome> {
    out.line(format!(
        "Rehearsing {} on a throwaway PostgreSQL cluster{}",
        cli.migrations_dir().display(),
        args.from_backup
            .as_ref()
            .map(|b| format!(" loaded from {}", b.display()))
            .unwrap_or_default()
    ));
    let mut options = RehearsalOptions::default();
    options.from_backup.clone_from(&args.from_backup);
    options.skip_drill = args.no_drill;
    let report = rehearse(&cli.migrations_dir(), &options, &mut |event| {
        out.event(event)
    })?;

    out.line(format!(
        "\n{BOLD}{} migration(s) applied{BOLD:#} in {} (cluster setup {}, PostgreSQL {})",
        report.pipeline.applied.len(),
        human_duration(report.pipeline.duration),
        human_duration(report.setup),
        report.server_major_version
    ));
    let slowest = report.slowest();
    if !slowest.is_empty() {
        out.line("Slowest migrations (statement profile on a copy):");
        for m in slowest.iter().take(5) {
            out.line(format!("  {:>9}  {}", human_duration(m.duration), m.name));
            if let Some(st) = m.statements.iter().max_by_key(|s| s.duration) {
                out.line(format!(
                    "  {DIM}           slowest statement at line {} ({}), locks held: {}{DIM:#}",
                    st.line,
                    human_duration(st.duration),
                    if st.locks.is_empty() {
                        "none".to_owned()
                    } else {
                        st.locks.join(", ")
                    }
                ));
            }
        }
    }
    let check = |ok: bool, what: String| {
        let mark = if ok {
            format!("{GREEN}✓{GREEN:#}")
        } else {
            format!("{RED}✗{RED:#}")
        };
        out.result(format!("  {mark} {what}"));
    };
    if let Some(drill) = &report.drill {
        check(
            drill.state_restored,
            format!(
                "rollback drill: {} in {}, schema and data back to the pre-deployment state",
                drill.strategy.as_deref().unwrap_or("no strategy"),
                human_duration(drill.rollback)
            ),
        );
    }
    check(report.status.is_up_to_date(), "status is up to date".into());
    check(
        report.checksum_mismatches.is_empty(),
        "every ledger checksum equals the SHA-256 of its file".into(),
    );
    check(
        report.second_deploy_noop,
        "a second deploy is a no-op".into(),
    );
    let mut json = serde_json::to_value(&report)?;
    json["passed"] = serde_json::json!(report.passed());
    Ok(Outcome {
        ok: report.passed(),
        json,
    })
}
