//! The deployment journal, and recovery of a deployment whose process was killed.

use crate::common::engine;
use std::time::{Duration, Instant};

use migrate_core::journal::{Journal, Outcome};
use migrate_core::ledger::RowState;
use migrate_tests::TestDb;

use crate::common::{migrate, migrate_bin, rows, table_exists, text, Dir};

#[test]
fn deployments_are_journaled_outside_prismas_schema() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let engine = engine(&db, dir.path());
    let report = engine.deploy().unwrap();
    let id = report.deployment_id.clone().expect("journaled");
    assert!(
        engine.deploy().unwrap().deployment_id.is_none(),
        "no-op runs are not journaled"
    );

    dir.add("20240102000000_bad", "SELECT * FROM nowhere;");
    engine.deploy().unwrap_err();

    let list = Journal::list(&mut db.client(), 10).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[1].id.as_str(), list[1].outcome),
        (id.as_str(), Outcome::Succeeded)
    );
    assert_eq!(list[1].applied, ["20240101000000_a"]);
    assert!(list[1].actor.contains('@'));
    // The failed migration ran in a transaction: the pipeline's automatic rollback marked it.
    assert_eq!(list[0].outcome, Outcome::RolledBack);
    assert!(list[0].error.as_deref().unwrap().contains("nowhere"));
    assert!(
        !table_exists(&db, "public.deployments"),
        "the journal lives in its own schema"
    );

    let out = migrate(
        &db.url,
        &[
            "history",
            "--json",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = crate::common::last_json(&out.stdout);
    assert_eq!(json["deployments"].as_array().unwrap().len(), 2);
}

#[test]
fn a_killed_deployment_is_found_and_resumed_by_the_next_run() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        (
            "20240102000000_slow",
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\nCREATE TABLE after_sleep (id int);",
        ),
    ]);
    // Kill it while the slow migration runs.
    kill_during_slow_migration(&db, &dir);

    // Read before any rerun: the entry still says running in the table, but once the server
    // has ended the dead process's sessions (within about a second), nobody holds it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let history = loop {
        let out = migrate(&db.url, &["history", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let history = crate::common::last_json(&out.stdout);
        if history["deployments"][0]["outcome"] != "running" || Instant::now() > deadline {
            break history;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let dead = &history["deployments"][0];
    assert_eq!(dead["outcome"], "interrupted", "{history}");
    assert_eq!(
        dead["applied"],
        serde_json::json!(["20240101000000_a"]),
        "{history}"
    );
    assert!(
        dead["note"].as_str().unwrap().contains("resumes"),
        "{history}"
    );

    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("interrupted") && stdout.contains("20240102000000_slow"),
        "{stdout}"
    );
    assert!(table_exists(&db, "slow") && table_exists(&db, "after_sleep"));
    let slow: Vec<RowState> = rows(&db)
        .iter()
        .filter(|r| r.migration_name == "20240102000000_slow")
        .map(|r| r.state())
        .collect();
    assert_eq!(slow, [RowState::RolledBack, RowState::Applied]);
    let outcomes: Vec<Outcome> = Journal::list(&mut db.client(), 10)
        .unwrap()
        .iter()
        .map(|d| d.outcome)
        .collect();
    assert_eq!(outcomes, [Outcome::Succeeded, Outcome::Interrupted]);
}

/// A server crash cuts the deployment's session mid-migration; the process reconnects and
/// records the deployment as failed, but not the attempt (its row keeps no outcome). The next
/// run must still see the attempt as interrupted, not refuse it as failed (P3009).
#[test]
fn an_attempt_left_without_outcome_by_a_failed_deployment_is_resumed() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        (
            "20240102000000_slow",
            // Slow until the test creates `go`.
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(CASE WHEN to_regclass('go') IS NULL \
             THEN 30 ELSE 0 END);",
        ),
    ]);
    kill_during_slow_migration(&db, &dir);
    // What the reconnecting process wrote: the deployment failed, the attempt untouched.
    let mut client = db.client();
    client
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid();
             UPDATE _migrate.deployments SET outcome = 'failed', finished_at = now(), \
             error = 'connection closed';
             CREATE TABLE go (id int);",
        )
        .unwrap();

    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let slow: Vec<RowState> = rows(&db)
        .iter()
        .filter(|r| r.migration_name == "20240102000000_slow")
        .map(|r| r.state())
        .collect();
    assert_eq!(slow, [RowState::RolledBack, RowState::Applied], "{stdout}");
}

/// Starts `migrate deploy` of `dir` and kills it (SIGKILL) once `20240102000000_slow` runs.
fn kill_during_slow_migration(db: &TestDb, dir: &Dir) {
    let mut child = deploy_until_the_slow_migration_runs(db, dir);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Starts `migrate deploy` of `dir` (output captured) and returns once
/// `20240102000000_slow` runs.
fn deploy_until_the_slow_migration_runs(db: &TestDb, dir: &Dir) -> std::process::Child {
    let child = std::process::Command::new(migrate_bin())
        .args(["deploy", "--migrations-dir"])
        .arg(dir.path())
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_BACKUP_DIR", crate::common::backup_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(table_exists(db, "_prisma_migrations")
        && rows(db)
            .iter()
            .any(|r| r.migration_name == "20240102000000_slow" && r.state() == RowState::Failed))
    {
        assert!(
            Instant::now() < deadline,
            "the slow migration never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// A rerun after a crash continues the dead deployment: what that one created counts as created
/// by this deployment, as when it was reviewed, while it holds no row. After a deployment that
/// ended, it does not.
#[test]
fn a_rerun_continues_the_interrupted_deployments_review() {
    let kept = (
        "20240101000000_kept",
        "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);",
    );
    let created = ("20240102000000_create", "CREATE TABLE t (c int);");
    let renamed = (
        "20240103000000_rename",
        "ALTER TABLE t RENAME COLUMN c TO d;",
    );
    let refused = |db: &TestDb, dir: &Dir, sql: &str, rule: &str| {
        dir.add("20240102120000_refused", sql);
        let refusal = engine(db, dir.path()).deploy().unwrap_err().to_string();
        assert!(refusal.contains(rule), "{refusal}");
        std::fs::remove_dir_all(dir.path().join("20240102120000_refused")).unwrap();
    };
    let rerun = |outcome: &str| {
        let db = TestDb::new();
        let dir = Dir::with(&[kept]);
        engine(&db, dir.path()).deploy().unwrap();
        dir.add(created.0, created.1);
        let id = engine(&db, dir.path())
            .deploy()
            .unwrap()
            .deployment_id
            .unwrap();
        // What recovery writes when the deployment's process died.
        db.client()
            .execute(
                "UPDATE _migrate.deployments SET outcome = $1 WHERE id = $2",
                &[&outcome, &id],
            )
            .unwrap();
        // A refused run since then changed nothing and does not break the continuation.
        refused(&db, &dir, "DROP TABLE kept;", "drop-table");
        dir.add(renamed.0, renamed.1);
        (engine(&db, dir.path()).deploy(), db, dir)
    };

    let (continued, db, _dir) = rerun("interrupted");
    let report = continued.expect("the rename is on a table the dead deployment created");
    assert_eq!(report.applied, [renamed.0]);
    assert!(
        rows(&db).iter().all(|r| r.state() == RowState::Applied),
        "{:?}",
        rows(&db)
    );

    let (after_success, db, _dir) = rerun("succeeded");
    let err = after_success.unwrap_err().to_string();
    assert!(err.contains("renaming-column"), "{err}");
    assert!(!rows(&db).iter().any(|r| r.migration_name == renamed.0));
}

/// Rows written since the crash into a table the dead deployment created are data at risk.
#[test]
fn a_continued_deployment_still_protects_rows_written_since_the_crash() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240102000000_create", "CREATE TABLE t (c int);")]);
    let id = engine(&db, dir.path())
        .deploy()
        .unwrap()
        .deployment_id
        .unwrap();
    let mut client = db.client();
    client
        .execute(
            "UPDATE _migrate.deployments SET outcome = 'interrupted' WHERE id = $1",
            &[&id],
        )
        .unwrap();
    client.batch_execute("INSERT INTO t VALUES (7)").unwrap();
    dir.add("20240103000000_drop", "DROP TABLE t;");
    let err = engine(&db, dir.path()).deploy().unwrap_err().to_string();
    assert!(err.contains("drop-table"), "{err}");
    assert!(table_exists(&db, "public.t"));
}

/// Ctrl-C in the middle of a migration: exit 130, saying what it leaves and what comes next;
/// the next deploy resumes.
#[test]
fn ctrl_c_says_what_it_leaves_and_the_next_deploy_resumes() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_a", "CREATE TABLE a (id int);"),
        (
            "20240102000000_slow",
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\nCREATE TABLE after_sleep (id int);",
        ),
    ]);
    let child = deploy_until_the_slow_migration_runs(&db, &dir);
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let said = text(&out.stderr);
    assert!(
        said.contains("interrupted") && said.contains("`migrate deploy` resumes"),
        "{said}"
    );

    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(table_exists(&db, "after_sleep"));
}
