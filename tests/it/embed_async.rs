//! Embedding in async services: the sync API called from inside a tokio runtime (how axum and
//! actix services start) and the async facade, on both runtime flavours.

use crate::common::engine;

use crate::common::{table_exists, Dir};

const INIT: (&str, &str) = ("20240101000000_init", "CREATE TABLE item (id int);");

// The test database is made outside the runtime: the test support's own sync client.
fn runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().unwrap()
}

#[test]
fn the_sync_one_liner_works_inside_a_multi_thread_runtime() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    let engine = engine(&db, dir.path());
    let report = runtime(true).block_on(async { engine.deploy() }).unwrap();
    assert_eq!(report.applied, [INIT.0]);
    assert!(report.backup_id.is_some(), "the same pipeline as the CLI");
    assert!(table_exists(&db, "public.item"));
}

#[test]
fn the_sync_one_liner_works_inside_a_current_thread_runtime() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    let engine = engine(&db, dir.path());
    runtime(false).block_on(async { engine.deploy() }).unwrap();
    assert!(table_exists(&db, "public.item"));
}

#[test]
fn deploy_async_runs_off_the_runtime_and_deploys() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    let engine = engine(&db, dir.path());
    let (report, ticked) = runtime(false).block_on(async {
        // Another task keeps running while the deployment blocks elsewhere.
        let ticker = tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            "ticked"
        });
        (engine.deploy_async().await, ticker.await.unwrap())
    });
    let report = report.unwrap();
    assert_eq!(report.applied, [INIT.0]);
    assert_eq!(ticked, "ticked");
    assert!(table_exists(&db, "public.item"));
}
