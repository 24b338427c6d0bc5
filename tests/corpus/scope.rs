//! Issue #12 on real histories: how often `--backup auto` can take a scoped backup, deploying
//! each migration on its own (the usual deployment), and what makes the others full. Offline
//! (the analyzer only): fast, no database.

use migrate_core::backup::{at_risk, AtRisk};
use migrate_core::source::MigrationSource;

#[test]
fn scoped_backup_coverage_on_every_history() {
    for dir in super::histories() {
        let migrations = MigrationSource::new(&dir).load().unwrap();
        let (mut bounded, mut unbounded, mut tables) = (0, 0, 0);
        let mut why: Vec<String> = Vec::new();
        for m in migrations.iter() {
            match at_risk(&[m]) {
                AtRisk::Tables(t) => {
                    bounded += 1;
                    tables += t.len();
                }
                AtRisk::Unbounded(reasons) => {
                    unbounded += 1;
                    why.extend(reasons.into_iter().take(1));
                }
                _ => {}
            }
        }
        let project = dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!(
            "corpus | scoped backups on {project}: {bounded}/{} migrations bounded ({tables} table(s) at risk in all), {unbounded} full",
            bounded + unbounded
        );
        for reason in why.iter().take(5) {
            eprintln!("corpus |   full because {reason}");
        }
        assert_eq!(bounded + unbounded, migrations.len());
    }
}

/// The table-level rollback on real histories: the first three quarters deployed, then the rest
/// with a health check that fails; the rollback (from the scoped backup `auto` takes) must leave
/// the schema fingerprint and the row counts exactly as before the deployment. On a
/// `wal_level = logical` server, so the rollback replays the writes made since the backup: the
/// deployment's own (its backfills, its deletes) must be told apart and left out, or the state
/// would differ; and no replication slot may remain.
#[test]
fn table_level_rollback_of_the_last_quarter_restores_every_history() {
    for dir in super::histories() {
        let names = super::migration_names(&dir);
        let first = names.len() * 3 / 4;
        let partial = tempfile::tempdir().unwrap();
        super::link_migrations(&dir, partial.path(), &names[..first]);
        let db = migrate_tests::LogicalDb::new();
        super::assert_ok(
            &super::migrate_url(
                &db.url,
                &[
                    "deploy",
                    "--migrations-dir",
                    partial.path().to_str().unwrap(),
                ],
            )
            .output()
            .unwrap(),
            "the first three quarters",
        );
        let before = db.app_state();
        eprintln!(
            "corpus | {}: {} tables before the rest",
            dir.display(),
            before.1.len()
        );
        let out = super::migrate_url(
            &db.url,
            &[
                "deploy",
                "--json",
                "--dangerous-skip-safety",
                "--health-sql",
                "SELECT 1 => 2",
                "--health-window",
                "0",
                "--migrations-dir",
                dir.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}", super::text(&out));
        let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(json["rollback"]["strategy"], "restore", "{json:#}");
        // A history whose last quarter the analyzer cannot bound gets a full backup (and the
        // whole-database restore): said in the backup step.
        let table_level = json["rollback"]["restore"]["previous_database"].is_null();
        assert_eq!(db.app_state(), before, "{}", dir.display());
        let slots: i64 = db
            .client()
            .query_one("SELECT count(*) FROM pg_replication_slots", &[])
            .unwrap()
            .get(0);
        assert_eq!(slots, 0, "no replication slot remains: {}", dir.display());
        let replay = &json["rollback"]["restore"]["replay"];
        if table_level {
            assert!(
                replay["deployment"].as_u64().unwrap_or(0) > 0,
                "the deployment's own transactions were left out of the replay: {json:#}"
            );
        }
        let backup = json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == "backup")
            .map(|s| {
                s["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(120)
                    .collect::<String>()
            })
            .unwrap_or_default();
        eprintln!(
            "corpus | {}: {first} deployed, the other {} rolled back {} in {} ms, state as before, \
             replay {} | backup: {backup}…",
            dir.display(),
            names.len() - first,
            if table_level { "table by table" } else { "by whole-database restore" },
            json["rollback"]["duration_ms"],
            replay
        );
    }
}
