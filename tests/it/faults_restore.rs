//! Fault injection during a restore: `migrate restore` killed (SIGKILL) while `pg_restore` loads
//! the backup. The original database must be intact (only read-only, as writes were stopped), and
//! the next `migrate restore`, or the next `migrate deploy`, must undo what the dead one left.

use std::path::Path;
use std::time::Instant;

use migrate_core::ledger::RowState;
use migrate_tests::fault_matrix::Scenario;
use migrate_tests::TestDb;

use crate::common::{last_json, table_exists, text, Dir};
use crate::faults::{
    app_state, applied, bulky_db, command, copying_into, count, deploy_without_backup, kill,
    ledger, run, tmp_backups, wait_for, AppState, INIT,
};

const ADDED: &str = "20240102000000_add";

/// A bulky database, a backup of it, then a migration deployed after the backup.
fn backed_up_then_changed() -> (
    TestDb,
    Dir,
    tempfile::TempDir,
    std::path::PathBuf,
    String,
    AppState,
) {
    let (db, dir) = bulky_db();
    let at_backup = app_state(&db);
    let (tmp, backups) = tmp_backups();
    let out = run(&db, &backups, &["backup", "create", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_json(&out.stdout)["id"].as_str().unwrap().to_owned();
    dir.add(
        ADDED,
        "CREATE TABLE added (id int); INSERT INTO added VALUES (1);",
    );
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (db, dir, tmp, backups, id, at_backup)
}

/// Databases whose name says they are a restore into `db` in progress.
fn restoring(db: &TestDb) -> Vec<String> {
    // From another database: a restore ends the sessions on this one.
    migrate_tests::cluster()
        .connect("postgres")
        .unwrap()
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE '%\\_restoring\\_%' \
             AND datname LIKE $1",
            &[&format!("{}%", &db.name[..db.name.len().min(30)])],
        )
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect()
}

fn read_only(db: &TestDb) -> bool {
    let on: String = db
        .client()
        .query_one("SHOW default_transaction_read_only", &[])
        .unwrap()
        .get(0);
    on == "on"
}

/// Starts `migrate restore ID` and kills it while `pg_restore` copies rows into the fresh
/// database; checks that the original is intact and only read-only.
fn kill_restore_mid_load(db: &TestDb, backups: &Path, id: &str) {
    let child = command(db, backups, &["restore", id, "--yes", "--drop-previous"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Other tests restore at the same time: only this database's copy counts.
    wait_for("pg_restore to copy rows into the fresh database", || {
        copying_into(db)
    });
    kill(child);

    // The original is untouched: the migration deployed after the backup is still there.
    assert_eq!(ledger(db), [applied(INIT), applied(ADDED)]);
    assert!(table_exists(db, "added"));
    assert_eq!(count(db, "SELECT count(*) FROM bulk"), 150_000);
    assert_eq!(count(db, "SELECT count(*) FROM post"), 2000);
    // What the dead process left: writes stopped, a half-loaded database.
    assert!(read_only(db), "writes were stopped for the restore");
    assert_eq!(restoring(db).len(), 1, "the half-loaded database is left");
}

#[test]
fn sigkill_during_a_restore_leaves_the_original_and_the_next_restore_completes() {
    let scenario = Scenario::start(
        6,
        "SIGKILL during a restore (pg_restore loading); next run: restore",
    );
    let (db, _dir, _tmp, backups, id, at_backup) = backed_up_then_changed();
    kill_restore_mid_load(&db, &backups, &id);

    let t0 = Instant::now();
    let out = run(&db, &backups, &["restore", &id, "--yes", "--drop-previous"]);
    let recovered = t0.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Interrupted restore") && stdout.contains("_restoring_"),
        "says what it cleaned up: {stdout}"
    );
    // Exactly the backup: the later migration and its table are gone, the data is whole.
    assert_eq!(ledger(&db), [applied(INIT)]);
    assert!(!table_exists(&db, "added"));
    assert_eq!(count(&db, "SELECT count(*) FROM bulk"), 150_000);
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2000);
    assert!(!read_only(&db));
    assert!(restoring(&db).is_empty(), "{:?}", restoring(&db));
    assert_eq!(
        app_state(&db),
        at_backup,
        "schema and rows as at backup time"
    );
    let out = run(&db, &backups, &["backup", "verify", &id, "--level", "2"]);
    assert_eq!(out.status.code(), Some(0), "the backup is intact");
    scenario.survived(
        "original intact but read-only; next restore drops the half-loaded database and completes",
        recovered,
    );
}

#[test]
fn sigkill_during_a_restore_then_deploy_lifts_the_read_only_mode_and_goes_on() {
    let scenario = Scenario::start(7, "SIGKILL during a restore; next run: deploy");
    let (db, dir, _tmp, backups, id, _) = backed_up_then_changed();
    kill_restore_mid_load(&db, &backups, &id);
    let before_restore = app_state(&db);

    // A service deploying at start-up runs the same pipeline as the CLI: it undoes what the dead
    // restore left and says so in its events.
    let mut said = Vec::new();
    let t0 = Instant::now();
    let report = crate::common::engine(&db, dir.path())
        .backup_dir(&backups)
        .deploy_with(&mut |e: &migrate_core::executor::Event| said.push(e.to_string()))
        .unwrap();
    let recovered = t0.elapsed();
    assert!(report.applied.is_empty(), "{report:?}");
    let all = said.join("\n");
    assert!(
        all.contains("interrupted restore") && all.contains("read-only") && all.contains(&id),
        "says what it undid: {all}"
    );
    assert!(!read_only(&db));
    assert!(restoring(&db).is_empty(), "{:?}", restoring(&db));
    assert_eq!(ledger(&db), [applied(INIT), applied(ADDED)]);
    assert_eq!(
        app_state(&db),
        before_restore,
        "as before the killed restore"
    );
    db.client()
        .batch_execute("INSERT INTO added VALUES (2)")
        .expect("writable again");
    assert_eq!(count(&db, "SELECT count(*) FROM bulk"), 150_000);
    scenario.survived(
        "deploy drops the half-loaded database, lifts the read-only mode, goes on",
        recovered,
    );
}

#[test]
fn a_second_restore_while_one_runs_is_refused_and_touches_nothing() {
    let (db, _dir, _tmp, backups, id, _) = backed_up_then_changed();
    let child = command(&db, &backups, &["restore", &id, "--yes", "--drop-previous"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first restore to load", || restoring(&db).len() == 1);
    let out = run(&db, &backups, &["restore", &id, "--yes", "--drop-previous"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    let first = child.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(ledger(&db), [applied(INIT)]);
    assert!(restoring(&db).is_empty());
    assert!(!ledger(&db).iter().any(|(_, s)| *s == RowState::Failed));
}

/// The narrowest window: a restore killed after closing the database to new sessions, before
/// its swap. The next deploy cannot even connect; it reopens the database from a maintenance
/// session first.
#[test]
fn a_restore_killed_while_the_database_was_closed_is_undone_by_the_next_deploy() {
    let (db, dir) = crate::backup::seeded_db();
    let leftover = format!(
        "{}_restoring_20990101_000000",
        &db.name[..db.name.len().min(30)]
    );
    let marker = serde_json::json!({
        "migrate_restore_of": db.name,
        "backup": "backup_20990101_000000",
        "was_read_only": false,
    });
    let mut admin = migrate_tests::cluster().connect("postgres").unwrap();
    for sql in [
        format!("CREATE DATABASE \"{leftover}\""),
        format!("COMMENT ON DATABASE \"{leftover}\" IS '{marker}'"),
        format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
            db.name
        ),
        format!(
            "ALTER DATABASE \"{}\" WITH ALLOW_CONNECTIONS false",
            db.name
        ),
    ] {
        admin.batch_execute(&sql).unwrap();
    }
    assert!(
        migrate_tests::cluster().connect(&db.name).is_err(),
        "closed"
    );

    dir.add(
        ADDED,
        "CREATE TABLE added (id int); INSERT INTO added VALUES (1);",
    );
    let (_tmp, backups) = tmp_backups();
    let out = deploy_without_backup(&db, &backups, dir.path().to_str().unwrap());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("reopened") && all.contains("read-only"),
        "{all}"
    );
    assert!(!read_only(&db));
    assert!(restoring(&db).is_empty());
    assert_eq!(ledger(&db), [applied(INIT), applied(ADDED)]);
}
