//! A deployment killed during a `CREATE INDEX CONCURRENTLY` migration (mid-build: PostgreSQL
//! leaves an INVALID index) or between its success and its ledger update (a VALID index, the row
//! not finished): the next run looks at the index instead of blindly re-running the build
//! (regression test of a bug found by this fault matrix: the build ran again and failed with
//! `42P07 … already exists` on every later deploy).

use std::time::Instant;

use migrate_core::ledger::RowState;
use migrate_tests::fault_matrix::Scenario;

use crate::common::text;
use crate::faults::{
    app_state, applied, clean_state, count, deploy_without_backup, kill, ledger, spawn_deploy,
    tmp_backups, wait_for, INIT,
};

/// The only window between a migration's success and its ledger update: a file that must run
/// outside a transaction (`CREATE INDEX CONCURRENTLY`) gets its ledger row finished by a second
/// statement. The test holds that statement back with a table lock on the ledger, kills the
/// process there, and checks that the next deploy neither fails on the existing index nor leaves
/// the migration unrecorded.
#[test]
fn sigkill_between_a_concurrent_index_build_and_its_ledger_update_is_recovered() {
    let scenario = Scenario::start(
        4,
        "SIGKILL between a `CREATE INDEX CONCURRENTLY` and its ledger update",
    );
    let (db, dir) = crate::backup::seeded_db();
    const CIC: &str = "20240102000000_title_idx";
    dir.add(
        CIC,
        "CREATE INDEX CONCURRENTLY post_title_idx ON post (title);",
    );
    let (_tmp, backups) = tmp_backups();
    // Hold the build at its start, so the ledger can be locked while it waits.
    let mut hold_build = db.client();
    hold_build
        .batch_execute("BEGIN; LOCK TABLE post IN SHARE UPDATE EXCLUSIVE MODE;")
        .unwrap();
    let child = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    let others = "FROM pg_stat_activity WHERE datname = current_database() \
                  AND pid <> pg_backend_pid()";
    wait_for("the index build to wait for its lock", || {
        count(
            &db,
            &format!(
                "SELECT count(*) {others} AND query LIKE '%CONCURRENTLY%' \
                 AND wait_event_type = 'Lock'"
            ),
        ) == 1
    });
    let mut hold_ledger = db.client();
    hold_ledger
        .batch_execute("BEGIN; LOCK TABLE _prisma_migrations IN SHARE MODE;")
        .unwrap();
    hold_build.batch_execute("COMMIT").unwrap();
    drop(hold_build);
    let valid = "SELECT count(*) FROM pg_index WHERE indexrelid = \
                 to_regclass('public.post_title_idx') AND indisvalid";
    wait_for("the index to be built", || count(&db, valid) == 1);
    wait_for("the ledger update to wait", || {
        count(
            &db,
            &format!(
                "SELECT count(*) {others} AND query LIKE '%_prisma_migrations%' \
                 AND wait_event_type = 'Lock'"
            ),
        ) == 1
    });
    kill(child);
    // The statement already reached the server, which would finish it once the lock is free;
    // ending its session first gives the state of a process that died just before sending it.
    db.client()
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) {others} AND query LIKE '%_prisma_migrations%' \
             AND wait_event_type = 'Lock'"
        ))
        .unwrap();
    hold_ledger.batch_execute("ROLLBACK").unwrap();
    drop(hold_ledger);
    wait_for("the killed session to end", || {
        count(&db, &format!("SELECT count(*) {others}")) == 0
    });

    // The window: the index exists, its migration is not recorded as finished.
    assert_eq!(count(&db, valid), 1);
    assert_eq!(
        ledger(&db),
        [applied(INIT), (CIC.to_owned(), RowState::Failed)]
    );

    let t0 = Instant::now();
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    let recovered = t0.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!(
        "next deploy: exit {:?}\n{stdout}{stderr}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert_eq!(count(&db, valid), 1);
    assert_eq!(ledger(&db).last(), Some(&applied(CIC)));
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        "next deploy finds the index valid and records the migration",
        recovered,
    );
}

/// The same file killed in the middle of the build: PostgreSQL leaves an INVALID index behind.
#[test]
fn sigkill_during_a_concurrent_index_build_is_recovered() {
    let scenario = Scenario::start(5, "SIGKILL during a `CREATE INDEX CONCURRENTLY` build");
    let (db, dir) = crate::backup::seeded_db();
    const CIC: &str = "20240102000000_title_idx";
    dir.add(
        CIC,
        "CREATE INDEX CONCURRENTLY post_title_idx ON post (title);",
    );
    let (_tmp, backups) = tmp_backups();
    // An open write transaction: the build registers its index, then waits for it.
    let mut writer = db.client();
    writer
        .batch_execute("BEGIN; INSERT INTO post (author_id, title) VALUES (1, 'w');")
        .unwrap();
    let child = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    let others = "FROM pg_stat_activity WHERE datname = current_database() \
                  AND pid <> pg_backend_pid()";
    wait_for("the index build to wait for the writer", || {
        count(
            &db,
            &format!(
                "SELECT count(*) {others} AND query LIKE '%CONCURRENTLY%' \
                 AND wait_event_type = 'Lock'"
            ),
        ) == 1
    });
    kill(child);
    db.client()
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) {others} AND query LIKE '%CONCURRENTLY%'"
        ))
        .unwrap();
    writer.batch_execute("ROLLBACK").unwrap();
    drop(writer);
    wait_for("the killed session to end", || {
        count(&db, &format!("SELECT count(*) {others}")) == 0
    });
    let invalid = "SELECT count(*) FROM pg_index WHERE indexrelid = \
                   to_regclass('public.post_title_idx') AND NOT indisvalid";
    assert_eq!(count(&db, invalid), 1, "PostgreSQL left an INVALID index");
    assert_eq!(
        ledger(&db),
        [applied(INIT), (CIC.to_owned(), RowState::Failed)]
    );

    let t0 = Instant::now();
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    let recovered = t0.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!(
        "next deploy: exit {:?}\n{stdout}{stderr}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(count(&db, invalid), 0);
    assert_eq!(ledger(&db).last(), Some(&applied(CIC)));
    assert_eq!(
        app_state(&db),
        clean_state(crate::backup::seeded_db, &dir),
        "schema and rows as after a clean deploy"
    );
    scenario.survived(
        "next deploy drops the INVALID index and builds it again",
        recovered,
    );
}
