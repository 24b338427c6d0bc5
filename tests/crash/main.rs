//! PostgreSQL crashing (immediate shutdown, then crash recovery) in the middle of a migration.
//!
//! A test binary of its own: restarting the cluster disrupts every test using it, and each test
//! binary has its own cluster. Keep only crash scenarios here.

#[path = "../it/common.rs"]
#[allow(dead_code)]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::ledger::RowState;
use migrate_tests::fault_matrix::Scenario;
use migrate_tests::{cluster, TestDb};

use common::{backup_dir, migrate, migrate_bin, rows, table_exists, text, Dir};

fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

fn ledger(db: &TestDb) -> Vec<(String, RowState)> {
    rows(db)
        .into_iter()
        .map(|r| {
            let state = r.state();
            (r.migration_name, state)
        })
        .collect()
}

#[test]
fn server_crash_mid_migration_loses_the_attempt_and_the_next_deploy_applies_it() {
    let scenario = Scenario::start(
        9,
        "server stopped (`pg_ctl stop -m immediate`) mid-migration and restarted",
    );
    let db = TestDb::new();
    let dir = Dir::with(&[(
        "20240101000000_init",
        "CREATE TABLE item (id serial PRIMARY KEY, n int NOT NULL);\n\
         INSERT INTO item (n) SELECT g FROM generate_series(1, 1000) g;",
    )]);
    let dir_arg = dir.path().to_str().unwrap();
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            dir_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int);\nUPDATE item SET n = n + 1;\nSELECT pg_sleep(3);",
    );

    let child = Command::new(migrate_bin())
        .args([
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            dir_arg,
        ])
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_BACKUP_DIR", backup_dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' \
         AND pid <> pg_backend_pid()",
    ) == 0
    {
        assert!(
            Instant::now() < deadline,
            "the slow migration never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t_crash = Instant::now();
    cluster().restart_immediate().unwrap();
    let restarted_in = t_crash.elapsed();

    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!(
        "deploy during the crash: exit {:?}\n{stderr}",
        out.status.code()
    );
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{:?}: {stdout}{stderr}",
        out.status
    );
    assert!(
        stderr.contains("20240102000000_slow") || stderr.contains("connection"),
        "says what failed: {stderr}"
    );

    // Crash recovery undid the migration: no table, no update, not applied.
    assert!(!table_exists(&db, "slow"));
    assert_eq!(count(&db, "SELECT sum(n)::bigint FROM item"), 500_500);
    let after_crash = ledger(&db);
    assert_eq!(
        after_crash[0],
        ("20240101000000_init".to_owned(), RowState::Applied)
    );
    assert!(
        !after_crash.contains(&("20240102000000_slow".to_owned(), RowState::Applied)),
        "{after_crash:?}"
    );

    let t0 = Instant::now();
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            dir_arg,
        ],
    );
    let recovered = t0.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("20240102000000_slow"), "{stdout}");
    let slow: Vec<RowState> = ledger(&db)
        .into_iter()
        .filter(|(n, _)| n == "20240102000000_slow")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(slow.last(), Some(&RowState::Applied), "{slow:?}");
    assert!(slow[..slow.len() - 1]
        .iter()
        .all(|s| *s == RowState::RolledBack));
    assert!(table_exists(&db, "slow"));
    assert_eq!(
        count(&db, "SELECT sum(n)::bigint FROM item"),
        500_500 + 1000,
        "the UPDATE ran exactly once"
    );
    // The same history deployed with no crash reaches the same schema and rows.
    let twin = TestDb::new();
    let out = migrate(
        &twin.url,
        &[
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            dir_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(db.app_state(), twin.app_state());
    scenario.survived(
        &format!(
            "deploy exits 1 naming the migration; crash recovery undid it (restart {:.1} s); \
             next deploy applies it once",
            restarted_in.as_secs_f64()
        ),
        recovered,
    );
}
