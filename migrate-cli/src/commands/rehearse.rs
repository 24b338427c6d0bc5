//! `migrate rehearse`.

use migrate_core::embedded::EmbeddedOptions;
use migrate_core::executor::human_duration;
use serde_json::json;

use crate::cli::Cli;
use crate::output::{Outcome, Output, BOLD, GREEN, RED};

pub(super) fn run(cli: &Cli, out: &Output) -> anyhow::Result<Outcome> {
    out.line(format!(
        "Rehearsing {} on a throwaway PostgreSQL cluster",
        cli.migrations_dir.display()
    ));
    let report = migrate_core::rehearsal::rehearse(
        &cli.migrations_dir,
        &EmbeddedOptions::default(),
        &mut |event| out.event(event),
    )?;
    let mut slowest: Vec<_> = report.deploy.applied.iter().collect();
    slowest.sort_by_key(|m| std::cmp::Reverse(m.duration));
    out.line(format!(
        "\n{BOLD}{} migration(s) applied in {}{BOLD:#} (cluster setup {}, PostgreSQL {})",
        report.deploy.applied.len(),
        human_duration(report.deploy.duration),
        human_duration(report.setup),
        report.server_major_version
    ));
    if !slowest.is_empty() {
        out.line("Slowest:");
        for m in slowest.iter().take(5) {
            out.line(format!("  {:>9}  {}", human_duration(m.duration), m.name));
        }
    }
    let check = |ok: bool, what: &str| {
        if ok {
            out.line(format!("  {GREEN}✓{GREEN:#} {what}"));
        } else {
            out.line(format!("  {RED}✗{RED:#} {what}"));
        }
    };
    check(report.status.is_up_to_date(), "status is up to date");
    check(
        report.checksum_mismatches.is_empty(),
        "every ledger checksum equals the SHA-256 of its file",
    );
    check(report.second_deploy_noop, "a second deploy is a no-op");
    Ok(Outcome {
        ok: report.passed(),
        json: json!({
            "passed": report.passed(),
            "server_major_version": report.server_major_version,
            "setup_ms": report.setup.as_secs_f64() * 1e3,
            "deploy_ms": report.deploy.duration.as_secs_f64() * 1e3,
            "migrations": report.deploy.applied.iter().map(|m| json!({
                "name": m.name,
                "duration_ms": m.duration.as_secs_f64() * 1e3,
            })).collect::<Vec<_>>(),
            "up_to_date": report.status.is_up_to_date(),
            "checksum_mismatches": report.checksum_mismatches,
            "second_deploy_noop": report.second_deploy_noop,
        }),
    })
}
