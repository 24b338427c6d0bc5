//! Fault injection during a rollback that keeps the writes made after the backup (issue #12):
//! `migrate deploy` killed (SIGKILL) while its table-level restore swaps the covered table in,
//! and while it replays the writes. The restore's one transaction dies with the process; the
//! slot stays (its deployment's rollback is unfinished), and the next `migrate deploy` finishes
//! the rollback with the writes replayed, then no slot remains.

use std::process::Stdio;
use std::time::Instant;

use migrate_tests::fault_matrix::Scenario;
use migrate_tests::LogicalDb;

use crate::common::{last_json, text, Dir};
use crate::faults::kill;
use crate::replay::{deploy, exits, slots, DROP_FILLER, DROP_FILLER_SQL, INIT};

/// Tellers at the backup: enough rows that the swap (load, check) takes a moment.
const TELLERS: i32 = 100_000;

/// Whether a session of `db` runs a query matching `pattern` (SQL `LIKE`).
fn running(db: &LogicalDb, pattern: &str) -> bool {
    db.client()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE $1",
            &[&pattern],
        )
        .map(|r| r.get::<_, i64>(0) > 0)
        .unwrap_or(false)
}

/// A deployment dropping the tellers' `filler` whose health check first updates every teller
/// (once: a marker file), then fails: the rollback has `TELLERS` changes to replay. Killed when
/// a session runs `pattern`; then deployed again. Every update is there after the rerun, the
/// schema is the one before, and no slot remains.
fn killed_during(pattern: &str, scenario: Scenario) {
    let db = LogicalDb::new();
    let init = format!(
        "{}\nINSERT INTO pgbench_tellers SELECT g, 1, 0, 'bulk' FROM generate_series(11, {TELLERS}) g;",
        crate::replay::INIT_SQL
    );
    let dir = Dir::with(&[(INIT, &init)]);
    let backups = tempfile::tempdir().unwrap();
    exits(&mut deploy(&db.url, dir.path(), backups.path(), "true"), 0);
    let before = db.app_state().0;
    dir.add(DROP_FILLER, DROP_FILLER_SQL);

    let marker = backups.path().join("updated");
    let psql = migrate_tests::logical_cluster().bin_dir().join("psql");
    let health = format!(
        "sh -c 'test -e {m} && exit 1; touch {m}; {psql} -q \"$REPLAY_TEST_URL\" -c \"UPDATE pgbench_tellers SET tbalance = tbalance + 1\"; exit 1'",
        m = marker.display(),
        psql = psql.display()
    );
    let mut command = deploy(&db.url, dir.path(), backups.path(), &health);
    command
        .env("REPLAY_TEST_URL", &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while !running(&db, pattern) {
        assert!(
            Instant::now() < deadline,
            "the rollback never ran {pattern}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    kill(child);
    let killed = Instant::now();

    // The rerun finishes the dead deployment's rollback, with the writes.
    let out = deploy(&db.url, dir.path(), backups.path(), &health)
        .env("REPLAY_TEST_URL", &db.url)
        .output()
        .unwrap();
    let recovered = killed.elapsed();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("its process died while rolling back"),
        "{said}"
    );
    let replay = &last_json(&out.stdout)["rollback"]["restore"]["replay"];
    assert_eq!(replay["changes"], i64::from(TELLERS), "{said}");
    let mut client = db.client();
    let (rows, updated): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE tbalance = 1) FROM pgbench_tellers",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        (rows, updated),
        (i64::from(TELLERS), i64::from(TELLERS)),
        "every teller carries the update made after the backup: {said}"
    );
    assert_eq!(db.app_state().0, before, "the schema is the one before");
    assert!(slots(&mut client).is_empty(), "no slot remains");
    scenario.survived(
        "restore transaction rolled back with the process; next deploy finished the rollback and replayed every write",
        recovered,
    );
}

#[test]
fn sigkill_during_the_table_swap_then_deploy_finishes_the_rollback_with_the_writes() {
    let scenario = Scenario::start(21, "SIGKILL during a table-level restore's swap");
    // The restore's load of the covered table.
    killed_during("COPY %pgbench_tellers% FROM stdin%", scenario);
}

#[test]
fn sigkill_during_the_replay_then_deploy_finishes_the_rollback_with_the_writes() {
    let scenario = Scenario::start(
        22,
        "SIGKILL while a rollback replays the writes since the backup",
    );
    killed_during("SAVEPOINT migrate_replay;%", scenario);
}
