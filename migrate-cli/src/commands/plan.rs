//! `migrate plan`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use migrate_core::compat::{CompatOptions, CompatReport};
use migrate_core::safety::report::{self, Format, Sources};
use migrate_core::safety::{DefaultAnalyzer, Rule, SafetyGate, Scope, Severity};
use migrate_core::source::{changed_since, Migrations};
use migrate_core::Engine;

use crate::cli::{Cli, PlanArgs};
use crate::output::{Outcome, Output};

pub(super) fn run(cli: &Cli, args: &PlanArgs, out: &Output) -> anyhow::Result<Outcome> {
    if args.list_rules {
        return Ok(list_rules(out));
    }
    let format: Format = if cli.json {
        Format::Json
    } else {
        args.format.parse().map_err(anyhow::Error::msg)?
    };
    let fail_on: Severity = args.fail_on.parse().map_err(anyhow::Error::msg)?;
    let shown_from: Severity = args.min_severity.parse().map_err(anyhow::Error::msg)?;
    // `migrate plan prisma/migrations`: a migrations root given as the one path is the
    // directory to plan, not a migration of the default one.
    let root = match args.paths.as_slice() {
        [path] if is_migrations_root(path) => Some(path.clone()),
        _ => None,
    };
    let dir = root.clone().unwrap_or_else(|| cli.migrations_dir());
    // A bad --queries path is said before any database work.
    if let Some(path) = &args.queries {
        migrate_core::compat::read_queries_file(path)?;
    }
    let mut compat = CompatOptions::default();
    compat.enabled = !args.no_compat_check;
    compat.queries_file.clone_from(&args.queries);
    compat.budget = std::time::Duration::try_from_secs_f64(args.compat_budget).map_err(|_| {
        anyhow::anyhow!(
            "--compat-budget {}: not a number of seconds",
            args.compat_budget
        )
    })?;
    let engine = match args.offline {
        false => super::database_url(cli, out)?
            .map(|url| super::engine_for(cli, &url, out, &dir).map(|e| e.compat(compat)))
            .transpose()?,
        true => None,
    };
    let migrations = migrate_core::MigrationSource::new(&dir).load()?;
    let (scope, mut extra) = if root.is_some() {
        (None, migrate_core::safety::SafetyReport::default())
    } else {
        scope(cli, args, &migrations)?
    };
    let (mut review, offline_because, compat) = match engine {
        Some(engine) => live_review(&engine, scope, &migrations)?,
        None => (
            SafetyGate::default().review(&migrations, &scope.unwrap_or_else(Scope::all), None)?,
            None,
            None,
        ),
    };
    review.report.migrations.append(&mut extra.migrations);
    // Failing is judged on every finding; showing only from --min-severity on.
    let failing = review
        .report
        .findings()
        .any(|f| f.severity >= fail_on && f.approved_by.is_none());
    for analysis in &mut review.report.migrations {
        analysis.findings.retain(|f| f.severity >= shown_from);
    }

    let path_of = |name: &str| -> String {
        let in_dir = dir.join(name).join("migration.sql");
        if in_dir.exists() {
            in_dir.display().to_string()
        } else {
            name.to_owned()
        }
    };
    let text_of = |name: &str| -> Option<String> {
        migrations
            .get(name)
            .and_then(|m| m.script())
            .map(|s| s.text().to_owned())
            .or_else(|| std::fs::read_to_string(name).ok())
    };
    // What the backup before deploying these would hold (default mode, as `deploy` takes it).
    let reviewed: Vec<String> = review
        .report
        .migrations
        .iter()
        .map(|m| m.migration.clone())
        .filter(|name| migrations.get(name).is_some())
        .collect();
    let backup = migrate_core::backup::BackupPlan::of(
        &migrations,
        &reviewed,
        migrate_core::backup::BackupMode::default(),
    );
    let sources = Sources {
        path: &path_of,
        text: &text_of,
    };
    if cli.json {
        let mut json = report::to_json(&review.report, &review.approvals);
        json["offline_because"] = serde_json::json!(offline_because);
        json["compat"] = serde_json::to_value(&compat)?;
        json["backup"] = serde_json::to_value(&backup)?;
        return Ok(Outcome { ok: !failing, json });
    }
    let rendered = report::render(&review.report, &review.approvals, &sources, format);
    if let Some(why) = &offline_because {
        // Said first: every fact below lacks the database's data.
        println!("Database not reachable ({why}): analysed offline, without live data facts.\n");
    }
    if format == Format::Human {
        match &compat {
            Some(compat) => println!("{}\n", compat.summary()),
            None if args.queries.is_some() => println!(
                "backward-compatibility check not run: it needs the database (the schema to copy)\n"
            ),
            None => {}
        }
    }
    let table = report::migration_table(&review.report);
    if format == Format::Human && !table.is_empty() {
        println!("{}\n", table.trim_end());
    }
    if format == Format::Human && !reviewed.is_empty() {
        println!("{backup}\n");
    }
    println!("{}", rendered.trim_end());
    Ok(Outcome {
        ok: !failing,
        json: serde_json::Value::Null,
    })
}

/// What `live_review` found: the review, why it was offline, the backward-compatibility check.
type LiveReview = (
    migrate_core::safety::SafetyReview,
    Option<String>,
    Option<CompatReport>,
);

/// Reviews with the database: the pending migrations (unless the scope was given), with live
/// facts and the backward-compatibility check of the pending migrations. An unreachable
/// database falls back to the offline analysis of every migration, and says why.
fn live_review(
    engine: &Engine,
    scope: Option<Scope>,
    migrations: &Migrations,
) -> anyhow::Result<LiveReview> {
    let mut client = match migrate_core::connection::connect(engine.url()) {
        Ok(client) => client,
        Err(e) => {
            let review = SafetyGate::default().review(
                migrations,
                &scope.unwrap_or_else(Scope::all),
                None,
            )?;
            return Ok((review, Some(e.to_string()), None));
        }
    };
    let pending = engine.status()?.pending;
    let scope = scope.unwrap_or_else(|| Scope::pending(pending.clone()));
    let (review, compat) = engine.review_compat(scope, &pending, &mut client)?;
    Ok((review, None, Some(compat)))
}

/// A directory of migration directories (or with Prisma's `migration_lock.toml`), not a
/// migration itself.
fn is_migrations_root(path: &Path) -> bool {
    path.is_dir()
        && !path.join("migration.sql").exists()
        && (path.join("migration_lock.toml").exists()
            || std::fs::read_dir(path).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().join("migration.sql").is_file())
            }))
}

/// The analysis scope from the arguments; paths outside the migrations directory are analysed
/// on their own and returned as an extra report.
fn scope(
    cli: &Cli,
    args: &PlanArgs,
    migrations: &Migrations,
) -> anyhow::Result<(Option<Scope>, migrate_core::safety::SafetyReport)> {
    let mut extra = migrate_core::safety::SafetyReport::default();
    if let Some(rev) = &args.since {
        let names = changed_since(&cli.migrations_dir(), rev)?;
        return Ok((Some(Scope::pending(names)), extra));
    }
    if args.paths.is_empty() {
        return Ok((None, extra));
    }
    let mut names = Vec::new();
    for path in &args.paths {
        match migration_name(path, migrations) {
            Some(name) => names.push(name),
            None if path.is_dir() => {
                let dir_migrations = migrate_core::MigrationSource::new(path).load()?;
                let analyzer = DefaultAnalyzer::default();
                let report = migrate_core::safety::SafetyAnalyzer::analyze(
                    &analyzer,
                    &dir_migrations,
                    &Scope::all(),
                );
                extra.migrations.extend(report.migrations);
            }
            None => {
                let sql = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let analysis =
                    DefaultAnalyzer::default().analyze_sql(&path.display().to_string(), &sql);
                extra.migrations.push(analysis);
            }
        }
    }
    Ok((
        Some(Scope {
            targets: Some(names.into_iter().collect()),
            ..Scope::all()
        }),
        extra,
    ))
}

/// The migration a path designates (its directory or its `migration.sql`), when it is one of
/// the directory's.
fn migration_name(path: &Path, migrations: &Migrations) -> Option<String> {
    let dir: PathBuf = if path.file_name().is_some_and(|f| f == "migration.sql") {
        path.parent()?.to_owned()
    } else {
        path.to_owned()
    };
    let name = dir.file_name()?.to_str()?;
    migrations.get(name).map(|m| m.name().to_owned())
}

fn list_rules(out: &Output) -> Outcome {
    let rules: Vec<serde_json::Value> = Rule::ALL
        .iter()
        .map(|r| {
            out.result(format!(
                "{:<40} {:<8} stage {}  {}",
                r.name(),
                r.default_severity(),
                r.stage() as u8,
                r.help()
            ));
            serde_json::json!({
                "rule": r.name(),
                "severity": r.default_severity(),
                "stage": r.stage() as u8,
                "data_loss": r.data_loss(),
                "help": r.help(),
            })
        })
        .collect();
    Outcome::ok(serde_json::json!({ "rules": rules }))
}
