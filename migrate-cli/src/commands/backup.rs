//! `migrate backup create|list|verify|prune`.

use std::time::Duration;

use migrate_core::backup::{
    progress_events, Backup, BackupFormat, BackupProvider, BackupStore, PgDumpBackup,
    PgDumpOptions, Retention, Scratch, VerifyLevel, VerifyOptions, VerifyReport,
};
use migrate_core::config::{ConfigFile, CONFIG_FILE};
use serde_json::{json, Value};

use crate::cli::{
    BackupArgs, BackupCommand, BackupCreateArgs, BackupPruneArgs, BackupVerifyArgs, Cli,
};
use crate::output::{Outcome, Output, BOLD, DIM, GREEN, RED};

pub(super) fn run(cli: &Cli, args: &BackupArgs, out: &Output) -> anyhow::Result<Outcome> {
    let store = BackupStore::new(&args.dir.backup_dir);
    match &args.command {
        BackupCommand::Create(create) => run_create(cli, create, &store, out),
        BackupCommand::List => run_list(&store, out),
        BackupCommand::Verify(verify) => run_verify(cli, verify, &store, out),
        BackupCommand::Prune(prune) => run_prune(prune, &store, out),
    }
}

/// The manifest as JSON, with the file's path beside it.
pub(super) fn backup_json(backup: &Backup) -> Value {
    let mut value = serde_json::to_value(&backup.manifest).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("path".into(), json!(backup.path()));
        map.insert("manifest_path".into(), json!(backup.manifest_path()));
    }
    value
}

pub(super) fn report_json(report: &VerifyReport) -> Value {
    json!({
        "backup": report.backup,
        "level": report.level,
        "passed": report.passed(),
        "checks": report.checks,
    })
}

pub(super) fn print_report(report: &VerifyReport, out: &Output) {
    for check in &report.checks {
        let mark = if check.passed {
            format!("{GREEN}✓{GREEN:#}")
        } else {
            format!("{RED}✗{RED:#}")
        };
        out.line(format!(
            "  {mark} L{} {} {DIM}{}{DIM:#}",
            check.level, check.name, check.detail
        ));
    }
}

fn run_create(
    cli: &Cli,
    args: &BackupCreateArgs,
    store: &BackupStore,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let engine = super::engine(cli, out)?;
    let provider = PgDumpBackup::new(PgDumpOptions {
        format: if args.plain {
            BackupFormat::PlainGzip
        } else {
            BackupFormat::Custom
        },
        compression: args.compress,
        bin_dir: None,
    });
    out.line(format!(
        "Backing up {} into {}",
        engine.url(),
        store.dir().display()
    ));
    let mut on_event = |event: &migrate_core::event::Event| out.event(event);
    let mut progress = progress_events(Duration::from_secs(2), &mut on_event);
    let backup = if args.scope == "pending" {
        let request = engine.pending_scope()?;
        provider.backup_scoped(engine.url(), store, &request, &mut progress)?
    } else {
        provider.backup_observed(engine.url(), store, &mut progress)?
    };
    drop(progress);
    if let Some(scope) = &backup.manifest.scope {
        for t in &scope.covered {
            out.line(format!(
                "  covers {} ({} rows, digest {}): {}",
                t.qualified(),
                t.rows,
                t.digest,
                t.reasons.join(", ")
            ));
        }
        out.line(format!(
            "  the data of {} other table(s) left out",
            scope.excluded.len()
        ));
    }
    let m = &backup.manifest;
    out.result(format!(
        "{BOLD}{}{BOLD:#} {} ({} bytes, {} tables, {} applied migrations)",
        m.id,
        backup.path().display(),
        m.digests.bytes,
        m.state.tables.len(),
        m.ledger.len()
    ));
    out.line(format!("  sha256 {}", m.digests.sha256));
    let mut json = backup_json(&backup);
    let mut ok = true;
    if args.verify_level > 0 {
        let level: VerifyLevel = args
            .verify_level
            .to_string()
            .parse()
            .map_err(anyhow::Error::msg)?;
        let report = provider.verify(&backup, level, &VerifyOptions::default())?;
        print_report(&report, out);
        ok = report.passed();
        if let Value::Object(map) = &mut json {
            map.insert("verification".into(), report_json(&report));
        }
    }
    Ok(Outcome { ok, json })
}

fn run_list(store: &BackupStore, out: &Output) -> anyhow::Result<Outcome> {
    let backups = store.list()?;
    if backups.is_empty() {
        out.result(format!("No backups in {}", store.dir().display()));
    }
    for b in &backups {
        let m = &b.manifest;
        out.result(format!(
            "{}  {}  {:>12} bytes  {}  last migration: {}",
            m.id,
            m.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            m.digests.bytes,
            m.database,
            m.ledger.last().map_or("-", |e| e.migration_name.as_str())
        ));
    }
    Ok(Outcome::ok(json!({
        "backups": backups.iter().map(backup_json).collect::<Vec<_>>(),
    })))
}

fn run_verify(
    cli: &Cli,
    args: &BackupVerifyArgs,
    store: &BackupStore,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let provider = PgDumpBackup::default();
    let backup = provider.find(store, &args.backup)?;
    let level: VerifyLevel = args.level.to_string().parse().map_err(anyhow::Error::msg)?;
    let mut options = VerifyOptions::default();
    if args.scratch_on_server {
        options.scratch = Scratch::Server(Box::new(super::engine(cli, out)?.url().clone()));
    }
    out.line(format!("Verifying {} at level {}", backup.id(), args.level));
    let report = provider.verify(&backup, level, &options)?;
    print_report(&report, out);
    if report.passed() {
        out.result(format!("{GREEN}All checks passed.{GREEN:#}"));
    } else {
        out.result(format!("{RED}Verification failed.{RED:#}"));
    }
    Ok(Outcome {
        ok: report.passed(),
        json: report_json(&report),
    })
}

fn run_prune(args: &BackupPruneArgs, store: &BackupStore, out: &Output) -> anyhow::Result<Outcome> {
    let retention = match (args.keep, args.max_age_days) {
        (None, None) => configured_retention(args)?,
        (keep_last, days) => Retention {
            keep_last,
            max_age: days.map(max_age).transpose()?,
        },
    };
    if args.dry_run {
        let would = store.prunable_now(&retention)?;
        for b in &would {
            out.result(format!(
                "would remove {}  {}",
                b.id(),
                b.manifest.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        out.result(format!(
            "Dry run: {} backup(s) of {} would be removed; nothing was deleted.",
            would.len(),
            store.dir().display()
        ));
        let ids: Vec<&str> = would.iter().map(Backup::id).collect();
        return Ok(Outcome::ok(
            json!({ "dry_run": true, "would_remove": ids, "removed": [] }),
        ));
    }
    let removed = store.prune_now(&retention)?;
    for id in &removed {
        out.line(format!("removed {id}"));
    }
    out.result(format!("{} backup(s) removed", removed.len()));
    Ok(Outcome::ok(json!({ "dry_run": false, "removed": removed })))
}

fn max_age(days: f64) -> anyhow::Result<Duration> {
    if days.is_finite() && days >= 0.0 {
        Ok(Duration::from_secs_f64(days * 86400.0))
    } else {
        anyhow::bail!("--max-age-days must be a number of days >= 0, got {days}")
    }
}

/// The `retention` of the config file (of `--env` when given): what the deployments prune by.
fn configured_retention(args: &BackupPruneArgs) -> anyhow::Result<Retention> {
    let path = args.config.clone().unwrap_or_else(|| CONFIG_FILE.into());
    let file = ConfigFile::load(&path)?;
    let retention = match &file {
        Some(file) => file.retention_of(args.env.as_deref(), &path)?,
        None if args.env.is_some() => anyhow::bail!("{} not found", path.display()),
        None => None,
    };
    retention.ok_or_else(|| {
        anyhow::anyhow!(
            "nothing to prune by: give --keep N or --max-age-days DAYS, or set `retention = {{ keep = N, max_age_days = D }}` in {}",
            path.display()
        )
    })
}
