//! Embedding in async services: the sync API called from inside a tokio runtime (how axum and
//! actix services start) and the async facade, on both runtime flavours.

use migrate_core::Engine;

use crate::common::{backup_dir, table_exists, url, Dir};

const INIT: (&str, &str) = ("20240101000000_init", "CREATE TABLE item (id int);");

#[tokio::test(flavor = "multi_thread")]
async fn the_sync_one_liner_works_inside_a_multi_thread_runtime() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    let report = Engine::new(url(&db), dir.path())
        .backup_dir(backup_dir())
        .deploy()
        .unwrap();
    assert_eq!(report.applied, [INIT.0]);
    assert!(report.backup_id.is_some(), "the same pipeline as the CLI");
    assert!(table_exists(&db, "public.item"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_sync_one_liner_works_inside_a_current_thread_runtime() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    Engine::new(url(&db), dir.path())
        .backup_dir(backup_dir())
        .deploy()
        .unwrap();
    assert!(table_exists(&db, "public.item"));
}

#[tokio::test(flavor = "current_thread")]
async fn deploy_async_runs_off_the_runtime_and_deploys() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[INIT]);
    // Another task keeps running while the deployment blocks elsewhere.
    let ticker = tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        "ticked"
    });
    let report = Engine::new(url(&db), dir.path())
        .backup_dir(backup_dir())
        .deploy_async()
        .await
        .unwrap();
    assert_eq!(report.applied, [INIT.0]);
    assert_eq!(ticker.await.unwrap(), "ticked");
    assert!(table_exists(&db, "public.item"));
}
