//! First contact: a fresh database, and a database deployed half-way, take the rest of a real
//! history through the safety gate without any approval.

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

/// Deploys the first migrations of `project` at several points (the 219 for trigger.dev,
/// and each quarter), then the whole directory: the rest must deploy without approval, and
/// end as a clean deploy.
fn partial_then_rest(project: &'static str, extra: &[usize]) {
    let Some(dir) = history(project) else {
        return;
    };
    let clean = clean_state(project, &dir);
    let names = migration_names(&dir);
    let mut points: Vec<usize> = [1, 2, 3].iter().map(|q| names.len() * q / 4).collect();
    points.extend_from_slice(extra);
    for first in points {
        let partial = tempfile::tempdir().unwrap();
        super::link_migrations(&dir, partial.path(), &names[..first]);
        let db = TestDb::new();
        assert_ok(
            &deploy(&db, partial.path()),
            &format!("first {first} of {project}"),
        );
        let applied = migrate_core::ledger::read_rows(&mut db.client())
            .unwrap()
            .len();
        assert_eq!(
            applied, first,
            "{project}: the partial deploy applied {applied}"
        );
        let out = deploy(&db, &dir);
        assert_ok(&out, &format!("{project}: the rest after {first}"));
        assert_complete(
            &db,
            &dir,
            clean,
            &format!("{project}: {first}, then the rest"),
        );
        eprintln!(
            "corpus | {project}: {first} deployed, then the other {} | exit 0, no approval",
            names.len() - first
        );
    }
}

#[test]
fn trigger_dev_deployed_part_way_takes_the_rest_without_approval() {
    // 219: the issue's; 159: just before a type change of the existing, empty "Task" table.
    partial_then_rest("trigger.dev", &[219, 159]);
}

#[test]
fn documenso_deployed_part_way_takes_the_rest_without_approval() {
    partial_then_rest("documenso", &[]);
}

#[test]
fn rallly_deployed_part_way_takes_the_rest_without_approval() {
    partial_then_rest("rallly", &[]);
}

#[test]
fn ghostfolio_deployed_part_way_takes_the_rest_without_approval() {
    partial_then_rest("ghostfolio", &[]);
}
