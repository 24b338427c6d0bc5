//! A failing migration: Prisma's row, P3018 message, P3009 refusal, recovery.

use crate::common::engine;
use migrate_core::executor::ExecuteError;
use migrate_core::ledger::RowState;
use migrate_core::{Error, ResolveAction};
use migrate_tests::TestDb;

use crate::common::{rows, table_exists, Dir};

#[test]
fn failure_is_atomic_recorded_and_blocks_until_resolved() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_init", "CREATE TABLE a (id int);"),
        (
            "20240102000000_bad",
            "CREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\nSELECT * FROM nowhere;\n",
        ),
        ("20240103000000_after", "CREATE TABLE c (id int);"),
    ]);
    let engine = engine(&db, dir.path());
    let err = apply(&db, &dir).unwrap_err();
    let Error::Execute(ExecuteError::MigrationFailed(failure)) = &err else {
        panic!("expected a migration failure, got {err}");
    };
    assert_eq!(failure.name, "20240102000000_bad");
    assert_eq!(failure.code.as_deref(), Some("42P01"));
    assert_eq!(failure.at.map(|at| at.line), Some(3));
    assert_eq!(failure.applied_before, ["20240101000000_init"]);
    assert!(failure.recorded);
    let message = err.to_string();
    assert!(
        message.contains("P3018") && message.contains("resolve --rolled-back 20240102000000_bad"),
        "{message}"
    );

    // PostgreSQL rolled the whole file back; nothing after it ran.
    assert!(!table_exists(&db, "b") && !table_exists(&db, "c"));
    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM a", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 0);

    let rows = rows(&db);
    assert_eq!(rows.len(), 2);
    let bad = &rows[1];
    assert_eq!(bad.state(), RowState::Failed);
    assert_eq!(bad.applied_steps_count, 0);
    let logs = bad.logs.as_deref().unwrap();
    assert!(logs.starts_with("A migration failed to apply."), "{logs}");
    assert!(
        logs.contains("Migration name: 20240102000000_bad")
            && logs.contains("Database error code: 42P01")
    );
    assert!(
        logs.contains("relation \"nowhere\" does not exist"),
        "{logs}"
    );

    // P3009 until resolved, and nothing is applied meanwhile.
    let err = apply(&db, &dir).unwrap_err().to_string();
    assert!(
        err.contains("P3009") && err.contains("20240102000000_bad"),
        "{err}"
    );
    assert!(!table_exists(&db, "c"));

    // Prisma's documented recovery: fix, resolve --rolled-back, deploy again.
    dir.add("20240102000000_bad", "CREATE TABLE b (id int);\n");
    engine
        .resolve(&ResolveAction::RolledBack("20240102000000_bad".into()))
        .unwrap();
    let report = apply(&db, &dir).unwrap();
    let names: Vec<_> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["20240102000000_bad", "20240103000000_after"]);
    let rows = crate::common::rows(&db);
    let bad_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.migration_name == "20240102000000_bad")
        .collect();
    assert_eq!(
        bad_rows.len(),
        2,
        "the rolled-back attempt stays, like Prisma's"
    );
    assert_eq!(bad_rows[0].state(), RowState::RolledBack);
    assert_eq!(bad_rows[1].state(), RowState::Applied);
    assert!(engine.status().unwrap().is_up_to_date());
}

#[test]
fn failure_after_an_inner_commit_says_what_stayed_committed() {
    let db = TestDb::new();
    let sql = "CREATE TABLE kept (id int);\nCOMMIT;\nCREATE TABLE lost (id int);\nSELECT * FROM nowhere;\n";
    let dir = Dir::with(&[("20240101000000_split", sql)]);
    let err = apply(&db, &dir).unwrap_err();
    let Error::Execute(ExecuteError::MigrationFailed(failure)) = &err else {
        panic!("{err}");
    };
    assert_eq!(failure.committed_through.map(|at| at.line), Some(2));
    assert!(err.to_string().contains("remain applied"), "{err}");
    assert!(
        table_exists(&db, "kept"),
        "PostgreSQL committed the part before COMMIT"
    );
    assert!(!table_exists(&db, "lost"));
}

#[test]
fn missing_migration_sql_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", "CREATE TABLE a (id int);")]);
    std::fs::create_dir(dir.path().join("20240102000000_empty")).unwrap();
    let err = engine(&db, dir.path()).deploy().unwrap_err().to_string();
    assert!(
        err.contains("P3015") && err.contains("20240102000000_empty/migration.sql"),
        "{err}"
    );
    assert!(
        !table_exists(&db, "a"),
        "stricter than Prisma: nothing is applied"
    );
}

#[allow(clippy::result_large_err)] // the crate's error, as the tests match it
/// The executor's own deploy: Prisma's semantics of a failed migration (recorded, blocking until
/// resolved), which the pipeline's automatic rollback would resolve.
fn apply(
    db: &migrate_tests::TestDb,
    dir: &crate::common::Dir,
) -> Result<migrate_core::DeployReport, Error> {
    use migrate_core::MigrationExecutor;
    let migrations = migrate_core::MigrationSource::new(dir.path()).load()?;
    let options = migrate_core::DeployOptions::default();
    Ok(crate::common::executor(db).deploy(&migrations, &options, &mut |_| {})?)
}
