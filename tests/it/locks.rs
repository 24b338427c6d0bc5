//! Lock-aware execution: lock timeouts with retries, the blocker named, the watchdog.

use std::time::{Duration, Instant};

use migrate_core::executor::{ExecuteError, LockPolicy, MigrationExecutor};
use migrate_core::ledger::RowState;
use migrate_core::{DeployOptions, Event, MigrationSource};
use migrate_tests::TestDb;

use crate::common::{executor, rows, Dir};

fn setup() -> (TestDb, Dir) {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", "CREATE TABLE t (id int);")]);
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    executor(&db)
        .deploy(&migrations, &DeployOptions::default(), &mut |_| {})
        .unwrap();
    (db, dir)
}

fn policy(timeout_ms: u64, retries: u32, watchdog_ms: Option<u64>) -> LockPolicy {
    let mut p = LockPolicy::recommended();
    p.exclusive_timeout = Some(Duration::from_millis(timeout_ms));
    p.retries = retries;
    p.backoff = Duration::from_millis(100);
    p.watchdog_threshold = watchdog_ms.map(Duration::from_millis);
    p
}

/// A session holding ACCESS SHARE on `t` in an open transaction, like a long report query.
fn hold_lock(db: &TestDb) -> (postgres::Client, i32) {
    let mut holder = db.client();
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    holder
        .batch_execute("SET application_name = 'long-report'; BEGIN; SELECT count(*) FROM t")
        .unwrap();
    (holder, pid)
}

fn column_exists(db: &TestDb) -> bool {
    db.client()
        .query_one("SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 't' AND column_name = 'x'", &[])
        .unwrap()
        .get(0)
}

#[test]
fn blocked_migration_retries_then_gives_up_naming_the_blocker() {
    let (db, dir) = setup();
    let (_holder, holder_pid) = hold_lock(&db);
    dir.add("20240102000000_add_x", "ALTER TABLE t ADD COLUMN x int;");
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    let options = DeployOptions::default().locks(policy(300, 2, None));
    let mut events = Vec::new();
    let started = Instant::now();
    let err = executor(&db)
        .deploy(&migrations, &options, &mut |e| events.push(e.clone()))
        .unwrap_err();
    let ExecuteError::MigrationFailed(failure) = &err else {
        panic!("{err}")
    };
    assert_eq!(failure.code.as_deref(), Some("55P03"), "lock_not_available");
    assert_eq!(failure.attempts, 3);
    let blocker = failure.blocker.as_ref().expect("the blocker is named");
    assert_eq!(
        (blocker.pid, blocker.application_name.as_str()),
        (holder_pid, "long-report")
    );
    assert!(
        err.to_string().contains(&format!("pid {holder_pid}")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let retries = events
        .iter()
        .filter(|e| matches!(e, Event::Retry { .. }))
        .count();
    assert_eq!(retries, 2, "{events:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::LockWait { blocker, .. } if blocker.pid == holder_pid)));
    assert!(!column_exists(&db), "nothing half-applied");
    let last = rows(&db).pop().unwrap();
    assert_eq!(
        (last.migration_name.as_str(), last.state()),
        ("20240102000000_add_x", RowState::Failed)
    );
}

#[test]
fn retry_succeeds_once_the_blocker_is_gone() {
    let (db, dir) = setup();
    let (mut holder, _) = hold_lock(&db);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        holder.batch_execute("COMMIT").unwrap();
    });
    dir.add("20240102000000_add_x", "ALTER TABLE t ADD COLUMN x int;");
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    let options = DeployOptions::default().locks(policy(200, 10, None));
    let mut retries = 0;
    let report = executor(&db)
        .deploy(&migrations, &options, &mut |e| {
            retries += usize::from(matches!(e, Event::Retry { .. }))
        })
        .unwrap();
    release.join().unwrap();
    assert_eq!(report.applied.len(), 1);
    assert!(retries >= 1);
    assert!(column_exists(&db));
    let rows = rows(&db);
    assert_eq!(
        rows.len(),
        2,
        "one ledger row per migration, retries included"
    );
    assert_eq!(rows[1].applied_steps_count, 1);
}

#[test]
fn watchdog_frees_writers_queued_behind_a_waiting_migration() {
    let (db, dir) = setup();
    let (_holder, _) = hold_lock(&db);
    dir.add("20240102000000_add_x", "ALTER TABLE t ADD COLUMN x int;");
    let migrations = MigrationSource::new(dir.path()).load().unwrap();
    // No lock_timeout: only the watchdog can free the writers.
    let mut p = policy(0, 0, Some(400));
    p.exclusive_timeout = None;
    // A backstop so that a watchdog that never fires fails the test instead of hanging it.
    p.statement_timeout = Some(Duration::from_secs(20));
    let options = DeployOptions::default().locks(p);

    let writer_url = db.url.clone();
    let writer = std::thread::spawn(move || {
        let mut w = postgres::Client::connect(&writer_url, postgres::NoTls).unwrap();
        // Only once the migration waits for its lock does the writer queue behind it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while w
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND query LIKE 'ALTER TABLE t ADD COLUMN x%' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
            == 0
        {
            assert!(Instant::now() < deadline, "the migration never waited");
            std::thread::sleep(Duration::from_millis(10));
        }
        let t = Instant::now();
        w.batch_execute("INSERT INTO t VALUES (1)").unwrap();
        t.elapsed()
    });
    let mut cancelled = false;
    let err = executor(&db)
        .deploy(&migrations, &options, &mut |e| {
            cancelled |= matches!(e, Event::WatchdogCancelled { .. })
        })
        .unwrap_err();
    let stall = writer.join().unwrap();
    assert!(cancelled, "the watchdog cancelled the migration: {err}");
    assert!(
        stall < Duration::from_millis(1500),
        "writer stalled {stall:?}"
    );
    assert!(!column_exists(&db));
}

/// A Prisma CLI deploy started while ours runs waits in a blocking `pg_advisory_lock`, holding
/// a snapshot; our next `CREATE INDEX CONCURRENTLY` must wait for that snapshot: a deadlock.
/// Our deploy must finish anyway; the Prisma waiter could only have timed out (P1002).
#[test]
fn a_prisma_deploy_blocked_on_the_lock_does_not_break_our_concurrent_build() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        // Runs until the Prisma-like waiter below waits for the migration lock (30 s at most).
        (
            "20240101000000_init",
            "CREATE TABLE t (id int);\n\
             DO $$ BEGIN FOR i IN 1..3000 LOOP \
               EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                 AND NOT granted AND database = \
                 (SELECT oid FROM pg_database WHERE datname = current_database())); \
               PERFORM pg_sleep(0.01); END LOOP; END $$;",
        ),
        (
            "20240102000000_index",
            "CREATE INDEX CONCURRENTLY \"t_id_idx\" ON t (id);",
        ),
    ]);
    let engine = crate::common::engine(&db, dir.path());
    let deploy = std::thread::spawn(move || {
        let mut events = Vec::new();
        let result = engine.deploy_with(&mut |e| {
            events.push(e.to_string());
        });
        (
            result.map(|r| r.applied.len()).map_err(|e| e.to_string()),
            events,
        )
    });
    let mut observer = db.client();
    let active = |observer: &mut postgres::Client, sql: &str| -> bool {
        observer
            .query_one(sql, &[])
            .is_ok_and(|r| r.get::<_, i64>(0) > 0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !active(
        &mut observer,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND query LIKE '%FOR i IN 1..3000%' AND state = 'active' \
         AND pid <> pg_backend_pid()",
    ) {
        assert!(Instant::now() < deadline, "the first migration never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Prisma's own wait: a blocking pg_advisory_lock (its 10 s timeout is on the client side,
    // so the server-side wait goes on after Prisma gave up).
    let prisma_url = db.url.clone();
    let prisma = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&prisma_url, postgres::NoTls).unwrap();
        client
            .batch_execute("SET application_name = 'prisma-migrate'")
            .unwrap();
        client
            .batch_execute("SELECT pg_advisory_lock(72707369)")
            .map_err(|e| e.code().map(|c| c.code().to_owned()))
    });
    let (result, events) = deploy.join().unwrap();
    assert_eq!(result, Ok(2), "events: {events:#?}");
    let prisma = prisma.join().unwrap();
    // Whether the build had to wait for the waiter's snapshot depends on the cluster's oldest
    // running transaction (other tests' too): when it did, the waiter's wait was cancelled and a
    // warning names it; when it did not, the waiter simply got the lock after this deployment.
    // Either way this deployment succeeds and the waiter never fails otherwise.
    match &prisma {
        Err(Some(code)) if code == "57014" => assert!(
            events
                .iter()
                .any(|e| e.contains("cancelled the wait of pid") && e.contains("prisma-migrate")),
            "the warning names the waiter: {events:#?}"
        ),
        Ok(()) => eprintln!(
            "no deadlock this time: the build did not wait for the waiter; events: {events:#?}"
        ),
        other => panic!("the waiter failed otherwise: {other:?}; events: {events:#?}"),
    }
    let valid: bool = observer
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id_idx'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid, "the index is built and valid");
}
