//! The `migrate` binary: JSON output, exit codes, confirmations, secrets.

use migrate_tests::TestDb;
use serde_json::Value;

use crate::common::{migrate, migrate_in, project, rows, table_exists, text, Dir};

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

/// Prisma users keep `DATABASE_URL` in `.env` (or `prisma/.env`): it is read from there, the
/// file is named, the password never shown; a real environment variable wins; the two files
/// disagreeing is an error naming both.
#[test]
fn database_url_comes_from_dot_env_files_as_prisma_reads_them() {
    let db = TestDb::new();
    let password = migrate_tests::cluster().password().to_owned();
    let project = project(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let root = project.path();
    let env_line = format!("DATABASE_URL=\"{}\"\n", db.url);
    let no_password = |out: &std::process::Output| {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(&password), "password shown: {all}");
        all
    };

    // Nowhere: the usual error.
    let out = migrate_in(root, &[], &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("DATABASE_URL"),
        "{}",
        text(&out.stderr)
    );

    // prisma/.env, next to schema.prisma.
    std::fs::write(root.join("prisma/.env"), &env_line).unwrap();
    let out = migrate_in(root, &[], &["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Environment variables loaded from prisma/.env"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("20240101000000_a"));
    no_password(&out);
    // With --json, stdout stays one object and nothing is said.
    let out = migrate_in(root, &[], &["status", "--json"]);
    assert_eq!(json(&out)["pending"][0], "20240101000000_a");
    assert!(!text(&out.stderr).contains("loaded from"));

    // Both files with the same value: fine, the root one is named.
    std::fs::write(root.join(".env"), format!("# app\nexport {env_line}")).unwrap();
    let out = migrate_in(root, &[], &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Environment variables loaded from .env"),
        "{}",
        text(&out.stderr)
    );
    no_password(&out);
    assert!(table_exists(&db, "a"));

    // Different values: an error naming the variable and both files, no value shown.
    let other = db.url.replace(&db.name, "another_database");
    std::fs::write(root.join(".env"), format!("DATABASE_URL={other}\n")).unwrap();
    for command in ["status", "deploy"] {
        let out = migrate_in(root, &[], &[command]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let all = no_password(&out);
        assert!(
            all.contains("DATABASE_URL") && all.contains(".env") && all.contains("prisma/.env"),
            "{all}"
        );
        assert!(!all.contains("another_database"), "{all}");
    }

    // A real environment variable wins over both files, and no file is named.
    let out = migrate_in(root, &[("DATABASE_URL", db.url.as_str())], &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("loaded from"),
        "{}",
        text(&out.stderr)
    );
}

/// `--health-cmd` is split with shell quoting: a quoted `sh -c` script with a quoted header
/// reaches the shell as one argument; an unclosed quote is an error before anything runs.
#[test]
fn health_cmd_words_follow_shell_quoting() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let d = dir.path().to_str().unwrap();
    let seen = tempfile::tempdir().unwrap();
    let file = seen.path().join("header");
    let cmd = format!(
        r#"sh -c 'printf %s "Authorization: Bearer x" > "$0"' {}"#,
        file.display()
    );
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", d, "--health-cmd", &cmd],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "Authorization: Bearer x"
    );

    let db = TestDb::new();
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--migrations-dir",
            d,
            "--health-cmd",
            "sh -c 'curl -H \"Authorization: Bearer secret7\"",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("quote is not closed"), "{stderr}");
    assert!(!stderr.contains("secret7"), "{stderr}");
    assert!(!table_exists(&db, "a"));
}

/// An `--approve` naming no migration of the directory (a typo) is an error, exit 2, naming
/// it; nothing is applied.
#[test]
fn approving_an_unknown_migration_is_an_error_that_changes_nothing() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        ("20240102000000_b", "CREATE TABLE b (id int);"),
    ]);
    let d = dir.path().to_str().unwrap();
    for json_mode in [false, true] {
        let mut args = vec![
            "deploy",
            "--migrations-dir",
            d,
            "--approve",
            "20240101000000_a",
            "--approve",
            "20240102000000_bb:drop-table",
        ];
        if json_mode {
            args.push("--json");
        }
        let out = migrate(&db.url, &args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let message = if json_mode {
            let error = json(&out)["error"].clone();
            assert_eq!(error["exit_code"], 2);
            error["message"].as_str().unwrap().to_owned()
        } else {
            text(&out.stderr)
        };
        assert!(message.contains("20240102000000_bb"), "{message}");
        assert!(!message.contains("20240101000000_a,"), "{message}");
        assert!(message.contains("nothing was changed"), "{message}");
        assert!(!table_exists(&db, "a") && !table_exists(&db, "b"));
    }
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--migrations-dir",
            d,
            "--approve",
            "20240102000000_b",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Without `-v`, no log lines (warnings are said for people); `--quiet` prints only the
/// result, and errors.
#[test]
fn no_log_lines_without_verbose_and_quiet_prints_only_the_result() {
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let d = dir.path().to_str().unwrap();
    let unreachable = "postgresql://u:pw@127.0.0.1:1/db?connect_timeout=2";
    let out = migrate(unreachable, &["plan", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        text(&out.stdout).starts_with("Database not reachable"),
        "said first: {}",
        text(&out.stdout)
    );
    assert!(
        !stderr.contains("WARN") && !stderr.contains("migrate_cli::"),
        "{stderr}"
    );

    let db = TestDb::new();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains(" INFO ")
            && !stderr.contains(" WARN ")
            && !stderr.contains("migrate_core::"),
        "{stderr}"
    );

    let db = TestDb::new();
    let out = migrate(&db.url, &["deploy", "--quiet", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].starts_with("All migrations have been successfully applied"),
        "{stdout}"
    );
    assert_eq!(text(&out.stderr), "");
    let out = migrate(&db.url, &["status", "-q", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        "Database schema is up to date! (1 migration(s) applied)"
    );
    // Errors still show.
    let out = migrate(
        &db.url,
        &["status", "-q", "--migrations-dir", "/nonexistent"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error"), "{}", text(&out.stderr));
    // The engine's warnings reach people too, as `warning:` lines, not log lines; -q hides them.
    let backups = tempfile::tempdir().unwrap();
    std::fs::write(backups.path().join("backup_20240101_000000.json"), "{").unwrap();
    let b = backups.path().to_str().unwrap();
    let out = migrate("", &["backup", "list", "--backup-dir", b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("warning: skipping ") && stderr.contains("backup_20240101_000000.json"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN") && !stderr.contains("migrate_core::"),
        "{stderr}"
    );
    let out = migrate("", &["backup", "list", "-q", "--backup-dir", b]);
    assert_eq!(text(&out.stderr), "");
    let out = migrate("", &["backup", "list", "-v", "--backup-dir", b]);
    assert!(
        text(&out.stderr).contains(" WARN "),
        "{}",
        text(&out.stderr)
    );
    // -v brings the log lines back; -q and -v together make no sense.
    let out = migrate(&db.url, &["deploy", "-v", "--migrations-dir", d]);
    assert!(
        text(&out.stderr).contains(" INFO "),
        "{}",
        text(&out.stderr)
    );
    let out = migrate(&db.url, &["status", "-q", "-v", "--migrations-dir", d]);
    assert_eq!(out.status.code(), Some(2));
}

/// Shell completions and man pages come from the same definition as `--help`, and need no
/// database.
#[test]
fn completions_and_man_pages_need_no_database() {
    let no_db = "";
    for (shell, marker) in [
        ("bash", "_migrate()"),
        ("zsh", "#compdef migrate"),
        ("fish", "complete -c migrate"),
    ] {
        let out = migrate(no_db, &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["deploy", "rollback", "dangerous-skip-safety"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = migrate(no_db, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let out = migrate(no_db, &["completions", "bash", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(json(&out)["script"]
        .as_str()
        .unwrap()
        .contains("_migrate()"));

    let out = migrate(no_db, &["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH migrate 1"), "{page}");
    assert!(
        page.contains("deploy") && page.contains("\\-\\-database\\-url"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = migrate(
        no_db,
        &["man", "--out-dir", dir.path().to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pages = json(&out)["pages"].clone();
    for page in ["migrate.1", "migrate-deploy.1", "migrate-backup-prune.1"] {
        assert!(dir.path().join(page).is_file(), "{page}: {pages}");
        assert!(
            pages.as_array().unwrap().iter().any(|p| p == page),
            "{pages}"
        );
    }
}

/// Help conventions: every default is shown (the core's, where the core resolves it), no
/// `[env: X=]` with an empty value, no value of a variable, global options grouped, and hidden
/// where they do nothing (still accepted there).
#[test]
fn help_shows_defaults_hides_env_values_and_inapplicable_global_options() {
    let help = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(crate::common::migrate_bin());
        cmd.args(args).arg("--help");
        for var in ["DATABASE_URL", "MIGRATE_CONFIG", "MIGRATE_BACKUP_DIR"] {
            cmd.env_remove(var);
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        text(&out.stdout)
    };
    let deploy = help(&["deploy"], &[]);
    let verify = migrate_core::pipeline::PipelineOptions::default()
        .backup_verify
        .number();
    let window = migrate_core::health::RetryWindow::default()
        .window
        .as_secs();
    for default in [
        format!("[default: the environment's, else {verify}]"),
        format!("[default: the environment's, else {window}]"),
        "[default: the environment's, else warn]".to_owned(),
        "[default: migrate.toml]".to_owned(),
    ] {
        assert!(deploy.contains(&default), "{default}: {deploy}");
    }
    assert!(deploy.contains("Global options:"), "{deploy}");

    let secrets = [
        ("DATABASE_URL", "postgresql://u:secret1@h/db"),
        ("MIGRATE_CONFIG", "/secret2/migrate.toml"),
        ("MIGRATE_BACKUP_DIR", "/secret3"),
    ];
    let commands: &[&[&str]] = &[
        &[],
        &["deploy"],
        &["status"],
        &["plan"],
        &["backup"],
        &["backup", "list"],
        &["backup", "create"],
        &["restore"],
        &["rollback"],
        &["completions"],
    ];
    for args in commands {
        for env in [&[][..], &secrets[..]] {
            let text = help(args, env);
            assert!(!text.contains("=]"), "{args:?}: {text}");
            assert!(!text.contains("secret"), "{args:?}: {text}");
        }
    }

    let list = help(&["backup", "list"], &[]);
    for hidden in [
        "--yes",
        "--lock-timeout",
        "--migrations-dir",
        "--database-url",
    ] {
        assert!(!list.contains(hidden), "{hidden}: {list}");
    }
    assert!(
        list.contains("--backup-dir") && list.contains("--json"),
        "{list}"
    );
    let rollback = help(&["rollback"], &[]);
    for shown in [
        "--yes",
        "--lock-timeout",
        "--migrations-dir",
        "--database-url",
    ] {
        assert!(rollback.contains(shown), "{shown}: {rollback}");
    }
    let status = help(&["status"], &[]);
    assert!(
        !status.contains("--yes") && !status.contains("--lock-timeout"),
        "{status}"
    );

    // Hidden, not refused: a global option given everywhere by a script still works.
    let backups = tempfile::tempdir().unwrap();
    let out = migrate(
        "",
        &[
            "backup",
            "list",
            "--yes",
            "--lock-timeout",
            "3",
            "--json",
            "--backup-dir",
            backups.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["backups"], serde_json::json!([]));
}

/// Backups over time: `retention` in migrate.toml prunes after each successful deployment,
/// `backup prune --dry-run` says what it would delete and deletes nothing, and `rollback` run
/// from another directory says which backup directory it searched.
#[test]
fn retention_after_deploys_prune_dry_run_and_rollback_names_the_backup_directory() {
    let db = TestDb::new();
    let project = project(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let root = project.path();
    std::fs::write(root.join("migrate.toml"), "retention = { keep = 2 }\n").unwrap();
    let url = db.url.as_str();
    // The default, relative backup directory (`backups`), as a first-time user has it.
    let env = [("DATABASE_URL", url), ("MIGRATE_BACKUP_DIR", "")];
    let ids = |dir: &std::path::Path| -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    let migrations = root.join("prisma/migrations");
    let add = |name: &str, sql: &str| {
        std::fs::create_dir_all(migrations.join(name)).unwrap();
        std::fs::write(migrations.join(name).join("migration.sql"), sql).unwrap();
    };
    let mut backups = Vec::new();
    for (i, (name, sql)) in [
        ("20240101000000_a", ""),
        ("20240102000000_b", "CREATE TABLE b (id int);"),
        ("20240103000000_c", "CREATE TABLE c (id int);"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            add(name, sql);
        }
        let out = migrate_in(root, &env, &["deploy", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report = json(&out);
        backups.push(report["backup_id"].as_str().unwrap().to_owned());
        let expected: Vec<&str> = if i == 2 { vec![&backups[0]] } else { vec![] };
        assert_eq!(report["pruned"], serde_json::json!(expected), "deploy {i}");
    }
    let dir = root.join("backups");
    assert_eq!(ids(&dir), backups[1..], "keep = 2 after the third deploy");

    // --dry-run names what would go and deletes nothing.
    let out = migrate_in(root, &env, &["backup", "prune", "--keep", "1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("would remove {}", backups[1])),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was deleted"), "{stdout}");
    assert_eq!(ids(&dir), backups[1..]);
    let out = migrate_in(
        root,
        &env,
        &["backup", "prune", "--keep", "1", "--dry-run", "--json"],
    );
    assert_eq!(json(&out)["would_remove"], serde_json::json!([backups[1]]));
    assert_eq!(ids(&dir), backups[1..]);

    // From another directory, `backups` is another directory: the error says which.
    let elsewhere = tempfile::tempdir().unwrap();
    let m = migrations.to_str().unwrap();
    let out = migrate_in(
        elsewhere.path(),
        &env,
        &[
            "rollback",
            "--to",
            "20240102000000_b",
            "--dry-run",
            "--migrations-dir",
            m,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let searched = std::fs::canonicalize(elsewhere.path())
        .unwrap()
        .join("backups");
    assert!(
        stderr.contains(&format!(
            "searched the backup directory {}",
            searched.display()
        )) || stderr.contains(&format!(
            "searched the backup directory {}",
            elsewhere.path().join("backups").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("no backups there"), "{stderr}");
    // From the project, the same command finds the backup taken before c.
    let out = migrate_in(
        root,
        &env,
        &["rollback", "--to", "20240102000000_b", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&backups[2]),
        "{}",
        text(&out.stdout)
    );

    // The real prune.
    let out = migrate_in(root, &env, &["backup", "prune", "--keep", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ids(&dir), backups[2..]);
}

/// With `--env NAME`, the environment's own variable wins over a `.env` file's DATABASE_URL,
/// and may itself come from a `.env` file.
#[test]
fn an_environments_variable_wins_over_dot_env_database_url() {
    let db = TestDb::new();
    let project = project(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let root = project.path();
    std::fs::write(
        root.join("migrate.toml"),
        "[environments.staging]\nurl_env = \"STAGING_DATABASE_URL\"\n",
    )
    .unwrap();
    let elsewhere = db.url.replace(&db.name, "not_this_database");
    std::fs::write(
        root.join(".env"),
        format!(
            "DATABASE_URL={elsewhere}\nSTAGING_DATABASE_URL=\"{}\"\n",
            db.url
        ),
    )
    .unwrap();
    let env = [("MIGRATE_BACKUP_DIR", "")];
    let out = migrate_in(
        root,
        &env,
        &["deploy", "--env", "staging", "--dangerous-no-backup"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Environment variables loaded from .env"),
        "{}",
        text(&out.stderr)
    );
    assert!(table_exists(&db, "a"));
}

#[test]
fn skipping_the_safety_review_is_said_loudly() {
    let init = [("20240101000000_init", "CREATE TABLE a (id int);")];
    // A database where `a` holds a row, so that dropping it needs approval.
    let with_a = || {
        let db = TestDb::new();
        let dir = Dir::with(&init);
        crate::common::engine(&db, dir.path()).deploy().unwrap();
        db.client()
            .batch_execute("INSERT INTO a VALUES (1)")
            .unwrap();
        db
    };
    let db = with_a();
    let dir = Dir::with(&init);
    dir.add("20240102000000_drop", "DROP TABLE a;");
    let path = dir.path().to_str().unwrap();
    let out = crate::common::on_a_terminal(
        &db.url,
        &[
            "deploy",
            "--dangerous-skip-safety",
            "--migrations-dir",
            path,
        ],
        true,
    );
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let at = shown
        .find("WARNING: the safety review was skipped (--dangerous-skip-safety)")
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        shown[..at].ends_with('m') && shown[..at].contains("\u{1b}[1m"),
        "in colour: {shown:?}"
    );
    assert!(!table_exists(&db, "public.a"));

    for extra in ["--quiet", "--json"] {
        let out = migrate(
            &db.url,
            &[
                "deploy",
                "--dangerous-skip-safety",
                extra,
                "--migrations-dir",
                path,
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("WARNING: the safety review was skipped (--dangerous-skip-safety)"),
            "{extra}: {stderr}"
        );
        assert!(
            !stderr.contains("\u{1b}["),
            "no colour without a terminal: {stderr:?}"
        );
    }
    // Without the flag, the same history is refused, and nothing says the review was skipped.
    let db = with_a();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("review was skipped"));
}
