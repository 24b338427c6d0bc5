//! The pipeline's branches driven by a fake of each of the five traits, on a real database:
//! a backup that fails, an analyzer that refuses, a probe that fails with a custom rollback
//! strategy that the planner prefers, an executor that fails midway.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use migrate_core::backup::{Backup, BackupError, BackupStore};
use migrate_core::executor::{
    DeployOptions, DeployPlan, DeployReport, ExecuteError, MigrationExecutor, PgExecutor,
};
use migrate_core::health::{HealthProbe, ProbeContext, ProbeFailure};
use migrate_core::journal::{Journal, Outcome};
use migrate_core::ledger::HistoryStatus;
use migrate_core::pipeline::{Pipeline, PipelineError, PipelineOptions, Step, StepStatus};
use migrate_core::rollback::{
    LossClass, RollbackContext, RollbackError, RollbackOutcome, RollbackStrategy, StrategyKind,
};
use migrate_core::safety::{
    CustomRule, DefaultAnalyzer, Finding, SafetyAnalyzer, SafetyReport, Scope, Severity,
};
use migrate_core::source::Migrations;
use migrate_core::{DatabaseUrl, Event};

use crate::common::{backup_dir, table_exists, url, Dir};

const FIRST: (&str, &str) = ("20240101000000_first", "CREATE TABLE first (id int);");
const SECOND: (&str, &str) = ("20240102000000_second", "CREATE TABLE second (id int);");

fn options() -> PipelineOptions {
    let mut options = PipelineOptions::default();
    options.backup_dir = backup_dir();
    options.health_window = migrate_core::health::RetryWindow::ONCE;
    options
}

fn steps(report: &migrate_core::pipeline::PipelineReport) -> Vec<(Step, StepStatus)> {
    report.steps.iter().map(|s| (s.step, s.status)).collect()
}

#[derive(Debug)]
struct FailingBackup;

impl migrate_core::BackupProvider for FailingBackup {
    fn name(&self) -> &'static str {
        "failing"
    }

    fn backup(&self, _: &DatabaseUrl, _: &BackupStore) -> Result<Backup, BackupError> {
        Err(BackupError::Unsupported {
            provider: "failing",
            operation: "backup",
        })
    }
}

#[test]
fn a_failing_backup_provider_refuses_before_anything_is_applied() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[FIRST]);
    let err = Pipeline::new(url(&db), dir.path(), options())
        .backup_provider(Box::new(FailingBackup))
        .run(&mut |_| {})
        .unwrap_err();
    let PipelineError::Refused { step, report, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::Backup);
    assert!(report.applied.is_empty());
    assert!(!table_exists(&db, "public.first"), "nothing applied");
}

/// Refuses every migration that creates a table named `second`.
#[derive(Debug)]
struct Refusing(CustomRule);

impl SafetyAnalyzer for Refusing {
    fn analyze(&self, migrations: &Migrations, scope: &Scope) -> SafetyReport {
        let mut report = DefaultAnalyzer::default().analyze(migrations, scope);
        for m in &mut report.migrations {
            if m.migration == SECOND.0 {
                m.findings
                    .push(Finding::custom(&self.0, &m.migration, 1, 1, "no second"));
            }
        }
        report
    }
}

#[test]
fn a_custom_analyzer_refuses_with_its_own_rule_and_an_approval_lets_it_pass() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[FIRST, SECOND]);
    let rule = CustomRule::new("org-no-second", Severity::Error, "rename it").unwrap();
    let err = Pipeline::new(url(&db), dir.path(), options())
        .analyzer(Box::new(Refusing(rule.clone())))
        .run(&mut |_| {})
        .unwrap_err();
    let PipelineError::Refused { step, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::Safety);
    assert!(source.to_string().contains("org-no-second"), "{source}");
    assert!(!table_exists(&db, "public.first"), "nothing applied");

    let mut approved = options();
    approved
        .safety
        .approvals
        .push(format!("{}:org-no-second", SECOND.0).parse().unwrap());
    let report = Pipeline::new(url(&db), dir.path(), approved)
        .analyzer(Box::new(Refusing(rule)))
        .run(&mut |_| {})
        .unwrap();
    assert_eq!(report.applied, [FIRST.0, SECOND.0]);
}

#[derive(Debug)]
struct Unhealthy;

impl HealthProbe for Unhealthy {
    fn name(&self) -> String {
        "unhealthy".into()
    }

    fn check(&self, _: &ProbeContext) -> Result<(), ProbeFailure> {
        Err(ProbeFailure::Other("the service did not start".into()))
    }
}

/// Undoes by dropping the tables the targets created; claims to lose nothing, so the planner
/// ranks it before `down.sql` and restore.
#[derive(Debug, Default)]
struct DropCreated {
    runs: Arc<AtomicUsize>,
}

impl RollbackStrategy for DropCreated {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Custom("drop-created")
    }

    fn loss(&self) -> LossClass {
        LossClass::Nothing
    }

    fn unsupported_reason(&self, _: &RollbackContext<'_>) -> Option<String> {
        None
    }

    fn execute(&self, ctx: &RollbackContext<'_>) -> Result<RollbackOutcome, RollbackError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let mut client = migrate_core::connection::connect(ctx.url)?;
        let ids: Vec<String> = ctx
            .targets
            .iter()
            .flat_map(|t| t.ledger_ids.clone())
            .collect();
        client
            .batch_execute("DROP TABLE IF EXISTS first, second")
            .and_then(|()| {
                client.execute(
                    "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = ANY($1)",
                    &[&ids],
                )
            })
            .map_err(|e| RollbackError::NoStrategy {
                reason: e.to_string(),
            })?;
        Ok(RollbackOutcome {
            strategy: self.kind(),
            rolled_back: ctx.targets.iter().rev().map(|t| t.name.clone()).collect(),
            ledger_rows_marked: ids.len(),
            duration: std::time::Duration::ZERO,
            restore: None,
        })
    }
}

#[test]
fn a_failing_probe_rolls_back_by_the_custom_strategy_the_planner_ranks_first() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[FIRST, SECOND]);
    let strategy = DropCreated::default();
    let runs = Arc::clone(&strategy.runs);
    let mut events = Vec::new();
    let err = Pipeline::new(url(&db), dir.path(), options())
        .probe(Box::new(Unhealthy))
        .rollback_strategy(Box::new(strategy))
        .run(&mut |e| events.push(e.clone()))
        .unwrap_err();
    let PipelineError::Failed { step, report, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::Health);
    let rollback = report.rollback.as_ref().expect("rolled back");
    assert_eq!(rollback.strategy, StrategyKind::Custom("drop-created"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(!table_exists(&db, "public.first") && !table_exists(&db, "public.second"));
    assert!(events.iter().any(|e| matches!(e,
        Event::RollbackStarted { strategy, .. } if strategy == "drop-created")));
    let mut client = db.client();
    let entry = Journal::list(&mut client, 1).unwrap().remove(0);
    assert_eq!(entry.outcome, Outcome::RolledBack);
}

/// Applies through the real executor, then loses its connection before it can report.
#[derive(Debug)]
struct DiesAfterApplying(PgExecutor);

impl MigrationExecutor for DiesAfterApplying {
    fn status(&mut self, migrations: &Migrations) -> Result<HistoryStatus, ExecuteError> {
        self.0.status(migrations)
    }

    fn plan(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
    ) -> Result<DeployPlan, ExecuteError> {
        self.0.plan(migrations, options)
    }

    fn deploy(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<DeployReport, ExecuteError> {
        self.0.deploy(migrations, options, events)?;
        Err(ExecuteError::NoLedger)
    }
}

#[test]
fn an_executor_failing_midway_fails_the_apply_step_and_the_run() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[FIRST]);
    let executor = DiesAfterApplying(PgExecutor::new(url(&db)));
    let err = Pipeline::new(url(&db), dir.path(), options())
        .executor(Box::new(executor))
        .run(&mut |_| {})
        .unwrap_err();
    let PipelineError::Failed { step, report, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::Apply);
    assert!(steps(report).contains(&(Step::Apply, StepStatus::Failed)));
    assert!(
        !steps(report).iter().any(|(s, _)| *s == Step::Verify),
        "nothing is verified after a failed apply"
    );
}

#[test]
fn switched_off_steps_are_said_in_the_events_and_the_journal() {
    let db = migrate_tests::TestDb::new();
    let dir = Dir::with(&[FIRST]);
    let mut events = Vec::new();
    let report = Pipeline::new(url(&db), dir.path(), options())
        .without(Step::Backup)
        .run(&mut |e| events.push(e.clone()))
        .unwrap();
    assert!(report.backup_id.is_none());
    assert!(steps(&report).contains(&(Step::Backup, StepStatus::Skipped)));
    assert!(events.iter().any(|e| matches!(e,
        Event::Step { step, status, detail } if step == "backup" && status == "skipped"
            && detail.starts_with("backup off"))));
    let mut client = db.client();
    let entry = Journal::list(&mut client, 1).unwrap().remove(0);
    assert!(entry.note.unwrap_or_default().contains("backup off"));
}
