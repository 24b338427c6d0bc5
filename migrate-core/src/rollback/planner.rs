//! Picking, for the migrations to undo, the fastest strategy that loses no data, and saying
//! what will be lost before anything runs.

use crate::backup::{
    Backup, BackupProvider, BackupStore, DatabaseState, RestoreOptions, TableLoss,
};
use crate::connection::{connect, DatabaseUrl};
use crate::ledger::{self, LockWait, RowState};
use crate::source::Migrations;
use crate::sql::split;

use super::strategy::{DownMigrationRollback, RestoreRollback, TransactionalRollback};
use super::target::{live_rows, select};
use super::{
    RollbackContext, RollbackError, RollbackOutcome, RollbackStrategy, Selection, StrategyKind,
    Target,
};

/// Which strategy to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preference {
    /// The fastest that loses no data: transactional for failed migrations, `down.sql` when every
    /// migration has one, restore otherwise.
    #[default]
    Auto,
    /// Only `down.sql`.
    Down,
    /// Only restore from backup.
    Restore,
}

/// What a rollback will lose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataLoss {
    /// Nothing: the failed migrations were rolled back by PostgreSQL.
    Nothing,
    /// What the down scripts drop: objects the migrations created, with any rows written to them.
    /// Rows in every other table stay.
    DroppedByDownScripts {
        /// The `DROP` statements of the down scripts.
        drops: Vec<String>,
    },
    /// Every write after the backup, per table (row counts now against the backup's).
    SinceBackup {
        /// The backup restored.
        backup: String,
        /// Tables changed since the backup.
        tables: Vec<TableLoss>,
    },
}

/// A rollback, decided but not run.
#[derive(Debug, Clone)]
#[must_use]
pub struct RollbackPlan {
    /// The migrations to undo, in the order they were applied.
    pub targets: Vec<Target>,
    /// The strategy chosen.
    pub strategy: StrategyKind,
    /// Why it was chosen.
    pub reason: String,
    /// The strategies ruled out, and why.
    pub rejected: Vec<(StrategyKind, String)>,
    /// The backup a restore uses (the newest one whose ledger is the state before the targets).
    pub backup: Option<Backup>,
    /// What will be lost.
    pub data_loss: DataLoss,
}

/// Decides how to undo the migrations of `selection` on the database of `url`.
///
/// # Errors
///
/// Selection errors ([`RollbackError::TargetNotApplied`], …), [`RollbackError::NoStrategy`]
/// when nothing applies, [`RollbackError::NotApplicable`] when the preferred strategy does not.
pub fn plan(
    url: &DatabaseUrl,
    migrations: &Migrations,
    selection: &Selection,
    store: &BackupStore,
    provider: &dyn BackupProvider,
    preference: Preference,
) -> Result<RollbackPlan, RollbackError> {
    let mut client = connect(url)?;
    let targets = select(&mut client, migrations, selection)?;
    let rows = ledger::read_rows(&mut client)?;
    let applied_now: Vec<&str> = live_rows(&rows)
        .filter(|r| r.state() == RowState::Applied)
        .map(|r| r.migration_name.as_str())
        .collect();
    let before: Vec<&str> = applied_now
        .iter()
        .copied()
        .filter(|n| !targets.iter().any(|t| t.name == *n))
        .collect();
    // The newest backup whose ledger is exactly the state before the targets.
    let backup = provider.backups(store)?.into_iter().rev().find(|b| {
        b.manifest.database == url.database() && b.manifest.applied_migrations() == before
    });

    let ctx = RollbackContext {
        url,
        targets: &targets,
        backup: backup.as_ref(),
        provider,
        lock_wait: LockWait::default(),
    };
    let candidates: Vec<Box<dyn RollbackStrategy>> = match preference {
        Preference::Auto => vec![
            Box::new(TransactionalRollback),
            Box::new(DownMigrationRollback),
            Box::new(RestoreRollback::default()),
        ],
        Preference::Down => vec![Box::new(DownMigrationRollback)],
        Preference::Restore => vec![Box::new(RestoreRollback::default())],
    };
    let mut rejected = Vec::new();
    let mut chosen = None;
    for strategy in &candidates {
        match strategy.unsupported_reason(&ctx) {
            None => {
                chosen = Some(strategy.kind());
                break;
            }
            Some(reason) => rejected.push((strategy.kind(), reason)),
        }
    }
    let Some(strategy) = chosen else {
        let reason = rejected
            .iter()
            .map(|(k, r)| format!("{k}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(match preference {
            Preference::Auto => RollbackError::NoStrategy { reason },
            Preference::Down => RollbackError::NotApplicable {
                strategy: "down-migration",
                reason,
            },
            Preference::Restore => RollbackError::NotApplicable {
                strategy: "restore",
                reason,
            },
        });
    };
    let (reason, data_loss) = match strategy {
        StrategyKind::Transactional => (
            "the migrations failed and PostgreSQL rolled them back".to_owned(),
            DataLoss::Nothing,
        ),
        StrategyKind::DownMigration => (
            "every migration has a down.sql: undone in place, no other rows lost".to_owned(),
            DataLoss::DroppedByDownScripts {
                drops: targets
                    .iter()
                    .filter_map(|t| t.down.as_ref())
                    .flat_map(|s| {
                        split(s.sql())
                            .into_iter()
                            .filter(|st| {
                                st.starts_with_words(s.sql(), &["DROP"])
                                    || st.has_word(s.sql(), "DROP")
                            })
                            .map(|st| {
                                st.text(s.sql())
                                    .split_whitespace()
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect(),
            },
        ),
        StrategyKind::Restore => {
            let backup = ctx.backup.ok_or_else(|| RollbackError::NoStrategy {
                reason: "no backup".into(),
            })?;
            let now = DatabaseState::capture(&mut client, &url.target())?;
            (
                format!(
                    "{}; restoring {} taken {}",
                    rejected
                        .iter()
                        .map(|(k, r)| format!("{k} impossible ({r})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    backup.id(),
                    backup.manifest.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                DataLoss::SinceBackup {
                    backup: backup.id().to_owned(),
                    tables: crate::backup::losses(&backup.manifest.state, &now),
                },
            )
        }
    };
    Ok(RollbackPlan {
        targets,
        strategy,
        reason,
        rejected,
        backup,
        data_loss,
    })
}

/// Runs a plan.
///
/// # Errors
///
/// The strategy's errors.
pub fn execute(
    plan: &RollbackPlan,
    url: &DatabaseUrl,
    provider: &dyn BackupProvider,
    lock_wait: LockWait,
    restore: &RestoreOptions,
) -> Result<RollbackOutcome, RollbackError> {
    let ctx = RollbackContext {
        url,
        targets: &plan.targets,
        backup: plan.backup.as_ref(),
        provider,
        lock_wait,
    };
    let outcome = match plan.strategy {
        StrategyKind::Transactional => TransactionalRollback.execute(&ctx),
        StrategyKind::DownMigration => DownMigrationRollback.execute(&ctx),
        StrategyKind::Restore => RestoreRollback {
            options: restore.clone(),
        }
        .execute(&ctx),
    }?;
    // What the rollback left is what the next deployment's drift check should expect (a
    // restore records it itself).
    if plan.strategy != StrategyKind::Restore {
        if let Ok(mut client) = crate::connection::connect(url) {
            crate::journal::record_schema_latest(&mut client, &url.target());
        }
    }
    log::info!(
        target: "migrate_core::rollback",
        "rolled back {} by {} in {:.1}s",
        outcome.rolled_back.join(", "),
        outcome.strategy,
        outcome.duration.as_secs_f64()
    );
    Ok(outcome)
}
