//! Fault injection after the apply: `migrate deploy` killed (SIGKILL) during its health checks
//! or during its rollback. The journal says where it was (`verifying`, `rolling_back`); the next
//! run sees that no pipeline is alive and finishes the job: checks again (and rolls back if they
//! fail), or finishes the rollback.

use std::time::{Duration, Instant};

use migrate_tests::fault_matrix::Scenario;
use migrate_tests::TestDb;

use crate::common::{text, Dir};
use crate::faults::{
    app_state, applied, clean_state, copying_into, count, kill, ledger, run, spawn_deploy,
    tmp_backups, wait_for, AppState, INIT,
};

const EXTRA: &str = "20240102000000_extra";

/// The seeded database plus a migration adding `post.extra` (with its down script, whose
/// `pg_sleep` leaves time to kill the rollback).
fn with_extra_column(down_sleep: u32) -> (TestDb, Dir, AppState) {
    let (db, dir) = crate::backup::seeded_db();
    let seeded = app_state(&db);
    dir.add(
        EXTRA,
        "ALTER TABLE post ADD COLUMN extra int;\nUPDATE post SET extra = 1;",
    );
    std::fs::write(
        dir.path().join(EXTRA).join("down.sql"),
        format!("SELECT pg_sleep({down_sleep});\nALTER TABLE post DROP COLUMN extra;"),
    )
    .unwrap();
    (db, dir, seeded)
}

/// The newest journal entry: (outcome, note).
fn last_deployment(db: &TestDb) -> (String, String) {
    let row = db
        .client()
        .query_one(
            "SELECT outcome, coalesce(note, '') FROM _migrate.deployments \
             ORDER BY started_at DESC LIMIT 1",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn has_extra(db: &TestDb) -> bool {
    count(
        db,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'post' \
         AND column_name = 'extra'",
    ) == 1
}

/// Starts a deploy whose health check hangs (`sleep 60`) and kills it during the check.
fn kill_during_health_check(db: &TestDb, dir: &Dir, backups: &std::path::Path) {
    let child = spawn_deploy(
        db,
        dir,
        backups,
        &["--health-cmd", "sleep 60", "--health-window", "120"],
    );
    wait_for("the deployment to reach its checks", || {
        db.client()
            .query_opt(
                "SELECT 1 FROM _migrate.deployments WHERE outcome = 'verifying'",
                &[],
            )
            .ok()
            .flatten()
            .is_some()
    });
    std::thread::sleep(Duration::from_millis(300));
    kill(child);
    assert_eq!(last_deployment(db).0, "verifying");
    assert_eq!(ledger(db), [applied(INIT), applied(EXTRA)]);
}

/// The next `migrate deploy` of `dir` with `extra` arguments, timed: (exit code, stdout and
/// stderr, time it took).
fn next_deploy(
    db: &TestDb,
    dir: &Dir,
    backups: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String, Duration) {
    let mut args = vec!["deploy", "--migrations-dir", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let t0 = Instant::now();
    let out = run(db, backups, &args);
    let took = t0.elapsed();
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
        took,
    )
}

/// The dead deployment was rolled back: the column gone, its row out of the ledger (kept in the
/// journal, so that Prisma sees it not applied), the journal saying so, and schema and rows as
/// before it.
fn assert_rolled_back(db: &TestDb, seeded: &AppState, output: &str) {
    assert!(!has_extra(db), "rolled back: {output}");
    assert_eq!(ledger(db), [applied(INIT)]);
    assert_eq!(count(db, "SELECT count(*) FROM post"), 2000);
    assert_eq!(last_deployment(db).0, "rolled_back");
    assert_eq!(
        &app_state(db),
        seeded,
        "schema and rows as before the deployment"
    );
}

#[test]
fn sigkill_during_the_health_checks_is_checked_again_by_the_next_deploy() {
    let scenario = Scenario::start(10, "SIGKILL during the health checks (checks pass later)");
    let (db, dir, _) = with_extra_column(0);
    let (_tmp, backups) = tmp_backups();
    kill_during_health_check(&db, &dir, &backups);

    let (code, all, recovered) = next_deploy(&db, &dir, &backups, &["--health-sql", "SELECT 1"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("died during its checks"), "{all}");
    let (outcome, note) = last_deployment(&db);
    assert_eq!(outcome, "succeeded", "{note}");
    assert!(note.contains("later run"), "{note}");
    assert_eq!(ledger(&db), [applied(INIT), applied(EXTRA)]);
    assert_eq!(count(&db, "SELECT sum(extra)::bigint FROM post"), 2000);
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        "journal says `verifying`, no pipeline alive; next deploy runs the checks, they pass, \
         the deployment is recorded as succeeded",
        recovered,
    );
}

#[test]
fn sigkill_during_the_health_checks_then_failing_checks_roll_back() {
    let scenario = Scenario::start(11, "SIGKILL during the health checks (checks fail later)");
    let (db, dir, seeded) = with_extra_column(0);
    let (_tmp, backups) = tmp_backups();
    kill_during_health_check(&db, &dir, &backups);

    let (code, all, recovered) = next_deploy(
        &db,
        &dir,
        &backups,
        &["--health-sql", "SELECT 1 => 2", "--health-window", "0"],
    );
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("died during its checks"), "{all}");
    assert_rolled_back(&db, &seeded, &all);
    scenario.survived(
        "next deploy runs the checks, they fail, it rolls the dead deployment back (down.sql) \
         and exits 1",
        recovered,
    );
}

#[test]
fn sigkill_during_the_rollback_is_finished_by_the_next_deploy() {
    let scenario = Scenario::start(12, "SIGKILL during the automatic rollback");
    let (db, dir, seeded) = with_extra_column(3);
    let (_tmp, backups) = tmp_backups();
    let child = spawn_deploy(
        &db,
        &dir,
        &backups,
        &["--health-sql", "SELECT 1 => 2", "--health-window", "0"],
    );
    wait_for("the rollback's down.sql to run", || {
        count(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()",
        ) == 1
    });
    kill(child);
    crate::faults::wait_sessions_gone(&db, "pg_sleep(3)");
    let (outcome, note) = last_deployment(&db);
    assert_eq!(outcome, "rolling_back", "{note}");
    assert!(has_extra(&db), "the down script's transaction was undone");

    let (code, all, recovered) = next_deploy(&db, &dir, &backups, &[]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("died while rolling back"), "{all}");
    assert_rolled_back(&db, &seeded, &all);
    scenario.survived(
        "journal says `rolling_back`, no pipeline alive; next deploy finishes the rollback \
         (down.sql again) and exits 1",
        recovered,
    );
}

#[test]
fn sigkill_during_a_rollback_by_restore_is_finished_by_the_next_deploy() {
    let scenario = Scenario::start(13, "SIGKILL during the automatic rollback by restore");
    let (db, dir) = crate::faults::bulky_db();
    let before = app_state(&db);
    // No down.sql: the rollback restores the pre-deploy backup.
    dir.add(
        EXTRA,
        "ALTER TABLE post ADD COLUMN extra int;\nUPDATE post SET extra = 1;",
    );
    let (_tmp, backups) = tmp_backups();
    // A full backup: this is the whole-database restore's fault (a scoped one is restored in
    // one transaction, which a kill rolls back).
    let child = spawn_deploy(
        &db,
        &dir,
        &backups,
        &[
            "--health-sql",
            "SELECT 1 => 2",
            "--health-window",
            "0",
            "--backup",
            "full",
        ],
    );
    wait_for("the rollback's restore to load rows", || copying_into(&db));
    kill(child);
    assert_eq!(last_deployment(&db).0, "rolling_back");
    assert!(has_extra(&db), "the restore had not swapped yet");

    let (code, all, recovered) = next_deploy(&db, &dir, &backups, &[]);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("interrupted restore") && all.contains("died while rolling back"),
        "{all}"
    );
    assert!(!has_extra(&db), "{all}");
    assert_eq!(ledger(&db), [applied(INIT)]);
    assert_eq!(
        app_state(&db),
        before,
        "schema and rows as before the deployment"
    );
    assert_eq!(last_deployment(&db).0, "rolled_back");
    let on: String = db
        .client()
        .query_one("SHOW default_transaction_read_only", &[])
        .unwrap()
        .get(0);
    assert_eq!(on, "off");
    scenario.survived(
        "original intact but read-only, journal says `rolling_back`; next deploy drops the \
         half-loaded database, lifts the read-only mode, restores the pre-deploy backup and \
         exits 1",
        recovered,
    );
}

/// A dead pipeline's checks are not resumed once other deployments followed it (a replica's
/// the executor alone): rolling it back would undo theirs too. It is left to a person, said.
#[test]
fn a_dead_pipeline_is_not_resumed_after_later_deployments() {
    let (db, dir, _) = with_extra_column(0);
    let (_tmp, backups) = tmp_backups();
    kill_during_health_check(&db, &dir, &backups);
    dir.add("20240103000000_later", "CREATE TABLE later (id int);");
    // The executor alone, as a tool that does not announce itself would deploy.
    let migrations = migrate_core::MigrationSource::new(dir.path())
        .load()
        .unwrap();
    migrate_core::MigrationExecutor::deploy(
        &mut crate::common::executor(&db),
        &migrations,
        &migrate_core::DeployOptions::default(),
        &mut |_| {},
    )
    .unwrap();

    let (code, all, _) = next_deploy(
        &db,
        &dir,
        &backups,
        &["--health-sql", "SELECT 1 => 2", "--health-window", "0"],
    );
    assert_eq!(code, Some(0), "nothing pending, nothing resumed: {all}");
    assert!(all.contains("later deployments followed"), "{all}");
    assert!(has_extra(&db));
    let outcome: String = db
        .client()
        .query_one(
            "SELECT outcome FROM _migrate.deployments WHERE applied ? $1",
            &[&EXTRA],
        )
        .unwrap()
        .get(0);
    assert_eq!(outcome, "interrupted");
}
