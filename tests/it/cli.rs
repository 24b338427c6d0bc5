//! The `migrate` binary: JSON output, exit codes, confirmations, secrets.

use migrate_tests::TestDb;
use serde_json::Value;

use crate::common::{migrate, rows, table_exists, text, Dir};

fn json(out: &std::process::Output) -> Value {
    crate::common::last_json(&out.stdout)
}

#[test]
fn status_and_deploy_json_with_exit_codes() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        ("20240102000000_b", "CREATE TABLE b (id int);"),
    ]);
    let d = dir.path().to_str().unwrap();

    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let status = json(&out);
    assert_eq!(status["up_to_date"], false);
    assert_eq!(
        status["pending"],
        serde_json::json!(["20240101000000_a", "20240102000000_b"])
    );
    for key in ["applied", "failed", "modified", "missing_locally"] {
        assert!(status[key].as_array().unwrap().is_empty(), "{key}");
    }

    let out = migrate(&db.url, &["deploy", "--json", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["applied"].as_array().unwrap().len(), 2);

    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["up_to_date"], true);

    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("No pending migrations to apply."),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn failed_migration_exits_1_and_resolve_recovers() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_bad", "SELECT * FROM nowhere;")]);
    let d = dir.path().to_str().unwrap();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // The pipeline rolled the failed attempt back (PostgreSQL had undone it): it is pending
    // again, not failed, and the error says what to do, not Prisma's resolve (nothing to
    // resolve).
    assert!(stderr.contains("P3018"), "{stderr}");
    assert!(
        stderr.contains("rolled back 1 migration(s) by transactional")
            && stderr.contains("fix the cause and deploy again"),
        "{stderr}"
    );
    assert!(!stderr.contains("resolve --rolled-back"), "{stderr}");
    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    let status = json(&out);
    assert_eq!(status["failed"], serde_json::json!([]));
    assert_eq!(status["pending"], serde_json::json!(["20240101000000_bad"]));

    // Without the pipeline's rollback (report only), the failed row stays, as with Prisma,
    // and so does Prisma's advice.
    let out = migrate(
        &db.url,
        &["deploy", "--no-auto-rollback", "--migrations-dir", d],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("migrate resolve --rolled-back 20240101000000_bad"),
        "{stderr}"
    );
    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    assert_eq!(
        json(&out)["failed"],
        serde_json::json!(["20240101000000_bad"])
    );

    dir.add("20240101000000_bad", "SELECT 1;");
    let out = migrate(
        &db.url,
        &[
            "resolve",
            "--rolled-back",
            "20240101000000_bad",
            "--migrations-dir",
            d,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn baseline_needs_a_confirmation_that_is_never_assumed() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE a (id int)")
        .unwrap();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let d = dir.path().to_str().unwrap();

    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("P3005"));

    let out = migrate(&db.url, &["baseline", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(
        !table_exists(&db, "_prisma_migrations"),
        "declined: nothing changed"
    );

    let out = migrate(&db.url, &["baseline", "--yes", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(rows(&db).len(), 1);
    let out = migrate(&db.url, &["status", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_urls_and_wrong_passwords_exit_2_without_leaking_the_password() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let d = dir.path().to_str().unwrap();
    let wrong = db.url.replacen(
        &format!(":{}@", migrate_tests::cluster().password()),
        ":Wr0ngSecretPassw0rd@",
        1,
    );
    assert_ne!(wrong, db.url);
    for (url, needle) in [
        (wrong.as_str(), "password authentication failed"),
        ("mysql://u:Wr0ngSecretPassw0rd@h/db", "scheme"),
        (
            "postgresql://u:Wr0ngSecretPassw0rd@127.0.0.1:1/db?connect_timeout=2",
            "cannot connect",
        ),
    ] {
        for args in [vec!["deploy"], vec!["status", "--json"]] {
            let mut args = args.clone();
            args.extend(["--migrations-dir", d]);
            let out = migrate(url, &args);
            assert_eq!(out.status.code(), Some(2), "{url} {args:?}");
            let all = text(&out.stdout) + &text(&out.stderr);
            assert!(all.contains(needle), "{all}");
            assert!(
                !all.contains("Wr0ngSecretPassw0rd"),
                "password leaked: {all}"
            );
        }
    }
    let out = migrate("", &["status", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("DATABASE_URL"));

    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", "/nonexistent/migrations"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/migrations"));
}

#[test]
fn rehearse_profiles_drills_a_rollback_and_deploys() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/blog/migrations");
    let out = migrate("", &["rehearse", "--json", "--migrations-dir", fixture]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["passed"], true);
    assert_eq!(report["drill"]["state_restored"], true);
    assert_eq!(report["drill"]["strategy"], "restore");
    assert_eq!(report["pipeline"]["applied"].as_array().unwrap().len(), 4);
    let init = &report["profile"][0];
    assert_eq!(init["name"], "20240101000000_init");
    let locks = init["statements"][0]["locks"].as_array().unwrap();
    assert!(
        locks.iter().any(|l| l == "User: AccessExclusiveLock"),
        "{locks:?}"
    );
}

#[test]
fn rehearse_from_a_backup_runs_the_pending_migrations_on_its_data_and_leaves_the_source_alone() {
    let (db, dir) = crate::backup::seeded_db();
    let backups = crate::common::backup_dir();
    let b = backups.to_str().unwrap();
    let out = migrate(&db.url, &["backup", "create", "--json", "--backup-dir", b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let manifest = json(&out)["manifest_path"].as_str().unwrap().to_owned();
    dir.add(
        "20240102000000_flag",
        "ALTER TABLE post ADD COLUMN flagged boolean;\nUPDATE post SET flagged = score > 1000;",
    );
    let out = migrate(
        "",
        &[
            "rehearse",
            "--json",
            "--from-backup",
            &manifest,
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["passed"], true, "{report}");
    // Only the new migration: the backup's ledger came along with its data.
    assert_eq!(
        report["pipeline"]["applied"],
        serde_json::json!(["20240102000000_flag"])
    );
    assert_eq!(report["drill"]["state_restored"], true);
    let update = &report["profile"][0]["statements"][1];
    assert_eq!(update["line"], 2, "{update}");
    // The source database was only read.
    let columns: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'flagged'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 0);
}

#[test]
fn the_password_never_reaches_events_or_the_journal() {
    let db = TestDb::new();
    let password = migrate_tests::cluster().password().to_owned();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        ("20240102000000_bad", "SELECT * FROM nowhere;"),
    ]);
    let events = tempfile::NamedTempFile::new().unwrap();
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--json",
            "--events",
            events.path().to_str().unwrap(),
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let ndjson = std::fs::read_to_string(events.path()).unwrap();
    assert!(ndjson.lines().count() > 5, "{ndjson}");
    let journal: String = db
        .client()
        .query(
            "SELECT row_to_json(d)::text FROM _migrate.deployments d",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    assert!(
        journal.contains("nowhere"),
        "the failure is journaled: {journal}"
    );
    for (what, content) in [
        ("events", &ndjson),
        ("journal", &journal),
        ("stdout", &text(&out.stdout)),
        ("stderr", &text(&out.stderr)),
    ] {
        assert!(!content.contains(&password), "password leaked into {what}");
    }
}

/// On a terminal, `deploy` asks about exactly what the gate would refuse, with the database's
/// facts: into a database that does not exist yet, it creates it (as without a terminal) and a
/// drop of an absent table needs no approval, so nothing is asked.
#[test]
fn deploy_on_a_terminal_creates_a_missing_database_and_asks_nothing_needless() {
    let db = TestDb::new();
    let url = db.url.replace(&db.name, &format!("{}_new", db.name));
    let dir = Dir::with(&[(
        "20240101000000_init",
        "DROP TABLE IF EXISTS \"Ghost\";\nCREATE TABLE \"A\" (id int);\n",
    )]);
    let out = deploy_on_a_terminal(&url, &dir);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("Approve these"), "nothing to approve: {all}");
    assert!(all.contains("20240101000000_init"), "{all}");
}

/// The prompt names the target first and shows the gate's own findings with their data facts.
#[test]
fn the_terminal_prompt_names_the_target_and_shows_the_data_facts() {
    let db = TestDb::new();
    let dir = Dir::with(&[(
        "20240101000000_init",
        "CREATE TABLE \"User\" (id int, legacy text);\n",
    )]);
    migrate(
        &db.url,
        &[
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    db.client()
        .batch_execute("INSERT INTO \"User\" VALUES (1, 'kept'), (2, 'kept')")
        .unwrap();
    dir.add(
        "20240102000000_drop",
        "ALTER TABLE \"User\" DROP COLUMN \"legacy\";\n",
    );
    let out = deploy_on_a_terminal(&db.url, &dir);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let datasource = all.find("Datasource:").expect("the target is named");
    let question = all
        .find("Approve these 1 ")
        .expect("one finding is asked about");
    assert!(
        datasource < question,
        "target named before the question: {all}"
    );
    assert!(all.contains("2 non-null values"), "the data facts: {all}");
    assert_ne!(
        out.status.code(),
        Some(0),
        "no answer, no deployment: {all}"
    );
    let kept: i64 = db
        .client()
        .query_one("SELECT count(legacy) FROM \"User\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 2, "the column and its values are still there");

    let out = answered_on_a_terminal(&db.url, &dir, Some("n"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "declined: the gate refuses: {all}"
    );
    let out = answered_on_a_terminal(&db.url, &dir, Some("y"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "approved: applied: {all}");
    let left: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'legacy'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the approved drop ran");
}

/// On a terminal, a live line says where the deployment is: `[n/N]`, the migration running,
/// its running time and an estimate for the rest; without a terminal, plain lines only.
#[test]
fn a_terminal_shows_live_progress_and_a_pipe_plain_lines() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        (
            "20240101000000_a",
            "CREATE TABLE a (id int); SELECT pg_sleep(0.3);",
        ),
        (
            "20240102000000_b",
            "CREATE TABLE b (id int); SELECT pg_sleep(0.3);",
        ),
    ]);
    let out = deploy_on_a_terminal(&db.url, &dir);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("[1/2] 20240102000000_b (running") && shown.contains("all done in about"),
        "{shown}"
    );

    dir.add("20240103000000_c", "CREATE TABLE c (id int);");
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let plain = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !plain.contains("[1/1]") && !plain.contains('\u{1b}'),
        "{plain}"
    );
}

/// `migrate deploy --dangerous-no-backup` of `dir` into `url` on a pseudo-terminal (`script`
/// from util-linux), as a person's shell runs it; nobody answers a question.
fn deploy_on_a_terminal(url: &str, dir: &Dir) -> std::process::Output {
    answered_on_a_terminal(url, dir, None)
}

/// The same, typing `answer` (the terminal holds it until the question reads it).
fn answered_on_a_terminal(url: &str, dir: &Dir, answer: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let command = format!(
        "{} deploy --dangerous-no-backup --migrations-dir {}",
        crate::common::migrate_bin().display(),
        dir.path().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(answer) = answer {
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// `migrate plan <migrations root>` plans that directory; a table per migration comes first;
/// `--min-severity` hides the lesser findings (the exit code still counts them); an unreachable
/// database is said at the top.
#[test]
fn plan_takes_a_migrations_root_and_says_first_when_it_is_offline() {
    let dir = Dir::with(&[
        (
            "20240101000000_init",
            "CREATE TABLE t (id int, legacy text);",
        ),
        (
            "20240102000000_drop",
            "ALTER TABLE t DROP COLUMN legacy;\nCREATE TABLE n (v varchar(20));",
        ),
    ]);
    let root = dir.path().to_str().unwrap();
    let unreachable = "postgresql://app:s3cret-pw@127.0.0.1:1/app";
    let out = migrate(unreachable, &["plan", root, "--min-severity", "error"]);
    let shown = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error finding: {shown}{}",
        text(&out.stderr)
    );
    assert!(
        shown.starts_with("Database not reachable (") && shown.contains("analysed offline"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret-pw") && !text(&out.stderr).contains("s3cret-pw"));
    let table = shown.find("strongest lock").expect("the table");
    let detail = shown.find("error[drop-column]").expect("the finding");
    assert!(table < detail, "{shown}");
    assert!(!shown.contains("info["), "info hidden: {shown}");
    assert!(!shown.contains("warning["), "warnings hidden: {shown}");

    let out = migrate(unreachable, &["plan", root, "--json"]);
    let json = crate::common::last_json(&out.stdout);
    assert!(json["offline_because"].is_string(), "{json}");
}
