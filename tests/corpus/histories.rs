//! First contact: a fresh database, and a database deployed half-way, take the rest of a real
//! history through the safety gate without any approval.

use std::path::Path;

use migrate_tests::TestDb;

use super::{assert_complete, assert_ok, clean_state, deploy, histories, history, migration_names};

#[test]
fn every_history_deploys_into_a_fresh_database_without_approval() {
    for dir in histories() {
        let db = TestDb::new();
        let out = deploy(&db, &dir);
        assert_ok(&out, &format!("fresh deploy of {}", dir.display()));
        let again = deploy(&db, &dir);
        assert_ok(&again, "second deploy");
        let rows = migrate_core::ledger::read_rows(&mut db.client()).unwrap();
        assert_eq!(rows.len(), migration_names(&dir).len(), "{}", dir.display());
        eprintln!(
            "corpus | fresh deploy of {} | exit 0, {} migrations, no approval",
            dir.display(),
            rows.len()
        );
    }
}

#[test]
fn trigger_dev_deployed_half_way_takes_the_rest_without_approval() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    let clean = clean_state("trigger.dev", &dir);
    let names = migration_names(&dir);
    let first = 219;
    let partial = tempfile::tempdir().unwrap();
    link_first(&dir, partial.path(), &names[..first]);
    let db = TestDb::new();
    assert_ok(&deploy(&db, partial.path()), "first 219 migrations");
    let out = deploy(&db, &dir);
    assert_ok(&out, "the remaining migrations");
    assert_complete(&db, &dir, clean, "partial then rest");
    eprintln!(
        "corpus | trigger.dev: {first} deployed, then the other {} | exit 0, no approval",
        names.len() - first
    );
}

/// A migrations directory holding the first migrations of `dir` (symbolic links, the corpus
/// is never copied).
fn link_first(dir: &Path, to: &Path, names: &[String]) {
    std::fs::copy(
        dir.join("migration_lock.toml"),
        to.join("migration_lock.toml"),
    )
    .unwrap();
    for name in names {
        std::os::unix::fs::symlink(dir.join(name), to.join(name)).unwrap();
    }
}
