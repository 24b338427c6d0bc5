//! Fault injection: `migrate deploy` killed (SIGKILL) at each step of the pipeline, its session
//! terminated by the server, and what the next run finds and does. Every test ends with the
//! ledger, the schema and the row counts checked against the expected state.
//!
//! Each scenario is recorded for the README's fault matrix (`migrate_tests::fault_matrix`) and
//! prints one line `fault-matrix | scenario | outcome | time to recover` (with `--nocapture`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use migrate_core::ledger::RowState;
use migrate_tests::fault_matrix::Scenario;
use migrate_tests::TestDb;

use crate::common::{last_json, migrate_bin, rows, table_exists, text, Dir};

pub const INIT: &str = "20240101000000_init";

/// A database with the `author`/`post` tables of the backup tests (50 + 2000 rows), plus a
/// `bulk` table big enough that `pg_dump` takes a noticeable time.
pub fn bulky_db() -> (TestDb, Dir) {
    let (db, dir) = crate::backup::seeded_db();
    db.client()
        .batch_execute(
            "CREATE TABLE bulk (id int PRIMARY KEY, payload text NOT NULL);
             INSERT INTO bulk SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 150000) g;",
        )
        .unwrap();
    (db, dir)
}

/// A `migrate` command on `db` with its own backup directory.
pub fn command(db: &TestDb, backups: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(migrate_bin());
    cmd.args(args)
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_BACKUP_DIR", backups)
        .env("NO_COLOR", "1")
        .env_remove("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK")
        .stdin(Stdio::null());
    cmd
}

/// `migrate deploy` in the background.
pub fn spawn_deploy(db: &TestDb, dir: &Dir, backups: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["deploy", "--migrations-dir", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    command(db, backups, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn run(db: &TestDb, backups: &Path, args: &[&str]) -> Output {
    command(db, backups, args).output().unwrap()
}

/// `migrate deploy --dangerous-no-backup --migrations-dir DIR`, for scenarios where the backup
/// plays no part.
pub fn deploy_without_backup(db: &TestDb, backups: &Path, dir: &str) -> Output {
    run(
        db,
        backups,
        &["deploy", "--dangerous-no-backup", "--migrations-dir", dir],
    )
}

/// Waits (up to 30 s) until `cond` holds.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

/// Whether `pg_restore` is copying rows into `db`'s half-loaded copy. Seen from the maintenance
/// database, since a restore ends the sessions of the database it replaces; other tests restore
/// at the same time, so only this database's copy counts.
pub fn copying_into(db: &TestDb) -> bool {
    let prefix = format!("{}_restoring_", &db.name[..db.name.len().min(30)]);
    migrate_tests::cluster()
        .connect("postgres")
        .ok()
        .and_then(|mut c| {
            c.query(
                "SELECT datname FROM pg_stat_activity WHERE query LIKE 'COPY %'",
                &[],
            )
            .ok()
        })
        .is_some_and(|rows| {
            rows.iter().any(|r| {
                r.get::<_, Option<String>>(0)
                    .is_some_and(|d| d.starts_with(&prefix))
            })
        })
}

/// Waits until no server session of `db` other than ours runs a query containing `needle`, i.e.
/// the server noticed the dead client and rolled its transaction back.
pub fn wait_sessions_gone(db: &TestDb, needle: &str) {
    wait_for("the killed process's session to end", || {
        count(
            db,
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND query LIKE '%{needle}%'"
            ),
        ) == 0
    });
}

/// The ledger as (name, state) pairs, in order.
pub fn ledger(db: &TestDb) -> Vec<(String, RowState)> {
    rows(db)
        .into_iter()
        .map(|r| {
            let state = r.state();
            (r.migration_name, state)
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

pub fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn backup_list(db: &TestDb, backups: &Path) -> Vec<serde_json::Value> {
    let out = run(db, backups, &["backup", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    last_json(&out.stdout)["backups"]
        .as_array()
        .unwrap()
        .clone()
}

pub use migrate_tests::AppState;

pub fn app_state(db: &TestDb) -> AppState {
    db.app_state()
}

/// The state a twin of the database (made by `seed`) reaches when `dir` is deployed with no
/// fault at all.
pub fn clean_state(seed: fn() -> (TestDb, Dir), dir: &Dir) -> AppState {
    let (twin, _) = seed();
    let out = deploy_without_backup(
        &twin,
        &std::env::temp_dir().join("unused-backups"),
        dir.path().to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    app_state(&twin)
}

pub fn applied(name: &str) -> (String, RowState) {
    (name.to_owned(), RowState::Applied)
}

pub fn tmp_backups() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("backups");
    (tmp, path)
}

#[test]
fn sigkill_during_the_backup_applies_nothing_and_leaves_no_valid_backup() {
    let scenario = Scenario::start(1, "SIGKILL during the backup (pg_dump running)");
    let (db, dir) = bulky_db();
    dir.add(
        "20240102000000_add",
        "CREATE TABLE added (id int); INSERT INTO added VALUES (1);",
    );
    let (_tmp, backups) = tmp_backups();
    let child = spawn_deploy(&db, &dir, &backups, &[]);
    wait_for("pg_dump to start writing", || {
        files_in(&backups).iter().any(|f| f.starts_with("backup_"))
    });
    kill(child);
    let killed_with: Vec<String> = files_in(&backups);
    assert!(
        !killed_with.iter().any(|f| f.ends_with(".json")),
        "killed after the backup was complete: {killed_with:?}; make the data bigger"
    );

    // Nothing applied, nothing changed.
    assert_eq!(ledger(&db), [applied(INIT)]);
    assert!(!table_exists(&db, "added"));
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2000);
    assert_eq!(count(&db, "SELECT count(*) FROM bulk"), 150_000);
    // The partial dump is not a backup.
    assert!(backup_list(&db, &backups).is_empty(), "{killed_with:?}");

    let t0 = Instant::now();
    let out = run(
        &db,
        &backups,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    let recovered = t0.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("20240102000000_add"));
    assert_eq!(ledger(&db), [applied(INIT), applied("20240102000000_add")]);
    assert_eq!(count(&db, "SELECT count(*) FROM added"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM bulk"), 150_000);
    let listed = backup_list(&db, &backups);
    assert_eq!(listed.len(), 1, "only the second run's backup");
    let id = listed[0]["id"].as_str().unwrap();
    let out = run(&db, &backups, &["backup", "verify", id, "--level", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        app_state(&db),
        clean_state(bulky_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        "nothing applied, the partial dump is not a backup; next deploy backs up and applies",
        recovered,
    );
}

#[test]
fn sigkill_right_after_the_backup_is_resumed_by_the_next_deploy() {
    let scenario = Scenario::start(2, "SIGKILL right after the backup");
    let (db, dir) = crate::backup::seeded_db();
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int);\nINSERT INTO post (author_id, title) VALUES (1, 'new');\n\
         SELECT pg_sleep(3);",
    );
    let (_tmp, backups) = tmp_backups();
    let child = spawn_deploy(&db, &dir, &backups, &[]);
    wait_for("the backup's manifest", || {
        files_in(&backups).iter().any(|f| f.ends_with(".json"))
    });
    kill(child);
    wait_sessions_gone(&db, "pg_sleep(3)");

    // At most a started attempt; the data is untouched.
    let ledger_after_kill = ledger(&db);
    assert!(
        ledger_after_kill == [applied(INIT)]
            || ledger_after_kill
                == [
                    applied(INIT),
                    ("20240102000000_slow".to_owned(), RowState::Failed)
                ],
        "{ledger_after_kill:?}"
    );
    assert!(!table_exists(&db, "slow"));
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2000);
    assert_eq!(
        backup_list(&db, &backups).len(),
        1,
        "the backup is complete"
    );

    let t0 = Instant::now();
    let out = run(
        &db,
        &backups,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    let recovered = t0.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let mut expected = ledger_after_kill.clone();
    if expected.len() == 2 {
        expected[1].1 = RowState::RolledBack;
        assert!(stdout.contains("interrupted"), "{stdout}");
    }
    expected.push(applied("20240102000000_slow"));
    assert_eq!(ledger(&db), expected);
    assert!(table_exists(&db, "slow"));
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2001);
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        if ledger_after_kill.len() == 2 {
            "attempt marked rolled back (interrupted); next deploy re-applies"
        } else {
            "nothing started; next deploy applies"
        },
        recovered,
    );
}

#[test]
fn sigkill_in_the_middle_of_a_migration_rolls_it_back_and_the_next_deploy_resumes() {
    let scenario = Scenario::start(3, "SIGKILL in the middle of a migration");
    let (db, dir) = crate::backup::seeded_db();
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int);\nUPDATE post SET score = score + 1;\n\
         INSERT INTO post (author_id, title) VALUES (1, 'new');\nSELECT pg_sleep(3);",
    );
    let (_tmp, backups) = tmp_backups();
    let child = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    wait_for("the slow migration to run", || {
        count(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()",
        ) == 1
    });
    let score_before = count(&db, "SELECT sum(score)::bigint FROM post");
    kill(child);
    let t_kill = Instant::now();
    wait_sessions_gone(&db, "pg_sleep(3)");
    let server_noticed = t_kill.elapsed();

    assert_eq!(
        ledger(&db),
        [
            applied(INIT),
            ("20240102000000_slow".to_owned(), RowState::Failed)
        ]
    );
    assert!(!table_exists(&db, "slow"), "the migration was rolled back");
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2000);
    assert_eq!(
        count(&db, "SELECT sum(score)::bigint FROM post"),
        score_before
    );
    // Prisma's own view: a failed migration (P3009) until something resolves it.
    let out = run(
        &db,
        &backups,
        &[
            "status",
            "--json",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        last_json(&out.stdout)["failed"],
        serde_json::json!(["20240102000000_slow"])
    );

    let t0 = Instant::now();
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    let recovered = t0.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("interrupted") && stdout.contains("20240102000000_slow"),
        "{stdout}"
    );
    assert_eq!(
        ledger(&db),
        [
            applied(INIT),
            ("20240102000000_slow".to_owned(), RowState::RolledBack),
            applied("20240102000000_slow"),
        ]
    );
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2001);
    assert_eq!(
        count(&db, "SELECT sum(score)::bigint FROM post"),
        score_before + 2000,
        "the UPDATE ran exactly once"
    );
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        &format!(
            "PostgreSQL undid it ({:.1} s); next deploy says \"interrupted\", marks the attempt \
             rolled back and applies it; the UPDATE ran once",
            server_noticed.as_secs_f64()
        ),
        recovered,
    );
}

#[test]
fn terminated_session_mid_migration_fails_clearly_and_the_next_deploy_applies_it() {
    let scenario = Scenario::start(
        8,
        "session terminated (`pg_terminate_backend`) mid-migration",
    );
    let (db, dir) = crate::backup::seeded_db();
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int);\nINSERT INTO post (author_id, title) VALUES (1, 'new');\n\
         SELECT pg_sleep(3);",
    );
    let (_tmp, backups) = tmp_backups();
    let child = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    let find = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                AND query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()";
    wait_for("the slow migration to run", || count(&db, find) == 1);
    let terminated: bool = db
        .client()
        .query_one(
            "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE '%pg_sleep(3)%' \
             AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(terminated);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let first_exit = out.status.code();
    eprintln!("terminated deploy said: {stderr}");
    assert!(
        matches!(first_exit, Some(1 | 2)),
        "{:?} {stdout}{stderr}",
        out.status
    );
    assert!(
        stderr.contains("20240102000000_slow")
            && (stderr.contains("terminat") || stderr.contains("connection")),
        "a clear message: {stdout}{stderr}"
    );
    wait_sessions_gone(&db, "pg_sleep(3)");
    assert!(!table_exists(&db, "slow"));
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2000);
    let after = ledger(&db);
    assert!(
        !after.contains(&applied("20240102000000_slow")),
        "not recorded as applied: {after:?}"
    );

    let t0 = Instant::now();
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    let recovered = t0.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let states: Vec<RowState> = ledger(&db)
        .into_iter()
        .filter(|(n, _)| n == "20240102000000_slow")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states.last(), Some(&RowState::Applied), "{states:?}");
    assert!(states[..states.len() - 1]
        .iter()
        .all(|s| *s == RowState::RolledBack));
    assert!(table_exists(&db, "slow"));
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2001);
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        &format!(
            "deploy exits {} naming the migration, nothing applied; next deploy applies it",
            first_exit.map_or_else(|| "?".to_owned(), |c| c.to_string())
        ),
        recovered,
    );
}
