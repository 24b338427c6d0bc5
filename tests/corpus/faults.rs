//! Faults during a real deploy of trigger.dev (820 migrations, 71 of them `CREATE INDEX
//! CONCURRENTLY` files), each followed at once by one rerun of `migrate deploy` with its
//! defaults, which must finish the job: the fault matrix on the corpus.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use migrate_core::embedded::EmbeddedCluster;
use migrate_tests::fault_matrix::Scenario;
use migrate_tests::TestDb;

use super::{assert_complete, assert_ok, clean_state, deploy, history, spawn_deploy, wait_until};

/// When the deploy is killed.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This long after it started (safety gate, backup).
    After(Duration),
    /// Once this many migrations are recorded applied.
    Applied(i64),
}

/// Migrations recorded applied in the database of `client` (0 before the ledger exists).
fn applied_in(client: &mut postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT CASE WHEN to_regclass('_prisma_migrations') IS NULL THEN 0 ELSE \
             (SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL) END",
            &[],
        )
        .map_or(0, |r| r.get(0))
}

fn applied_count(db: &TestDb) -> i64 {
    applied_in(&mut db.client())
}

fn reach(db: &TestDb, moment: Moment, started: Instant) {
    match moment {
        Moment::After(d) => std::thread::sleep(d.saturating_sub(started.elapsed())),
        Moment::Applied(n) => assert!(
            wait_until(Duration::from_secs(300), || applied_count(db) >= n),
            "the deploy never applied {n} migrations"
        ),
    }
}

/// Kills `child` with SIGKILL and reaps it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

/// Reruns the deploy at once and checks the result; returns how long the rerun took.
fn rerun_and_check(db: &TestDb, dir: &Path, what: &str) -> Duration {
    let t0 = Instant::now();
    let out = deploy(db, dir);
    let took = t0.elapsed();
    assert_ok(&out, &format!("rerun after {what}"));
    assert_complete(db, dir, clean_state("trigger.dev", dir), what);
    took
}

#[test]
fn sigkill_at_four_moments_then_one_rerun_recovers() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    clean_state("trigger.dev", &dir);
    let moments = [
        (
            14,
            "SIGKILL 0.3 s into a deploy of trigger.dev (safety gate)",
            Moment::After(Duration::from_millis(300)),
        ),
        (
            15,
            "SIGKILL once 100 of trigger.dev's migrations are applied",
            Moment::Applied(100),
        ),
        (
            16,
            "SIGKILL once 400 of trigger.dev's migrations are applied",
            Moment::Applied(400),
        ),
        (
            17,
            "SIGKILL once 700 of trigger.dev's migrations are applied",
            Moment::Applied(700),
        ),
    ];
    for (order, name, moment) in moments {
        let scenario = Scenario::start(order, name);
        let db = TestDb::new();
        let started = Instant::now();
        let child = spawn_deploy(&db, &dir);
        reach(&db, moment, started);
        let applied_before = applied_count(&db);
        kill(child);
        let took = rerun_and_check(&db, &dir, name);
        scenario.survived(
            &format!(
                "killed with {applied_before} applied; the rerun, started at once, applies the \
                 rest: every migration once, no failed row, schema and rows as a clean deploy"
            ),
            took,
        );
    }
}

#[test]
fn sigkill_inside_a_concurrent_index_build_then_one_rerun_recovers() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    clean_state("trigger.dev", &dir);
    let name =
        "SIGKILL while trigger.dev's first CREATE INDEX CONCURRENTLY waits for an old snapshot";
    let scenario = Scenario::start(18, name);
    let db = TestDb::new();
    // An open snapshot (a long report, say): every concurrent build waits for it.
    let mut reader = db.client();
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")
        .unwrap();
    let child = spawn_deploy(&db, &dir);
    let mut observer = db.client();
    let mut builder: Option<i32> = None;
    let waiting = wait_until(Duration::from_secs(300), || {
        builder = observer
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND query ILIKE '%CREATE%INDEX CONCURRENTLY%' AND wait_event_type = 'Lock' \
                 LIMIT 1",
                &[],
            )
            .ok()
            .flatten()
            .map(|r| r.get(0));
        builder.is_some()
    });
    assert!(waiting, "no concurrent build ever waited");
    let builder = builder.unwrap();
    let applied_before = applied_count(&db);
    kill(child);
    let killed = Instant::now();
    // The rerun starts at once, while the killed client's backend still runs its build and
    // holds the migration lock.
    let t0 = Instant::now();
    let rerun = spawn_deploy(&db, &dir);
    let orphan_gone = wait_until(Duration::from_secs(10), || {
        observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                &[&builder],
            )
            .is_ok_and(|r| r.get::<_, i64>(0) == 0)
    });
    let orphan_secs = killed.elapsed().as_secs_f64();
    assert!(
        orphan_gone,
        "the orphaned backend {builder} still runs 10 s after its client died"
    );
    reader.batch_execute("COMMIT").unwrap();
    let out = rerun.wait_with_output().unwrap();
    let took = t0.elapsed();
    assert_ok(&out, "rerun after the kill");
    assert_complete(&db, &dir, clean_state("trigger.dev", &dir), name);
    let invalid: i64 = observer
        .query_one("SELECT count(*) FROM pg_index WHERE NOT indisvalid", &[])
        .unwrap()
        .get(0);
    assert_eq!(invalid, 0, "no INVALID index left");
    scenario.survived(
        &format!(
            "killed with {applied_before} applied, the build waiting; the server ended the \
             orphaned backend {orphan_secs:.1} s later (client gone), the rerun, started at \
             once, waited for the lock, rebuilt the index and finished"
        ),
        took,
    );
}

#[test]
fn session_terminated_then_one_rerun_recovers() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    clean_state("trigger.dev", &dir);
    let name = "trigger.dev deploy's session terminated (pg_terminate_backend) at 300 applied";
    let scenario = Scenario::start(19, name);
    let db = TestDb::new();
    let child = spawn_deploy(&db, &dir);
    reach(&db, Moment::Applied(300), Instant::now());
    db.client()
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND application_name = 'migrate'",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "the deploy cannot succeed");
    let took = rerun_and_check(&db, &dir, name);
    scenario.survived(
        &format!(
            "deploy exits {:?}; the rerun applies the rest, every migration once",
            out.status.code().unwrap_or(-1)
        ),
        took,
    );
}

#[test]
fn server_crash_during_a_deploy_then_one_rerun_recovers() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    let clean = clean_state("trigger.dev", &dir).clone();
    let name = "server crash (pg_ctl stop -m immediate) during a trigger.dev deploy, restarted";
    let scenario = Scenario::start(20, name);
    // A cluster of its own: the crash must not disturb the other tests.
    let cluster = EmbeddedCluster::start().unwrap();
    let db_name = cluster.create_database("crash").unwrap();
    let db = TestDb {
        url: cluster.url(&db_name),
        name: db_name.clone(),
    };
    let applied = |cluster: &EmbeddedCluster| -> i64 {
        cluster
            .connect(&db_name)
            .map_or(0, |mut client| applied_in(&mut client))
    };
    let child = spawn_deploy(&db, &dir);
    assert!(wait_until(Duration::from_secs(300), || applied(&cluster) >= 300));
    cluster.restart_immediate().unwrap();
    let out = child.wait_with_output().unwrap();
    let t0 = Instant::now();
    let rerun = deploy(&db, &dir);
    let took = t0.elapsed();
    assert_ok(&rerun, "rerun after the crash");
    let mut client = cluster.connect(&db_name).unwrap();
    let state = migrate_tests::app_state_of(&mut client, &db_name);
    assert!(
        state == clean,
        "schema or rows differ from a clean deploy's"
    );
    let rows = migrate_core::ledger::read_rows(&mut client).unwrap();
    let applied_rows = rows
        .iter()
        .filter(|r| r.state() == migrate_core::ledger::RowState::Applied)
        .count();
    assert_eq!(applied_rows, super::migration_names(&dir).len());
    assert!(rows
        .iter()
        .all(|r| r.state() != migrate_core::ledger::RowState::Failed));
    scenario.survived(
        &format!(
            "deploy exits {:?}; crash recovery undid the running migration; the rerun applies \
             the rest, every migration once",
            out.status.code().unwrap_or(-1)
        ),
        took,
    );
}
