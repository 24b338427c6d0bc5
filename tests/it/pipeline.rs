//! The deployment pipeline end to end: backup, apply, verification, health probes, automatic
//! rollback, journal.

use std::time::Duration;

use migrate_core::health::{HttpProbe, RetryWindow};
use migrate_core::journal::{Journal, Outcome};
use migrate_core::pipeline::{Pipeline, PipelineError, PipelineOptions};
use migrate_core::rollback::StrategyKind;
use migrate_core::Event;

use crate::backup::{provider, seeded_db, state_of};
use crate::common::url;
use crate::health::server::{Reply, TestServer};
use crate::restore::{RISKY_DOWN, RISKY_NAME, RISKY_UP};

fn options(backups: &std::path::Path) -> PipelineOptions {
    let mut o = PipelineOptions::default();
    o.backup_dir = backups.to_owned();
    o.health_window = RetryWindow {
        window: Duration::from_millis(800),
        interval: Duration::from_millis(200),
    };
    o
}

/// Schema fingerprint and exact row counts of the application's tables (the ledger is left out:
/// its rows are the rollback's business).
fn app_state(db: &migrate_tests::TestDb) -> (String, Vec<(String, String, i64)>) {
    let state = state_of(db);
    let tables = state
        .tables
        .iter()
        .filter(|t| t.table != "_prisma_migrations")
        .map(|t| (t.schema.clone(), t.table.clone(), t.rows))
        .collect();
    (state.schema_fingerprint.sha256, tables)
}

fn position(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("event missing in {events:#?}"))
}

#[test]
fn failing_health_check_rolls_a_destructive_deploy_back_by_restore() {
    let server = TestServer::start(|_| Reply::status(503));
    let (db, dir) = seeded_db();
    let before = app_state(&db);
    dir.add(RISKY_NAME, RISKY_UP);
    let backups = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .probe(Box::new(
            HttpProbe::new(server.url("/healthz"), Duration::from_secs(1)).unwrap(),
        ));
    let mut events = Vec::new();
    let err = pipeline.run(&mut |e| events.push(e.clone())).unwrap_err();
    let PipelineError::Failed { step, report, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, migrate_core::pipeline::Step::Health);
    assert_eq!(report.applied, [RISKY_NAME]);
    let rollback = report.rollback.as_ref().expect("rolled back automatically");
    assert_eq!(
        rollback.strategy,
        StrategyKind::Restore,
        "no down.sql: restore from the backup"
    );
    assert_eq!(
        app_state(&db),
        before,
        "schema and data equal the pre-deployment state"
    );

    let backup = position(&events, |e| matches!(e, Event::BackupCreated { .. }));
    let applied = position(&events, |e| matches!(e, Event::MigrationApplied { .. }));
    let unhealthy = position(
        &events,
        |e| matches!(e, Event::Check { step, passed: false, .. } if step == "health"),
    );
    let started = position(&events, |e| {
        matches!(
            e,
            Event::RollbackStarted {
                automatic: true,
                ..
            }
        )
    });
    let finished = position(&events, |e| matches!(e, Event::RollbackFinished { .. }));
    assert!(backup < applied && applied < unhealthy && unhealthy < started && started < finished);
    assert!(
        err.to_string()
            .contains("rolled back 1 migration(s) by restore"),
        "{err}"
    );

    let journal = Journal::list(&mut db.client(), 10).unwrap();
    let entry = journal
        .iter()
        .find(|d| Some(&d.id) == report.deployment_id.as_ref())
        .expect("entry kept across the restore");
    assert_eq!(entry.outcome, Outcome::RolledBack);
    assert_eq!(entry.backup_id, report.backup_id);
}

#[test]
fn with_down_scripts_the_rollback_runs_them_in_place() {
    let server = TestServer::start(|_| Reply::status(500));
    let (db, dir) = seeded_db();
    let before = app_state(&db);
    dir.add(RISKY_NAME, RISKY_UP);
    std::fs::write(dir.path().join(RISKY_NAME).join("down.sql"), RISKY_DOWN).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .probe(Box::new(
            HttpProbe::new(server.url("/healthz"), Duration::from_secs(1)).unwrap(),
        ));
    let err = pipeline.run(&mut |_| {}).unwrap_err();
    let rollback = err.report().rollback.as_ref().expect("rolled back");
    assert_eq!(rollback.strategy, StrategyKind::DownMigration);
    assert_eq!(app_state(&db), before, "schema and row counts equal");
    let status = crate::common::engine(&db, dir.path()).status().unwrap();
    assert_eq!(
        status.pending,
        [RISKY_NAME],
        "the migration is pending again"
    );
}

#[test]
fn healthy_deploy_passes_every_step() {
    let server = TestServer::start(|_| Reply::status(200));
    let (db, dir) = seeded_db();
    dir.add(RISKY_NAME, RISKY_UP);
    std::fs::create_dir_all(dir.path().join(RISKY_NAME)).unwrap();
    std::fs::write(
        dir.path().join(RISKY_NAME).join("verify.sql"),
        "SELECT count(*) = 100 FROM tag;",
    )
    .unwrap();
    let backups = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .probe(Box::new(
            HttpProbe::new(server.url("/healthz"), Duration::from_secs(1)).unwrap(),
        ));
    let report = pipeline.run(&mut |_| {}).unwrap();
    let steps: Vec<(&str, &str)> = report
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("preflight", "passed"),
            ("safety", "passed"),
            ("backup", "passed"),
            ("apply", "passed"),
            ("verify", "passed"),
            ("health", "passed")
        ]
    );
    let v = report.verification.as_ref().unwrap();
    assert!(
        v.checks
            .iter()
            .any(|c| c.name.contains("verify.sql") && c.passed),
        "{v:#?}"
    );
    assert!(report.rollback.is_none());
    assert!(server.hits() >= 1, "the probe reached the server");
    let again = pipeline.run(&mut |_| {}).unwrap();
    assert!(
        again.applied.is_empty() && again.backup_id.is_none(),
        "nothing pending: no backup"
    );
}

#[test]
fn not_valid_constraints_of_the_history_pass_and_others_are_a_warning() {
    let (db, dir) = seeded_db();
    // Made by hand, outside the history: drift the verification should mention.
    db.client()
        .batch_execute(
            "ALTER TABLE author ADD CONSTRAINT author_name_short CHECK (length(name) < 100) NOT VALID",
        )
        .unwrap();
    dir.add(
        "20240102000000_checks",
        "ALTER TABLE post ADD CONSTRAINT post_score_nonneg CHECK (score >= 0) NOT VALID;\n\
         ALTER TABLE post ADD CONSTRAINT post_title_set CHECK (title <> '') NOT VALID;\n\
         ALTER TABLE post VALIDATE CONSTRAINT post_title_set;",
    );
    let backups = tempfile::tempdir().unwrap();
    let report = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .run(&mut |_| {})
        .unwrap();
    let v = report.verification.as_ref().unwrap();
    let check = v
        .checks
        .iter()
        .find(|c| c.name == "no unintended NOT VALID constraint")
        .unwrap();
    assert!(!check.passed && check.warning, "{check:?}");
    assert!(check.detail.contains("author_name_short"), "{check:?}");
    assert!(!check.detail.contains("post_score_nonneg"), "{check:?}");
    assert!(v.passed() && report.rollback.is_none());

    // Once the hand-made one is validated, only the history's, by design, is left.
    db.client()
        .batch_execute("ALTER TABLE author VALIDATE CONSTRAINT author_name_short")
        .unwrap();
    dir.add("20240103000000_more", "SELECT 1;");
    let report = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .run(&mut |_| {})
        .unwrap();
    let check = report
        .verification
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .find(|c| c.name == "no unintended NOT VALID constraint")
        .unwrap()
        .clone();
    assert!(check.passed, "{check:?}");
    assert_eq!(check.detail, "1 NOT VALID by design");
}

#[test]
fn backup_progress_is_streamed_in_bytes() {
    let (db, dir) = crate::faults::bulky_db();
    dir.add("20240102000000_x", "CREATE TABLE x (id int);");
    let backups = tempfile::tempdir().unwrap();
    let mut options = options(backups.path());
    options.progress_interval = Duration::ZERO;
    let (mut progress, mut created) = (Vec::new(), None);
    let report = Pipeline::new(url(&db), dir.path(), options)
        .backup_provider(Box::new(provider()))
        .run(&mut |event| match event {
            Event::BackupProgress { bytes, .. } => progress.push(*bytes),
            Event::BackupCreated { bytes, .. } => created = Some(*bytes),
            _ => {}
        })
        .unwrap();
    assert_eq!(report.applied, ["20240102000000_x"]);
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    // The custom format goes to the file as pg_dump writes it: the last count is the file.
    assert_eq!(progress.last().copied(), created);
}

#[test]
fn a_false_assertion_fails_verification_and_rolls_back() {
    let (db, dir) = seeded_db();
    let before = app_state(&db);
    dir.add(
        "20240202000000_add_tag",
        "CREATE TABLE tag (id serial PRIMARY KEY, label text);",
    );
    std::fs::write(
        dir.path().join("20240202000000_add_tag").join("down.sql"),
        "DROP TABLE tag;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("20240202000000_add_tag").join("verify.sql"),
        "SELECT count(*) > 0 FROM tag;",
    )
    .unwrap();
    let backups = tempfile::tempdir().unwrap();
    let err = Pipeline::new(url(&db), dir.path(), options(backups.path()))
        .backup_provider(Box::new(provider()))
        .run(&mut |_| {})
        .unwrap_err();
    let PipelineError::Failed { step, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, migrate_core::pipeline::Step::Verify);
    assert_eq!(app_state(&db), before);
}
