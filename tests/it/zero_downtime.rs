//! Zero-downtime releases (issue #13): the running application's statements, collected from
//! `pg_stat_statements` (extended protocol and SQL-level PREPARE) or a file, re-checked against
//! the migrated schema; `deploy --stage expand` and `--stage contract`.

use std::time::{Duration, Instant};

use migrate_core::compat::{self, BreakKind, CompatOptions, CompatReport};
use migrate_core::safety::{AnalyzerConfig, Rule};
use migrate_core::{DatabaseUrl, MigrationSource};
use migrate_tests::StatsDb;

use crate::common::{backup_dir, last_json, migrate, text, Dir};

const INIT: (&str, &str) = (
    "20240101000000_init",
    "CREATE TABLE \"User\" (\"id\" SERIAL PRIMARY KEY, \"email\" TEXT NOT NULL, \"name\" TEXT, \
     \"legacy\" TEXT);\n\
     CREATE TABLE \"Post\" (\"id\" SERIAL PRIMARY KEY, \"title\" TEXT NOT NULL, \
     \"authorId\" INTEGER NOT NULL);\n",
);

/// The old version's `application_name`.
const OLD_APP: &str = "shop-v1";

/// A database at `INIT` (deployed with the engine), with the statements of the old version of a
/// small application recorded by `pg_stat_statements`: parameterized queries over the extended
/// protocol, as Prisma sends them, and a SQL-level PREPARE/EXECUTE. Returns the old version's
/// session, still connected.
fn with_running_app(dir: &Dir) -> (StatsDb, postgres::Client) {
    let db = StatsDb::new();
    let url: DatabaseUrl = db.url.parse().unwrap();
    migrate_core::Engine::new(url, dir.path())
        .backup_dir(backup_dir())
        .deploy()
        .expect("deploying the initial migration");
    let mut app = db.app_client(OLD_APP);
    for i in 0..3 {
        let email = format!("u{i}@example.com");
        let id: i32 = app
            .query_one(
                "INSERT INTO \"public\".\"User\" (\"email\", \"name\") VALUES ($1, $2) RETURNING \"id\"",
                &[&email, &"Ada"],
            )
            .unwrap()
            .get(0);
        app.query(
            "SELECT \"id\", \"email\", \"name\", \"legacy\" FROM \"public\".\"User\" WHERE \"id\" = $1",
            &[&id],
        )
        .unwrap();
        app.execute(
            "UPDATE \"public\".\"User\" SET \"name\" = $1 WHERE \"id\" = $2",
            &[&"Grace", &id],
        )
        .unwrap();
        app.execute(
            "INSERT INTO \"public\".\"Post\" (\"title\", \"authorId\") VALUES ($1, $2)",
            &[&"hello", &id],
        )
        .unwrap();
    }
    app.batch_execute(
        "PREPARE posts_of(int) AS SELECT \"id\", \"title\" FROM \"public\".\"Post\" WHERE \"authorId\" = $1; \
         EXECUTE posts_of(1); EXECUTE posts_of(2);",
    )
    .unwrap();
    (db, app)
}

fn check(db: &StatsDb, dir: &Dir) -> (CompatReport, Vec<migrate_core::safety::Finding>) {
    let url: DatabaseUrl = db.url.parse().unwrap();
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    let pending = migrate_core::Engine::new(url.clone(), dir.path())
        .status()
        .unwrap()
        .pending;
    let report = compat::check(
        &url,
        &mut db.client(),
        &migrations,
        &pending,
        &CompatOptions::default(),
    )
    .unwrap();
    let findings = compat::findings(&report, &migrations, &AnalyzerConfig::default());
    (report, findings)
}

#[test]
fn compatible_migrations_give_no_finding() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_nickname",
        "ALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;",
    );
    dir.add(
        "20240202000000_published",
        "ALTER TABLE \"Post\" ADD COLUMN \"published\" BOOLEAN NOT NULL DEFAULT false;",
    );
    let (report, findings) = check(&db, &dir);
    assert!(report.ran, "{}", report.summary());
    // Five statements of the application: four over the extended protocol, one PREPAREd.
    assert_eq!(report.capture.statements.len(), 5, "{:#?}", report.capture);
    let prepared = report
        .capture
        .statements
        .iter()
        .find(|s| s.param_types.is_some())
        .expect("the PREPARE statement");
    assert_eq!(prepared.param_types.as_deref(), Some("(int)"));
    assert_eq!(prepared.calls, Some(2));
    assert!(
        report.capture.ignored_engine > 0,
        "the engine's own ledger statements"
    );
    assert!(
        report.failing_before.is_empty(),
        "{:?}",
        report.failing_before
    );
    assert!(report.breaks.is_empty(), "{:#?}", report.breaks);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(report.unchecked, 0);
    assert_eq!(report.migrations.len(), 2);
}

#[test]
fn dropped_and_renamed_columns_give_one_finding_each() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_drop_legacy",
        "ALTER TABLE \"User\" DROP COLUMN \"legacy\";",
    );
    dir.add(
        "20240202000000_rename_name",
        "-- the new version says fullName\nALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"fullName\";",
    );
    let (report, findings) = check(&db, &dir);
    let breaking: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == Rule::BreaksRunningQueries)
        .collect();
    assert_eq!(breaking.len(), 2, "{findings:#?}");
    let drop = breaking[0];
    assert_eq!(drop.migration, "20240201000000_drop_legacy");
    assert_eq!(drop.severity, migrate_core::safety::Severity::Error);
    assert_eq!(drop.line, 1);
    assert!(
        drop.message.contains("column \"legacy\" does not exist"),
        "{}",
        drop.message
    );
    assert!(
        drop.message.contains("\"legacy\" FROM \"public\".\"User\""),
        "{}",
        drop.message
    );
    assert!(drop.message.contains("3 call(s)"), "{}", drop.message);
    let rename = breaking[1];
    assert_eq!(rename.migration, "20240202000000_rename_name");
    assert_eq!(rename.line, 2, "the statement, below the comment");
    assert_eq!(
        rename.facts.len(),
        2,
        "the INSERT and the UPDATE: {:#?}",
        rename.facts
    );
    assert!(rename
        .facts
        .iter()
        .all(|f| f.contains("column \"name\"") && f.contains("\"User\"")));
    // The Post statements (an INSERT into an untouched table, the PREPAREd SELECT) survive.
    assert!(report.breaks.iter().all(|b| !b.statement.contains("Post")));
    assert_eq!(report.breaks.len(), 3);
    assert_eq!(report.first_breaking(), Some("20240201000000_drop_legacy"));
}

#[test]
fn an_insert_omitting_a_new_required_column_is_found_in_the_catalog() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_tenant",
        "ALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;\n\
         ALTER TABLE \"User\" ADD COLUMN \"tenant\" INTEGER NOT NULL;\n",
    );
    let (report, findings) = check(&db, &dir);
    assert_eq!(report.breaks.len(), 1, "{:#?}", report.breaks);
    let b = &report.breaks[0];
    assert_eq!(b.kind, BreakKind::MissingRequiredColumn);
    assert!(
        b.statement.starts_with("INSERT INTO \"public\".\"User\""),
        "{}",
        b.statement
    );
    assert!(b.error.contains("\"tenant\""), "{}", b.error);
    assert_eq!(b.line, 2);
    // One file, a compatible and a breaking statement: the split is shown.
    let split = findings
        .iter()
        .find(|f| f.rule == Rule::MixesCompatibleAndBreakingStatements)
        .expect("the split finding");
    assert!(split.message.contains("keep lines 1"), "{}", split.message);
    assert!(split.message.contains("move lines 2"), "{}", split.message);
    assert!(
        split.facts[1].contains("\"tenant\" INTEGER NOT NULL"),
        "{:?}",
        split.facts
    );
}

#[test]
fn a_queries_file_is_checked_and_bad_input_changes_nothing() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_drop_post_title",
        "ALTER TABLE \"Post\" DROP COLUMN \"title\";",
    );
    let queries = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        queries.path(),
        "-- calls: 40\nSELECT title FROM \"Post\" ORDER BY id LIMIT $1;\nSET statement_timeout = 0;\n",
    )
    .unwrap();
    let mut options = CompatOptions::default();
    options.pg_stat_statements = false;
    options.queries_file = Some(queries.path().to_owned());
    let url: DatabaseUrl = db.url.parse().unwrap();
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    let report = compat::check(
        &url,
        &mut db.client(),
        &migrations,
        &["20240201000000_drop_post_title".to_owned()],
        &options,
    )
    .unwrap();
    assert_eq!(report.capture.statements.len(), 1);
    assert_eq!(report.capture.ignored_utility, 1);
    assert_eq!(report.breaks.len(), 1);
    assert_eq!(report.breaks[0].calls, Some(40));
    assert!(report.breaks[0]
        .error
        .contains("column \"title\" does not exist"));

    // An unreadable file: said with its path, and nothing changed.
    let before = ledger_names(&db);
    let out = migrate(
        &db.url,
        &["deploy", "--queries", "/nonexistent/queries.sql"],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/nonexistent/queries.sql"), "{stderr}");
    assert!(!stderr.contains(&password(&db.url)), "{stderr}");
    assert_eq!(ledger_names(&db), before);
    let out = migrate(&db.url, &["deploy", "--stage", "sideways"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("sideways"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(ledger_names(&db), before);
}

#[test]
fn plan_reports_the_breaks_in_json() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_drop_legacy",
        "ALTER TABLE \"User\" DROP COLUMN \"legacy\";",
    );
    let out = migrate(&db.url, &["--json", "plan", dir.path().to_str().unwrap()]);
    // A directory given as the one path is planned from the database's pending migrations.
    let json = last_json(&out.stdout);
    assert_eq!(json["compat"]["ran"], true, "{json:#}");
    assert_eq!(
        json["compat"]["breaks"].as_array().unwrap().len(),
        1,
        "{json:#}"
    );
    let text_out = serde_json::to_string(&json).unwrap();
    assert!(text_out.contains("breaks-running-queries"), "{json:#}");
    assert!(
        !out.status.success(),
        "an unapproved error finding fails plan"
    );
    assert!(!text_out.contains(&password(&db.url)));

    // For people: the check's summary line, then the finding with the statement and the error.
    let out = migrate(&db.url, &["plan", dir.path().to_str().unwrap()]);
    let shown = text(&out.stdout);
    eprintln!("{shown}");
    assert!(
        shown.contains("backward-compatibility check: 5 running statement(s)"),
        "{shown}"
    );
    assert!(shown.contains("breaks-running-queries"), "{shown}");
    assert!(
        shown.contains("column \"legacy\" does not exist"),
        "{shown}"
    );
    assert!(!shown.contains(&password(&db.url)));
}

#[test]
fn deploy_refuses_breaks_unless_approved() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    let drop = "20240201000000_drop_legacy";
    dir.add(drop, "ALTER TABLE \"User\" DROP COLUMN \"legacy\";");
    let dir_arg = dir.path().to_str().unwrap();
    let out = migrate(&db.url, &["--migrations-dir", dir_arg, "deploy"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("breaks-running-queries"), "{stderr}");
    assert_eq!(ledger_names(&db), [INIT.0]);
    let approve = format!("{drop}:breaks-running-queries");
    // drop-column is the analyzer's own finding on the same statement.
    let approve_drop = format!("{drop}:drop-column");
    let out = migrate(
        &db.url,
        &[
            "--migrations-dir",
            dir_arg,
            "deploy",
            "--approve",
            &approve,
            "--approve",
            &approve_drop,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("backward-compatibility check: 5 running statement(s)")
            && said.contains("1 break(s)"),
        "{said}"
    );
    assert_eq!(ledger_names(&db), [INIT.0, drop]);
}

#[test]
fn expand_then_contract_waits_for_the_old_version_to_drain() {
    let dir = Dir::with(&[INIT]);
    let (db, app) = with_running_app(&dir);
    let nickname = "20240201000000_nickname";
    let drop = "20240202000000_drop_legacy";
    let index = "20240203000000_index";
    dir.add(
        nickname,
        "ALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;",
    );
    dir.add(
        drop,
        "-- migrate:approve drop-column reason: the new version no longer reads it\n\
         ALTER TABLE \"User\" DROP COLUMN \"legacy\";",
    );
    dir.add(
        index,
        "CREATE INDEX \"User_email_idx\" ON \"User\" (\"email\");",
    );
    let dir_arg = dir.path().to_str().unwrap();

    // Expand: the compatible migration only; it stops before the first breaking one.
    let out = migrate(
        &db.url,
        &[
            "--json",
            "--migrations-dir",
            dir_arg,
            "deploy",
            "--stage",
            "expand",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    assert_eq!(json["stage"], "expand");
    assert_eq!(json["applied"], serde_json::json!([nickname]), "{json:#}");
    assert_eq!(json["expand_stopped_before"][0], drop, "{json:#}");
    assert!(json["expand_stopped_before"][1]
        .as_str()
        .unwrap()
        .contains("column \"legacy\" does not exist"));
    assert_eq!(ledger_names(&db), [INIT.0, nickname]);

    // Contract while the old version is connected: refused, with the evidence.
    let contract = [
        "--migrations-dir",
        dir_arg,
        "deploy",
        "--stage",
        "contract",
        "--old-app",
        OLD_APP,
        "--drain-window",
        "0.5",
    ];
    let out = migrate(&db.url, &contract);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("has not drained"), "{stderr}");
    assert!(stderr.contains(OLD_APP), "{stderr}");
    assert!(!stderr.contains(&password(&db.url)), "{stderr}");
    assert_eq!(ledger_names(&db), [INIT.0, nickname]);

    // The old version leaves: contract applies the rest.
    drop_session(app, &db);
    let out = migrate(&db.url, &contract);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ledger_names(&db), [INIT.0, nickname, drop, index]);
}

fn drop_session(app: postgres::Client, db: &StatsDb) {
    drop(app);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let n: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&OLD_APP],
            )
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the old session did not leave");
}

fn ledger_names(db: &StatsDb) -> Vec<String> {
    let mut client = db.client();
    let exists: bool = client
        .query_one("SELECT to_regclass('_prisma_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    client
        .query(
            "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL \
             ORDER BY migration_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The password of a `postgresql://user:password@host…` URL.
fn password(url: &str) -> String {
    let credentials = url.split_once("://").unwrap().1.split_once('@').unwrap().0;
    credentials.split_once(':').unwrap().1.to_owned()
}

/// Contract watches the breaking statements' call counts: calls still growing (from a session
/// whose application_name is not the old version's, e.g. through a pooler) refuse it too; an
/// approval of the findings lets it go on anyway, with a warning.
#[test]
fn contract_refuses_while_breaking_statements_are_called_unless_approved() {
    let dir = Dir::with(&[INIT]);
    let (db, app) = with_running_app(&dir);
    drop_session(app, &db);
    let drop = "20240202000000_drop_legacy";
    dir.add(
        drop,
        "-- migrate:approve drop-column reason: the new version no longer reads it\n\
         ALTER TABLE \"User\" DROP COLUMN \"legacy\";",
    );
    let dir_arg = dir.path().to_str().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let caller = {
        let stop = stop.clone();
        let mut pooled = db.app_client("pgbouncer");
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                pooled
                    .query(
                        "SELECT \"id\", \"email\", \"name\", \"legacy\" FROM \"public\".\"User\" WHERE \"id\" = $1",
                        &[&1_i32],
                    )
                    .unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let contract = [
        "--migrations-dir",
        dir_arg,
        "deploy",
        "--stage",
        "contract",
        "--old-app",
        OLD_APP,
        "--drain-window",
        "1",
    ];
    let out = migrate(&db.url, &contract);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("has not drained"), "{stderr}");
    assert!(stderr.contains("still called"), "{stderr}");
    assert_eq!(ledger_names(&db), [INIT.0]);

    // Approved: contract goes on although the statement is still called, and says so.
    let approve = format!("{drop}:breaks-running-queries");
    let mut approved = contract.to_vec();
    approved.extend(["--approve", &approve]);
    let out = migrate(&db.url, &approved);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = caller.join();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("has not drained"), "{all}");
    assert_eq!(ledger_names(&db), [INIT.0, drop]);
}

/// Past the time budget, statements are counted as unchecked, never skipped silently, and the
/// expand stage stops before the first migration not checked.
#[test]
fn statements_not_checked_in_time_are_counted() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    dir.add(
        "20240201000000_nickname",
        "ALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;",
    );
    let url: DatabaseUrl = db.url.parse().unwrap();
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    let pending = vec!["20240201000000_nickname".to_owned()];
    let mut options = CompatOptions::default();
    options.budget = Duration::ZERO;
    let report = compat::check(&url, &mut db.client(), &migrations, &pending, &options).unwrap();
    assert!(report.ran);
    assert_eq!(report.unchecked, 5, "{}", report.summary());
    assert!(!report.migrations[0].checked);
    assert!(
        report.summary().contains("5 statement(s) NOT checked"),
        "{}",
        report.summary()
    );
    let (kept, stop) = compat::expand_cut(&report, &pending);
    assert!(kept.is_empty());
    assert!(stop.unwrap().1.contains("time budget"));

    let out = migrate(
        &db.url,
        &[
            "--migrations-dir",
            dir.path().to_str().unwrap(),
            "deploy",
            "--stage",
            "expand",
            "--compat-budget",
            "0",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("NOT checked"), "{said}");
    assert!(
        said.contains("stopped before 20240201000000_nickname"),
        "{said}"
    );
    assert_eq!(ledger_names(&db), [INIT.0]);
}

/// `--no-compat-check` skips the check (no local cluster, no finding), and is refused with a
/// stage, which stands on it.
#[test]
fn the_check_can_be_switched_off_but_not_for_a_stage() {
    let dir = Dir::with(&[INIT]);
    let (db, _app) = with_running_app(&dir);
    let drop = "20240201000000_drop_legacy";
    dir.add(drop, "ALTER TABLE \"User\" DROP COLUMN \"legacy\";");
    let dir_arg = dir.path().to_str().unwrap();
    let out = migrate(
        &db.url,
        &[
            "--migrations-dir",
            dir_arg,
            "deploy",
            "--stage",
            "expand",
            "--no-compat-check",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        ledger_names(&db),
        [INIT.0],
        "a refused command changes nothing"
    );

    let approve_drop = format!("{drop}:drop-column");
    let out = migrate(
        &db.url,
        &[
            "--migrations-dir",
            dir_arg,
            "deploy",
            "--no-compat-check",
            "--approve",
            &approve_drop,
        ],
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("breaks-running-queries"), "{said}");
    assert!(!said.contains("backward-compatibility check:"), "{said}");
    assert_eq!(ledger_names(&db), [INIT.0, drop]);
}
