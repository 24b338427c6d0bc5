//! Real-world replay: every Prisma history of `../shared/corpus` deploys from scratch through
//! `Engine::deploy()`, safety gate included, as a service deploys it (no approval needed on a
//! fresh database). Faults and races on the corpus: `tests/corpus/`.

use crate::common::engine;
use std::path::PathBuf;

use migrate_core::MigrationSource;
use migrate_tests::TestDb;

use crate::common::{rows, sha256_hex};

fn corpus_dir() -> PathBuf {
    std::env::var_os("MIGRATE_CORPUS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    )
}

#[test]
fn every_corpus_history_deploys_and_matches_its_files() {
    let root = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&root) else {
        eprintln!(
            "NOTICE: corpus replay skipped: {} not found",
            root.display()
        );
        return;
    };
    let mut projects: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path().join("migrations"))
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    assert!(
        !projects.is_empty(),
        "no */migrations under {}",
        root.display()
    );
    let mut total = 0;
    for dir in projects {
        let db = TestDb::new();
        let migrations = MigrationSource::new(&dir).load().unwrap();
        let engine = engine(&db, &dir);
        let started = std::time::Instant::now();
        let report = engine
            .deploy()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(report.applied.len(), migrations.len(), "{}", dir.display());
        let again = engine.deploy().unwrap();
        assert!(again.applied.is_empty(), "second deploy is a no-op");
        assert!(engine.status().unwrap().is_up_to_date());
        for row in rows(&db) {
            let file = dir.join(&row.migration_name).join("migration.sql");
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(row.checksum, sha256_hex(&bytes), "{}", file.display());
        }
        eprintln!(
            "replayed {} migrations of {} in {:.2}s",
            migrations.len(),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        total += migrations.len();
    }
    eprintln!("corpus replay: {total} migrations deployed, ledgers match the files");
}
