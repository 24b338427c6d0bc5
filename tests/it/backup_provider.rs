//! A custom backup provider as a first-class citizen: its own part of the manifest (a snapshot
//! id), its own list of backups (not the store's directory), found by the rollback planner and
//! restored through it.

use std::sync::Mutex;

use migrate_core::backup::{
    Backup, BackupError, BackupProvider, BackupStore, PgDumpBackup, ProviderPart, RestoreOptions,
    RestoreReport, VerifyLevel, VerifyOptions, VerifyReport,
};
use migrate_core::connection::DatabaseUrl;
use migrate_core::ledger::LockWait;
use migrate_core::rollback::{self, Preference, RollbackError, Selection, StrategyKind};
use migrate_core::Engine;
use serde_json::json;

use crate::backup::{provider, seeded_db, state_of};
use crate::common::{rows, table_exists, url};
use crate::restore::{deploy_risky, RISKY_NAME};

const INIT: &str = "20240101000000_init";
const NAME: &str = "test-snapshot";

/// Takes its "snapshots" with `pg_dump`, records a snapshot id in the manifest, and keeps its
/// catalogue of backups to itself.
#[derive(Debug)]
struct SnapshotProvider {
    inner: PgDumpBackup,
    taken: Mutex<Vec<Backup>>,
    restored: Mutex<Vec<String>>,
}

impl SnapshotProvider {
    fn new() -> Self {
        Self {
            inner: provider(),
            taken: Mutex::default(),
            restored: Mutex::default(),
        }
    }
}

impl BackupProvider for SnapshotProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn backup(&self, url: &DatabaseUrl, store: &BackupStore) -> Result<Backup, BackupError> {
        let mut backup = self.inner.backup(url, store)?;
        let snapshot = format!("snap-{}", 123 + self.taken.lock().unwrap().len());
        backup.manifest.provider = Some(ProviderPart::new(NAME, json!({ "snapshot": snapshot })));
        backup.manifest.write(&backup.manifest_path())?;
        self.taken.lock().unwrap().push(backup.clone());
        Ok(backup)
    }

    fn backups(&self, _: &BackupStore) -> Result<Vec<Backup>, BackupError> {
        Ok(self.taken.lock().unwrap().clone())
    }

    fn verify(
        &self,
        backup: &Backup,
        level: VerifyLevel,
        options: &VerifyOptions,
    ) -> Result<VerifyReport, BackupError> {
        self.inner.verify(backup, level, options)
    }

    fn restore(
        &self,
        backup: &Backup,
        url: &DatabaseUrl,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let part = backup.manifest.provider.as_ref();
        assert_eq!(part.map(|p| p.name.as_str()), Some(NAME), "not one of ours");
        let snapshot = part.and_then(|p| p.data["snapshot"].as_str()).unwrap();
        self.restored.lock().unwrap().push(snapshot.to_owned());
        self.inner.restore(backup, url, options)
    }
}

#[test]
fn custom_provider_manifest_part_round_trips_and_rollback_finds_and_restores_through_it() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let snapshots = BackupStore::new(tmp.path().join("snapshots"));
    let provider = SnapshotProvider::new();
    let backup = provider.backup(&url(&db), &snapshots).unwrap();

    // The manifest on disk holds the provider's part, and reads back identically.
    let text = std::fs::read_to_string(backup.manifest_path()).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        raw["provider"],
        json!({ "name": NAME, "data": { "snapshot": "snap-123" } })
    );
    let loaded = Backup::open(&backup.manifest_path()).unwrap();
    assert_eq!(loaded, backup);
    assert_eq!(loaded.manifest.provider_name(), NAME);
    assert_eq!(
        loaded.manifest.provider.as_ref().unwrap().data["snapshot"],
        "snap-123"
    );
    // pg_dump and the finder by id accept it too.
    assert!(provider
        .verify(&loaded, VerifyLevel::Contents, &VerifyOptions::default())
        .unwrap()
        .passed());
    assert_eq!(provider.find(&snapshots, backup.id()).unwrap(), backup);

    deploy_risky(&db, &dir, false);
    db.client()
        .batch_execute("INSERT INTO follower (author_id) VALUES (1), (2)")
        .unwrap();

    // The planner's store has no backup: only the provider knows it.
    let elsewhere = BackupStore::new(tmp.path().join("elsewhere"));
    assert!(elsewhere.list().unwrap().is_empty());
    let migrations = Engine::new(url(&db), dir.path()).migrations().unwrap();
    let selection = Selection::To(INIT.into());
    let by_directory = rollback::plan(
        &url(&db),
        &migrations,
        &selection,
        &elsewhere,
        &PgDumpBackup::default(),
        Preference::Restore,
    )
    .unwrap_err();
    assert!(
        matches!(by_directory, RollbackError::NotApplicable { .. }),
        "{by_directory:?}"
    );
    let plan = rollback::plan(
        &url(&db),
        &migrations,
        &selection,
        &elsewhere,
        &provider,
        Preference::Restore,
    )
    .unwrap();
    assert_eq!(plan.strategy, StrategyKind::Restore, "{}", plan.reason);
    assert_eq!(plan.backup.as_ref(), Some(&backup));

    let outcome = rollback::execute(
        &plan,
        &url(&db),
        &provider,
        LockWait::default(),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(outcome.strategy, StrategyKind::Restore);
    assert_eq!(outcome.rolled_back, [RISKY_NAME]);
    assert_eq!(*provider.restored.lock().unwrap(), ["snap-123"]);
    assert!(!table_exists(&db, "tag") && !table_exists(&db, "follower"));
    let (authors, has_score): (i64, bool) = {
        let row = db
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM author), \
                 EXISTS (SELECT FROM information_schema.columns \
                         WHERE table_name = 'post' AND column_name = 'score')",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((authors, has_score), (50, true), "the pre-deployment data");
    assert_eq!(
        backup.manifest.state.differences(&state_of(&db)),
        Vec::<String>::new()
    );
    let names: Vec<String> = rows(&db).into_iter().map(|r| r.migration_name).collect();
    assert_eq!(names, [INIT], "the ledger is the backup's");
}
