//! `migrate restore BACKUP`.

use migrate_core::backup::{
    BackupProvider, BackupStore, PgDumpBackup, RestoreOptions, RestoreReport,
};
use serde_json::{json, Value};

use crate::cli::{Cli, RestoreArgs};
use crate::output::{Outcome, Output, BOLD, GREEN, YELLOW};

pub(super) fn print_restore(report: &RestoreReport, out: &Output) {
    for done in &report.recovered {
        out.line(format!("{YELLOW}Interrupted restore:{YELLOW:#} {done}"));
    }
    out.result(format!(
        "{GREEN}Restored{GREEN:#} {} from {} in {BOLD}{:.1}s{BOLD:#} (RTO)",
        report.database,
        report.backup,
        report.duration.as_secs_f64()
    ));
    for (phase, secs) in &report.phases {
        out.line(format!("  {phase}: {secs:.1}s"));
    }
    if let Some(replay) = &report.replay {
        out.line(format!(
            "{GREEN}Kept{GREEN:#}: {} change(s) of {} transaction(s) written to the restored tables \
             after the backup, replayed from replication slot {} ({} of the deployment's own left out)",
            replay.changes, replay.transactions, replay.slot, replay.deployment
        ));
        for r in &replay.reconcile {
            out.line(format!(
                "  {YELLOW}to reconcile{YELLOW:#} {}: {} not replayed, {} replayed with a note: {}",
                r.table,
                r.not_replayed,
                r.replayed_with_notes,
                r.file.display()
            ));
        }
    } else if report.lost.is_empty() {
        out.line("Nothing was written after the backup.");
    } else {
        out.line(format!(
            "{YELLOW}Lost (written after the backup):{YELLOW:#}"
        ));
        for t in &report.lost {
            let was = t
                .rows_at_backup
                .map_or("created after the backup".to_owned(), |n| {
                    format!("{n} rows at backup")
                });
            let writes = t
                .writes_since_backup
                .map_or(String::new(), |w| format!(", ~{w} writes since"));
            out.line(format!(
                "  {}.{}: {} rows before the restore, {was}{writes}",
                t.schema, t.table, t.rows_before_restore
            ));
        }
    }
    if let Some(previous) = &report.previous_database {
        out.line(format!(
            "The replaced database is kept, read-only, as {previous}."
        ));
    }
}

pub(super) fn restore_json(report: &RestoreReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

pub(super) fn run(cli: &Cli, args: &RestoreArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let store = BackupStore::new(&args.dir.backup_dir);
    let provider = PgDumpBackup::default();
    let backup = provider.find(&store, &args.backup)?;
    out.line(format!(
        "Restoring {} (taken {}) into {}",
        backup.id(),
        backup.manifest.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        engine.url()
    ));
    super::confirm(
        cli,
        &format!(
            "Replace database {} with backup {}? Everything written since is lost and sessions are ended",
            engine.url().database(),
            backup.id()
        ),
    )?;
    let mut options = RestoreOptions::default();
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    options.keep_previous = !args.drop_previous;
    let report = provider.restore(&backup, engine.url(), &options)?;
    print_restore(&report, out);
    Ok(Outcome::ok(json!({ "restore": restore_json(&report) })))
}
