//! Rollback strategies and the planner, against a deployment that created tables with foreign
//! keys, dropped a column and rewrote a type.

use crate::common::engine;
use migrate_core::backup::{BackupProvider, BackupStore, DatabaseState, RestoreOptions};
use migrate_core::ledger::{LockWait, RowState};
use migrate_core::pipeline::Step;
use migrate_core::rollback::{self, DataLoss, Preference, RollbackError, Selection, StrategyKind};
use migrate_tests::TestDb;

use crate::backup::{provider, seeded_db, state_of};
use std::path::Path;

use crate::common::{migrate, rows, table_exists, text, url, Dir};
use crate::restore::{deploy_risky, RISKY_NAME};

const INIT: &str = "20240101000000_init";

fn plan(
    db: &TestDb,
    dir: &Dir,
    store: &BackupStore,
    selection: Selection,
    preference: Preference,
) -> Result<rollback::RollbackPlan, RollbackError> {
    let migrations = engine(db, dir.path()).migrations().unwrap();
    rollback::plan(
        &url(db),
        &migrations,
        &selection,
        store,
        &provider(),
        preference,
    )
}

fn run(db: &TestDb, plan: &rollback::RollbackPlan) -> rollback::RollbackOutcome {
    rollback::execute(
        plan,
        &url(db),
        &provider(),
        LockWait::default(),
        &RestoreOptions::default(),
    )
    .unwrap()
}

/// The state without the bookkeeping a down-migration keeps: the ledger (rows marked rolled
/// back) and migrate's deployment journal (schema `_migrate`).
fn without_ledger(state: &DatabaseState) -> DatabaseState {
    let mut state = state.clone();
    state
        .tables
        .retain(|t| t.table != "_prisma_migrations" && t.schema != "_migrate");
    state
}

#[test]
fn rollback_by_restore_returns_to_the_pre_deployment_manifest() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    deploy_risky(&db, &dir, false);
    db.client()
        .batch_execute("INSERT INTO follower (author_id) VALUES (1), (2)")
        .unwrap();

    let plan = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Auto,
    )
    .unwrap();
    assert_eq!(plan.strategy, StrategyKind::Restore, "{}", plan.reason);
    assert_eq!(plan.backup.as_ref().unwrap().id(), backup.id());
    assert!(
        plan.reason.contains("no down.sql for 20240202000000_risky"),
        "{}",
        plan.reason
    );
    let DataLoss::SinceBackup { tables, .. } = &plan.data_loss else {
        panic!("{:?}", plan.data_loss)
    };
    let follower = tables.iter().find(|t| t.table == "follower").unwrap();
    assert_eq!(
        (follower.rows_at_backup, follower.rows_before_restore),
        (None, 2)
    );

    let outcome = run(&db, &plan);
    assert_eq!(outcome.strategy, StrategyKind::Restore);
    assert_eq!(outcome.rolled_back, [RISKY_NAME]);
    assert_eq!(
        backup.manifest.state.differences(&state_of(&db)),
        Vec::<String>::new()
    );
    assert!(!table_exists(&db, "tag") && !table_exists(&db, "follower"));
    let names: Vec<String> = rows(&db).into_iter().map(|r| r.migration_name).collect();
    assert_eq!(names, [INIT], "the ledger is the backup's");
    // And the migration can be deployed again.
    engine(&db, dir.path()).deploy().unwrap();
    assert!(table_exists(&db, "tag"));
}

#[test]
fn rollback_by_down_sql_returns_to_the_pre_deployment_schema_and_counts() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    // Taken only to have the pre-deployment manifest to compare with.
    let before = provider().backup(&url(&db), &store).unwrap().manifest.state;
    deploy_risky(&db, &dir, true);

    let plan = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Auto,
    )
    .unwrap();
    assert_eq!(
        plan.strategy,
        StrategyKind::DownMigration,
        "{}",
        plan.reason
    );
    let DataLoss::DroppedByDownScripts { drops } = &plan.data_loss else {
        panic!("{:?}", plan.data_loss)
    };
    assert_eq!(drops, &["DROP TABLE follower", "DROP TABLE tag"]);

    let outcome = run(&db, &plan);
    assert_eq!(outcome.strategy, StrategyKind::DownMigration);
    assert_eq!(outcome.ledger_rows_marked, 1);
    assert_eq!(
        without_ledger(&before).differences(&without_ledger(&state_of(&db))),
        Vec::<String>::new()
    );
    // Prisma's status finds a migration applied by any row of its name: the undone one's row
    // leaves the ledger (kept in the journal), so status and deploy both see it not applied.
    assert!(
        !rows(&db).iter().any(|r| r.migration_name == RISKY_NAME),
        "{:?}",
        rows(&db)
    );
    let kept: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM _migrate.undone WHERE migration_name = $1 \
             AND undone_by = 'down-migration' AND finished_at IS NOT NULL",
            &[&RISKY_NAME],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 1, "the row is kept in the journal");
    let journal = migrate_core::journal::Journal::list(&mut db.client(), 1).unwrap();
    assert_eq!(journal[0].applied, [RISKY_NAME]);
    assert_eq!(
        journal[0].outcome,
        migrate_core::journal::Outcome::RolledBack,
        "the deployment no longer reads succeeded"
    );
    assert!(
        journal[0]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("rolled back by down-migration"),
        "{:?}",
        journal[0].note
    );
    // Prisma then sees it as pending and deploys it again.
    let status = engine(&db, dir.path()).status().unwrap();
    assert!(!status.is_up_to_date());
    engine(&db, dir.path()).deploy().unwrap();
    assert!(table_exists(&db, "tag"));
}

#[test]
fn failing_down_script_changes_nothing() {
    let (db, dir) = seeded_db();
    deploy_risky(&db, &dir, true);
    let down = dir.path().join(RISKY_NAME).join("down.sql");
    let text = std::fs::read_to_string(&down).unwrap();
    std::fs::write(&down, format!("{text}\nSELECT * FROM no_such_table;")).unwrap();
    let store = BackupStore::new(dir.path().join("none"));
    let plan = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Down,
    )
    .unwrap();
    let err = rollback::execute(
        &plan,
        &url(&db),
        &provider(),
        LockWait::default(),
        &RestoreOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, RollbackError::DownFailed { atomic: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert!(table_exists(&db, "tag") && table_exists(&db, "follower"));
    assert!(rows(&db).iter().all(|r| r.state() == RowState::Applied));
}

#[test]
fn failed_migration_is_rolled_back_transactionally() {
    let (db, dir) = seeded_db();
    dir.add(
        "20240303000000_broken",
        "CREATE TABLE half (id int); SELECT 1/0;",
    );
    // The pipeline's own rollback is off: the planner is what this test looks at.
    engine(&db, dir.path())
        .without(Step::Rollback)
        .deploy()
        .unwrap_err();
    assert!(!table_exists(&db, "half"), "PostgreSQL rolled it back");
    let store = BackupStore::new(dir.path().join("none"));
    let plan = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Auto,
    )
    .unwrap();
    assert_eq!(plan.strategy, StrategyKind::Transactional);
    assert_eq!(plan.data_loss, DataLoss::Nothing);
    let outcome = run(&db, &plan);
    assert_eq!(outcome.ledger_rows_marked, 1);
    let broken = rows(&db)
        .into_iter()
        .find(|r| r.migration_name == "20240303000000_broken")
        .unwrap();
    assert_eq!(broken.state(), RowState::RolledBack);
}

#[test]
fn planner_explains_when_nothing_applies() {
    let (db, dir) = seeded_db();
    deploy_risky(&db, &dir, false);
    let store = BackupStore::new(dir.path().join("none"));
    let err = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Auto,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no rollback strategy applies"), "{err}");
    assert!(
        err.contains("no down.sql for 20240202000000_risky"),
        "{err}"
    );
    assert!(
        err.contains("no backup taken before these migrations"),
        "{err}"
    );

    let err = plan(
        &db,
        &dir,
        &store,
        Selection::To(INIT.into()),
        Preference::Down,
    )
    .unwrap_err();
    assert!(
        matches!(err, RollbackError::NotApplicable { .. }),
        "{err:?}"
    );
    // The journal's last deployment is the risky one: same refusal, same reasons.
    let err = plan(
        &db,
        &dir,
        &store,
        Selection::LastDeployment,
        Preference::Auto,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no down.sql for 20240202000000_risky"),
        "{err}"
    );
    db.client()
        .batch_execute("DELETE FROM _migrate.deployments")
        .unwrap();
    let err = plan(
        &db,
        &dir,
        &store,
        Selection::LastDeployment,
        Preference::Auto,
    )
    .unwrap_err();
    assert!(matches!(err, RollbackError::NoDeploymentJournal), "{err:?}");
    let err = plan(
        &db,
        &dir,
        &store,
        Selection::To("nope".into()),
        Preference::Auto,
    )
    .unwrap_err();
    assert!(
        matches!(err, RollbackError::TargetNotApplied { .. }),
        "{err:?}"
    );
    let err = plan(
        &db,
        &dir,
        &store,
        Selection::To(RISKY_NAME.into()),
        Preference::Auto,
    )
    .unwrap_err();
    assert!(
        matches!(err, RollbackError::NothingToRollBack { .. }),
        "{err:?}"
    );
}

// The runbook's procedures (migrate-cli/RUNBOOK.md), command for command.

fn cli(db: &TestDb, dir: &Dir, backups: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut full: Vec<&str> = args.to_vec();
    let migrations = dir.path().to_str().unwrap().to_owned();
    let backups = backups.to_str().unwrap().to_owned();
    full.extend(["--migrations-dir", &migrations]);
    if matches!(args[0], "backup" | "restore" | "rollback") {
        full.extend(["--backup-dir", &backups]);
    }
    let out = migrate(&db.url, &full);
    let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !text.contains(migrate_tests::cluster().password()),
        "{text}"
    );
    (out.status.code(), text)
}

/// `migrate backup create --json` into `backups`; the new backup's id.
fn backup_created(db: &TestDb, dir: &Dir, backups: &Path) -> String {
    let (code, text) = cli(db, dir, backups, &["backup", "create", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn runbook_immediate_rollback_by_restore() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    // Before the deployment: a verified backup.
    let id = backup_created(&db, &dir, b);
    let before = state_of(&db);
    deploy_risky(&db, &dir, false);

    let (code, text) = cli(&db, &dir, b, &["rollback", "--to", INIT, "--dry-run"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("by restore") && text.contains(&id), "{text}");
    assert!(
        text.contains("public.tag: 100 rows now, created after the backup"),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing was changed."), "{text}");
    assert!(table_exists(&db, "tag"), "dry run changes nothing");

    let (code, text) = cli(&db, &dir, b, &["rollback", "--to", INIT]);
    assert_eq!(code, Some(1), "no --yes and no terminal: declined\n{text}");
    assert!(table_exists(&db, "tag"));

    let (code, text) = cli(&db, &dir, b, &["rollback", "--to", INIT, "--yes"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(RTO)"), "{text}");
    assert_eq!(before.differences(&state_of(&db)), Vec::<String>::new());
    let (code, text) = cli(&db, &dir, b, &["status"]);
    assert_eq!(
        code,
        Some(1),
        "the rolled-back migration is pending again\n{text}"
    );
    // The journal outlived the restore (the backup's own copy predates the deployment), and
    // the deployment the restore undid says so.
    let journal = migrate_core::journal::Journal::list(&mut db.client(), 10).unwrap();
    let risky = journal
        .iter()
        .find(|d| d.applied == [RISKY_NAME])
        .expect("the deployment after the backup is still in the journal");
    assert_eq!(risky.outcome, migrate_core::journal::Outcome::RolledBack);
    assert!(
        risky.note.as_deref().unwrap_or_default().contains(&id),
        "{:?}",
        risky.note
    );
    assert!(journal
        .iter()
        .any(|d| d.outcome == migrate_core::journal::Outcome::Succeeded));
}

#[test]
fn runbook_extended_rollback_with_down_scripts() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let before = without_ledger(&state_of(&db));
    deploy_risky(&db, &dir, true);
    let (code, text) = cli(
        &db,
        &dir,
        b,
        &["rollback", "--last-deployment", "--dry-run", "--json"],
    );
    assert_eq!(code, Some(0), "{text}");
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["plan"]["strategy"], "down_migration");
    assert_eq!(plan["plan"]["migrations"][0]["name"], RISKY_NAME);
    assert_eq!(plan["plan"]["migrations"].as_array().unwrap().len(), 1);
    // Forcing restore without a backup is refused with the reason, exit 1.
    let (code, text) = cli(
        &db,
        &dir,
        b,
        &[
            "rollback",
            "--to",
            INIT,
            "--strategy",
            "restore",
            "--dry-run",
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no backup taken before these migrations"),
        "{text}"
    );
    let (code, text) = cli(
        &db,
        &dir,
        b,
        &[
            "rollback",
            "--last-deployment",
            "--strategy",
            "down",
            "--yes",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        before.differences(&without_ledger(&state_of(&db))),
        Vec::<String>::new()
    );
    let (code, text) = cli(&db, &dir, b, &["status", "--json"]);
    assert_eq!(code, Some(1), "{text}");
    let status: serde_json::Value = serde_json::from_str(&text).unwrap();
    // As Prisma's status and deploy see it: not applied (the undone row is in the journal).
    assert_eq!(status["pending"][0], RISKY_NAME, "{status}");
    let (code, text) = cli(&db, &dir, b, &["history", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let history: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        history["deployments"][0]["outcome"], "rolled_back",
        "{history}"
    );
    // A second rollback to the same point finds nothing to do: exit 1.
    let (code, text) = cli(&db, &dir, b, &["rollback", "--to", INIT, "--dry-run"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("nothing to roll back"), "{text}");
}

#[test]
fn runbook_emergency_read_only_and_restore() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let id = backup_created(&db, &dir, b);
    let before = state_of(&db);
    db.client()
        .batch_execute("DELETE FROM post WHERE id > 10")
        .unwrap();

    let (code, text) = cli(&db, &dir, b, &["maintenance", "read-only", "on"]);
    assert_eq!(code, Some(0), "{text}");
    let err = db.client().batch_execute("DELETE FROM post").unwrap_err();
    assert_eq!(err.code().unwrap().code(), "25006", "writes are refused");
    let (code, text) = cli(&db, &dir, b, &["backup", "verify", &id, "--level", "4"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = cli(&db, &dir, b, &["restore", &id, "--yes", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(report["restore"]["duration_ms"].as_f64().unwrap() > 0.0);
    let post = report["restore"]["lost"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "post")
        .expect("the deletes are reported");
    assert_eq!(post["rows_at_backup"], 2000);
    assert_eq!(post["rows_before_restore"], 10);
    assert_eq!(before.differences(&state_of(&db)), Vec::<String>::new());
    // The restored database was never read-only; the switch is lifted for the record anyway.
    let (code, text) = cli(&db, &dir, b, &["maintenance", "read-only", "off"]);
    assert_eq!(code, Some(0), "{text}");
    db.client()
        .batch_execute("INSERT INTO author (name) VALUES ('back')")
        .unwrap();
}

/// The replaced databases restores keep are listed and dropped by a command, never guessed.
#[test]
fn databases_kept_by_restores_are_listed_and_dropped_on_request() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    let id = backup_created(&db, &dir, b);
    let (code, text) = cli(&db, &dir, b, &["restore", &id, "--yes"]);
    assert_eq!(code, Some(0), "{text}");

    let list = |db: &TestDb| {
        let (code, text) = cli(
            db,
            &dir,
            b,
            &["maintenance", "previous-databases", "--json"],
        );
        assert_eq!(code, Some(0), "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["previous_databases"]
            .as_array()
            .unwrap()
            .clone()
    };
    let kept = list(&db);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let name = kept[0]["name"].as_str().unwrap().to_owned();
    assert!(name.contains("_pre_restore_"), "{name}");

    let (code, text) = cli(
        &db,
        &dir,
        b,
        &["maintenance", "previous-databases", "--drop", &name],
    );
    assert_eq!(code, Some(1), "no terminal, no --yes: declined\n{text}");
    let (code, text) = cli(
        &db,
        &dir,
        b,
        &[
            "maintenance",
            "previous-databases",
            "--drop",
            "postgres",
            "--yes",
        ],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("is not a database a restore"), "{text}");
    let (code, text) = cli(
        &db,
        &dir,
        b,
        &[
            "maintenance",
            "previous-databases",
            "--drop",
            &name,
            "--yes",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(list(&db).is_empty());
}
