//! The advisory lock: bounded wait naming the holder, release on every path.

use crate::common::engine;
use std::time::Duration;

use migrate_core::executor::{ExecuteError, MigrationExecutor};
use migrate_core::ledger::{LedgerError, LockWait, LOCK_KEY};
use migrate_core::{DeployOptions, Error};
use migrate_tests::TestDb;

use crate::common::{executor, table_exists, Dir};

#[test]
fn timeout_names_the_holder_and_changes_nothing() {
    let db = TestDb::new();
    let mut holder = db.client();
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    holder
        .batch_execute(&format!(
            "SET application_name = 'holder-app'; SELECT pg_advisory_lock({LOCK_KEY})"
        ))
        .unwrap();

    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let engine = engine(&db, dir.path()).lock_wait(LockWait::Bounded(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let err = engine.deploy().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &err {
        Error::Execute(ExecuteError::Ledger(LedgerError::LockTimeout {
            holder: Some(h), ..
        })) => {
            assert_eq!(h.pid, pid);
            assert_eq!(h.application_name, "holder-app");
            assert!(h.query.contains("pg_advisory_lock"), "{}", h.query);
        }
        other => panic!("expected a lock timeout naming the holder, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("pid {pid}")) && message.contains("holder-app"),
        "{message}"
    );
    assert!(!table_exists(&db, "_prisma_migrations"));

    drop(holder);
    assert_eq!(engine.deploy().unwrap().applied.len(), 1);
}

fn lock_is_free(db: &TestDb) -> bool {
    let mut other = db.client();
    let free: bool = other
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .unwrap()
        .get(0);
    free
}

#[test]
fn lock_is_released_after_success_and_failure_while_the_session_lives() {
    let db = TestDb::new();
    let mut executor = executor(&db);
    let good = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let migrations = migrate_core::MigrationSource::new(good.path())
        .load()
        .unwrap();
    executor
        .deploy(&migrations, &DeployOptions::default(), &mut |_| {})
        .unwrap();
    assert!(lock_is_free(&db), "released after success");

    good.add("20240102000000_bad", "SELECT * FROM nowhere;");
    let migrations = migrate_core::MigrationSource::new(good.path())
        .load()
        .unwrap();
    executor
        .deploy(&migrations, &DeployOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(lock_is_free(&db), "released after a failed migration");
    executor
        .deploy(&migrations, &DeployOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(lock_is_free(&db), "released after a P3009 refusal");
    // The session is still usable.
    executor
        .client()
        .unwrap()
        .batch_execute("SELECT 1")
        .unwrap();
}

/// Replicas starting together: a waiting engine outlasts a holder that is busy for longer than
/// the idle limit, and gives up on one that sits idle.
#[test]
fn while_busy_waits_out_a_working_holder_and_gives_up_on_an_idle_one() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let engine = engine(&db, dir.path()).lock_wait(LockWait::WhileBusy {
        idle: Duration::from_secs(1),
    });

    // Busy for 3 s (three times the idle limit), then released.
    let busy = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut holder = db.client();
            holder
                .batch_execute(&format!(
                    "SELECT pg_advisory_lock({LOCK_KEY}); SELECT pg_sleep(3); \
                     SELECT pg_advisory_unlock({LOCK_KEY})"
                ))
                .unwrap();
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let report = engine.deploy().expect("waited for the busy holder");
    assert!(started.elapsed() >= Duration::from_secs(2), "it waited");
    assert_eq!(report.applied.len(), 1);
    busy.join().unwrap();

    // Idle with the lock: given up after about the idle limit, naming the holder.
    let mut holder = db.client();
    let pid: i32 = holder
        .query_one(
            &format!("SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock({LOCK_KEY})) l"),
            &[],
        )
        .unwrap()
        .get(0);
    dir.add("20240102000000_b", "CREATE TABLE b (id int);");
    let started = std::time::Instant::now();
    let err = engine.deploy().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert!(err.to_string().contains(&format!("pid {pid}")), "{err}");
    assert!(!table_exists(&db, "b"));
    drop(holder);
    assert_eq!(engine.deploy().unwrap().applied.len(), 1);
}
