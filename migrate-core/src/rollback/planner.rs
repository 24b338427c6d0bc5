//! Picking, for the migrations to undo, the fastest strategy that loses no data, and saying
//! what will be lost before anything runs.

use crate::backup::{Backup, BackupProvider, BackupStore, RestoreOptions, TableLoss};
use crate::connection::{connect, DatabaseUrl};
use crate::ledger::{self, LockWait, RowState};
use crate::source::Migrations;

use super::strategy::{DownMigrationRollback, RestoreRollback, TransactionalRollback};
use super::target::{live_rows, select};
use super::{
    LossClass, Prospect, ProspectContext, RollbackContext, RollbackError, RollbackOutcome,
    RollbackStrategy, Selection, StrategyKind, Target,
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
    /// A custom strategy's, by the class it declares.
    Custom {
        /// How much it loses.
        loss: LossClass,
    },
}

impl std::fmt::Display for DataLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nothing => f.write_str("nothing"),
            Self::DroppedByDownScripts { drops } if drops.is_empty() => {
                f.write_str("nothing the down scripts drop")
            }
            Self::DroppedByDownScripts { drops } => {
                write!(f, "what the down scripts drop ({})", drops.join("; "))
            }
            Self::SinceBackup { backup, tables } if tables.is_empty() => {
                write!(f, "nothing (no write since backup {backup})")
            }
            Self::SinceBackup { backup, tables } => {
                let tables: Vec<String> = tables
                    .iter()
                    .map(|t| format!("{}.{}", t.schema, t.table))
                    .collect();
                write!(
                    f,
                    "every write since backup {backup}, in {}",
                    tables.join(", ")
                )
            }
            Self::Custom { loss } => write!(f, "{loss}"),
        }
    }
}

/// The rollback a deployment could count on, judged before it runs.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProspectPlan {
    /// The strategy that would undo the migrations; `None` when none could (no backup and no
    /// `down.sql`, as the deployer chose).
    pub strategy: Option<StrategyKind>,
    /// The strategies ranked before it, and why they could not.
    pub rejected: Vec<(StrategyKind, Prospect)>,
}

impl std::fmt::Display for ProspectPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.strategy {
            Some(kind) => write!(f, "a failure after commit would be rolled back by {kind}")?,
            None => f.write_str("a failure after commit could not be rolled back")?,
        }
        let skipped: Vec<String> = self
            .rejected
            .iter()
            .filter(|(kind, _)| *kind != StrategyKind::Transactional)
            .map(|(kind, p)| match p {
                Prospect::MissingPrivileges(m) => {
                    format!("{kind} needs {}", crate::backup::list_privileges(m))
                }
                Prospect::NotApplicable(r) => format!("{kind}: {r}"),
                Prospect::Executable => format!("{kind}"),
            })
            .collect();
        if !skipped.is_empty() {
            write!(f, " ({})", skipped.join("; "))?;
        }
        Ok(())
    }
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

/// The strategies a rollback may use, ranked through [`RollbackStrategy::loss`]: the planner
/// picks, among those that can undo the targets, the one that loses least (the first listed
/// among equals). By default, the three built-in strategies.
///
/// ```
/// use migrate_core::rollback::{Planner, RestoreRollback};
///
/// // Only ever restore from the backup.
/// let planner = Planner::new(vec![Box::new(RestoreRollback::default())]);
/// assert_eq!(planner.strategies().count(), 1);
/// ```
#[derive(Debug)]
pub struct Planner {
    strategies: Vec<Box<dyn RollbackStrategy>>,
}

impl Default for Planner {
    fn default() -> Self {
        Self::new(vec![
            Box::new(TransactionalRollback),
            Box::new(DownMigrationRollback),
            Box::new(RestoreRollback::default()),
        ])
    }
}

impl Planner {
    /// A planner choosing among `strategies`.
    #[must_use]
    pub fn new(strategies: Vec<Box<dyn RollbackStrategy>>) -> Self {
        Self { strategies }
    }

    /// The built-ins with `options` for restores.
    #[must_use]
    pub fn with_restore_options(options: RestoreOptions) -> Self {
        Self::new(vec![
            Box::new(TransactionalRollback),
            Box::new(DownMigrationRollback),
            Box::new(RestoreRollback { options }),
        ])
    }

    /// Adds a strategy.
    #[must_use]
    pub fn strategy(mut self, strategy: Box<dyn RollbackStrategy>) -> Self {
        self.strategies.push(strategy);
        self
    }

    /// The strategies, in the order given.
    pub fn strategies(&self) -> impl Iterator<Item = &dyn RollbackStrategy> {
        self.strategies.iter().map(AsRef::as_ref)
    }

    /// Decides how to undo the migrations of `selection` on the database of `url`.
    ///
    /// # Errors
    ///
    /// Selection errors ([`RollbackError::TargetNotApplied`], …), [`RollbackError::NoStrategy`]
    /// when nothing applies, [`RollbackError::NotApplicable`] when the preferred strategy does
    /// not.
    pub fn plan(
        &self,
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
        drop(client);
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
        let backups = provider.backups(store)?;
        let searched = backups.len();
        let backup = backups.into_iter().rev().find(|b| {
            b.manifest.database == url.database() && b.manifest.applied_migrations() == before
        });
        let ctx = RollbackContext {
            url,
            targets: &targets,
            backup: backup.as_ref(),
            provider,
            lock_wait: LockWait::default(),
        };
        let mut ranked: Vec<&dyn RollbackStrategy> = self
            .strategies()
            .filter(|s| preference.admits(s.kind()))
            .collect();
        ranked.sort_by_key(|s| s.loss());
        let mut rejected = Vec::new();
        let chosen = ranked.into_iter().find(|strategy| {
            let reason = strategy.unsupported_reason(&ctx);
            if let Some(reason) = &reason {
                rejected.push((strategy.kind(), reason.clone()));
            }
            reason.is_none()
        });
        let Some(strategy) = chosen else {
            let mut reason = rejected
                .iter()
                .map(|(k, r)| format!("{k}: {r}"))
                .collect::<Vec<_>>()
                .join("; ");
            if backup.is_none() && rejected.iter().any(|(k, _)| *k == StrategyKind::Restore) {
                reason.push_str(&searched_note(store, searched, url.database()));
            }
            return Err(match preference {
                Preference::Down => RollbackError::NotApplicable {
                    strategy: "down-migration",
                    reason,
                },
                Preference::Restore => RollbackError::NotApplicable {
                    strategy: "restore",
                    reason,
                },
                Preference::Auto => RollbackError::NoStrategy { reason },
            });
        };
        let assessment = strategy.assess(&ctx)?;
        let reason = if rejected.is_empty() {
            assessment.reason
        } else {
            format!(
                "{}; {}",
                rejected
                    .iter()
                    .map(|(k, r)| format!("{k} impossible ({r})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                assessment.reason
            )
        };
        Ok(RollbackPlan {
            strategy: strategy.kind(),
            targets,
            reason,
            rejected,
            backup,
            data_loss: assessment.data_loss,
        })
    }

    /// Before a deployment changes anything: which strategy could undo `ctx.migrations` once
    /// they committed (a failed health check), with the role's privileges, and why the others
    /// could not. Strategies are tried as [`plan`](Self::plan) ranks them.
    ///
    /// # Errors
    ///
    /// [`RollbackError::MissingPrivileges`] when no strategy could, and one would with a
    /// privilege the role lacks: the deployment must not start. When none could for other
    /// reasons (no backup, no `down.sql`) the answer is `Ok` without a strategy: the deployer
    /// chose that.
    pub fn prospect(
        &self,
        ctx: &ProspectContext<'_>,
        preference: Preference,
    ) -> Result<ProspectPlan, RollbackError> {
        let mut ranked: Vec<&dyn RollbackStrategy> = self
            .strategies()
            .filter(|s| preference.admits(s.kind()))
            .collect();
        ranked.sort_by_key(|s| s.loss());
        let mut rejected = Vec::new();
        for strategy in ranked {
            match strategy.prospect(ctx) {
                Prospect::Executable => {
                    return Ok(ProspectPlan {
                        strategy: Some(strategy.kind()),
                        rejected,
                    })
                }
                other => rejected.push((strategy.kind(), other)),
            }
        }
        let blocked: Vec<String> = rejected
            .iter()
            .filter_map(|(kind, p)| match p {
                Prospect::MissingPrivileges(missing) => Some(format!(
                    "{kind} needs {}",
                    crate::backup::list_privileges(missing)
                )),
                _ => None,
            })
            .collect();
        if blocked.is_empty() {
            return Ok(ProspectPlan {
                strategy: None,
                rejected,
            });
        }
        let others: Vec<String> = rejected
            .iter()
            .filter_map(|(kind, p)| match p {
                Prospect::NotApplicable(reason) => Some(format!("{kind}: {reason}")),
                _ => None,
            })
            .collect();
        Err(RollbackError::MissingPrivileges {
            role: ctx.privileges.role.clone(),
            needed: blocked.join("; "),
            others: others.join("; "),
        })
    }

    /// Runs a plan with the strategy it chose.
    ///
    /// # Errors
    ///
    /// The strategy's errors; [`RollbackError::NoStrategy`] when this planner does not have it.
    pub fn execute(
        &self,
        plan: &RollbackPlan,
        url: &DatabaseUrl,
        provider: &dyn BackupProvider,
        lock_wait: LockWait,
    ) -> Result<RollbackOutcome, RollbackError> {
        let ctx = RollbackContext {
            url,
            targets: &plan.targets,
            backup: plan.backup.as_ref(),
            provider,
            lock_wait,
        };
        let strategy = self
            .strategies()
            .find(|s| s.kind() == plan.strategy)
            .ok_or_else(|| RollbackError::NoStrategy {
                reason: format!("this planner has no {} strategy", plan.strategy),
            })?;
        let outcome = strategy.execute(&ctx)?;
        // What the rollback left is what the next deployment's drift check should expect (a
        // restore rewinds the journal, so the pipeline records it once the entry is back).
        if plan.strategy != StrategyKind::Restore {
            if let Ok(mut client) = crate::connection::connect(url) {
                let recorded = crate::journal::Journal::record_rollback(
                    &mut client,
                    &outcome.rolled_back,
                    outcome.strategy.name(),
                );
                if let Err(e) = recorded {
                    log::warn!(target: "migrate_core::rollback", "{e}");
                }
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
}

impl Preference {
    fn admits(self, kind: StrategyKind) -> bool {
        match self {
            Self::Auto => true,
            Self::Down => kind == StrategyKind::DownMigration,
            Self::Restore => kind == StrategyKind::Restore,
        }
    }
}

/// Decides how to undo the migrations of `selection` with the built-in strategies; see
/// [`Planner::plan`].
///
/// # Errors
///
/// As [`Planner::plan`].
pub fn plan(
    url: &DatabaseUrl,
    migrations: &Migrations,
    selection: &Selection,
    store: &BackupStore,
    provider: &dyn BackupProvider,
    preference: Preference,
) -> Result<RollbackPlan, RollbackError> {
    Planner::default().plan(url, migrations, selection, store, provider, preference)
}

/// Runs a plan of the built-in strategies, restoring with `restore`; see [`Planner::execute`].
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
    Planner::with_restore_options(restore.clone()).execute(plan, url, provider, lock_wait)
}

/// Where the planner looked for a backup, said in full: run from another directory, a relative
/// backup directory (the default `backups`) is another directory.
fn searched_note(store: &BackupStore, found: usize, database: &str) -> String {
    let dir = std::path::absolute(store.dir()).unwrap_or_else(|_| store.dir().to_owned());
    let relative = if store.dir().is_relative() {
        format!(
            " (`{}`, relative to the working directory)",
            store.dir().display()
        )
    } else {
        String::new()
    };
    match found {
        0 => format!(
            "; searched the backup directory {}{relative}: no backups there",
            dir.display()
        ),
        n => format!(
            "; searched the backup directory {}{relative}: {n} backup(s), none of database \
             {database} taken just before these migrations",
            dir.display()
        ),
    }
}
