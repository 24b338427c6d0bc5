//! `resolve --applied` / `--rolled-back` with Prisma's row effects and errors.

use crate::common::engine;
use migrate_core::ledger::RowState;
use migrate_core::ResolveAction;
use migrate_tests::TestDb;

use crate::common::{rows, sha256_hex, table_exists, Dir};

#[test]
fn resolve_applied_records_without_running() {
    let db = TestDb::new();
    let sql = "CREATE TABLE hotfix (id int);";
    let dir = Dir::with(&[("20240101000000_hotfix", sql)]);
    let engine = engine(&db, dir.path());
    let outcome = engine
        .resolve(&ResolveAction::Applied("20240101000000_hotfix".into()))
        .unwrap();
    assert!(outcome.marked_applied);
    assert!(!table_exists(&db, "hotfix"), "no SQL of the migration runs");
    let row = &rows(&db)[0];
    assert_eq!(row.state(), RowState::Applied);
    assert_eq!(row.logs.as_deref(), Some(""));
    assert_eq!(row.applied_steps_count, 0);
    assert_eq!(row.finished_at, Some(row.started_at));
    assert_eq!(row.checksum, sha256_hex(sql.as_bytes()));

    let err = engine
        .resolve(&ResolveAction::Applied("20240101000000_hotfix".into()))
        .unwrap_err();
    assert!(err.to_string().contains("P3008"), "{err}");
    let err = engine
        .resolve(&ResolveAction::Applied("nope".into()))
        .unwrap_err();
    assert!(err.to_string().contains("P3017"), "{err}");
    let err = engine
        .resolve(&ResolveAction::RolledBack("nope".into()))
        .unwrap_err();
    assert!(err.to_string().contains("P3011"), "{err}");
    let err = engine
        .resolve(&ResolveAction::RolledBack("20240101000000_hotfix".into()))
        .unwrap_err();
    assert!(err.to_string().contains("P3012"), "{err}");
    assert_eq!(rows(&db).len(), 1, "errors change nothing");
}

#[test]
fn resolve_rolled_back_without_ledger_is_an_error() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "SELECT 1;")]);
    let err = engine(&db, dir.path())
        .resolve(&ResolveAction::RolledBack("20240101000000_a".into()))
        .unwrap_err();
    assert!(err.to_string().contains("no _prisma_migrations"), "{err}");
}
