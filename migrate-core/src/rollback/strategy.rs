//! The extension point and its three defaults: transactional, down-migration, restore.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::Utc;
use postgres::Client;

use super::error::detail;
use super::{RollbackError, Target};
use crate::backup::{
    Backup, BackupProvider, DatabaseState, Privilege, RestoreOptions, RestoreReport, RolePrivileges,
};
use crate::connection::{connect, DatabaseUrl};
use crate::journal::Journal;
use crate::ledger::{AdvisoryLock, LockWait};
use crate::sql::{split, TransactionShape};

/// Which strategy: one this crate ships, or a user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StrategyKind {
    /// PostgreSQL already rolled the failed migration back: record it.
    Transactional,
    /// Run the migrations' `down.sql` in reverse order.
    DownMigration,
    /// Restore the backup taken before the migrations.
    Restore,
    /// A strategy of the user's, by its kebab-case name.
    Custom(&'static str),
}

impl StrategyKind {
    /// The name in messages and `--strategy` (`down-migration`, or the custom name).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Transactional => "transactional",
            Self::DownMigration => "down-migration",
            Self::Restore => "restore",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for StrategyKind {
    /// Built-ins in snake case (`down_migration`), as journals and JSON reports have them;
    /// a custom strategy by its name.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Self::DownMigration => "down_migration",
            other => other.name(),
        })
    }
}

/// How much a strategy loses, as the planner ranks strategies: the least first, and among
/// equals the one listed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LossClass {
    /// Nothing: the database returns to its state before the migrations, every other write kept.
    Nothing,
    /// What the migrations created (tables, columns), with the rows written to it.
    CreatedObjects,
    /// Every write since the backup.
    WritesSinceBackup,
}

impl fmt::Display for LossClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nothing => "nothing",
            Self::CreatedObjects => "the objects the migrations created, with their rows",
            Self::WritesSinceBackup => "every write since the backup",
        })
    }
}

/// A strategy's judgement of a rollback it can run: what it loses and why it fits.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// What will be lost.
    pub data_loss: super::DataLoss,
    /// Why this strategy, in one sentence.
    pub reason: String,
}

/// Everything a strategy may need.
#[derive(Debug)]
pub struct RollbackContext<'a> {
    /// The database.
    pub url: &'a DatabaseUrl,
    /// The migrations to undo, in the order they were applied.
    pub targets: &'a [Target],
    /// The backup taken before the first target, when one is known.
    pub backup: Option<&'a Backup>,
    /// The provider that took it.
    pub provider: &'a dyn BackupProvider,
    /// How long to wait for the migration lock.
    pub lock_wait: LockWait,
}

/// What a strategy is asked before a deployment changes anything: could it undo these
/// migrations once they committed, with this role?
#[derive(Debug)]
pub struct ProspectContext<'a> {
    /// The migrations about to be applied, in order.
    pub migrations: &'a [&'a crate::source::LocalMigration],
    /// What the connected role may do.
    pub privileges: &'a RolePrivileges,
    /// Whether a backup is taken before them.
    pub backup: bool,
    /// For a scoped backup, the tables it will cover (`"schema"."table"`); `None` for a full
    /// one.
    pub covered: Option<Vec<String>>,
    /// The provider that takes it.
    pub provider: &'a dyn BackupProvider,
}

/// A strategy's answer to a [`ProspectContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prospect {
    /// It could undo them.
    Executable,
    /// It does not apply to them (no `down.sql`, no backup…), why in words.
    NotApplicable(String),
    /// It would apply, but the role lacks these privileges.
    MissingPrivileges(Vec<Privilege>),
}

/// What a rollback did.
#[derive(Debug, Clone, serde::Serialize)]
#[must_use]
pub struct RollbackOutcome {
    /// The strategy used.
    pub strategy: StrategyKind,
    /// The migrations undone, in the order they were undone.
    pub rolled_back: Vec<String>,
    /// Ledger rows changed: an undone migration's rows taken out (into the journal), a failed
    /// attempt's marked `rolled_back_at`.
    pub ledger_rows_marked: usize,
    /// How long it took.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The restore's report, for the restore strategy.
    pub restore: Option<RestoreReport>,
}

/// A way to undo migrations. The planner asks each strategy whether it can undo the targets,
/// ranks those that can by [`loss`](RollbackStrategy::loss), and runs the first.
pub trait RollbackStrategy: Send + Sync + fmt::Debug {
    /// Which strategy this is.
    fn kind(&self) -> StrategyKind;

    /// How much this strategy loses when it applies: the planner prefers the least.
    fn loss(&self) -> LossClass;

    /// Why this strategy cannot undo `ctx.targets`, or `None` when it can.
    fn unsupported_reason(&self, ctx: &RollbackContext<'_>) -> Option<String>;

    /// What undoing `ctx.targets` will lose, said before anything runs. By default, the
    /// [`loss`](RollbackStrategy::loss) class in words.
    ///
    /// # Errors
    ///
    /// [`RollbackError`] when the database cannot be read to tell.
    fn assess(&self, ctx: &RollbackContext<'_>) -> Result<Assessment, RollbackError> {
        let _ = ctx;
        Ok(Assessment {
            data_loss: super::DataLoss::Custom { loss: self.loss() },
            reason: format!("{} applies", self.kind()),
        })
    }

    /// Whether this strategy could undo `ctx.migrations` after they commit (a failed
    /// verification or health check), judged before they run. By default,
    /// [`Prospect::Executable`]: a strategy of the user's knows its own needs.
    fn prospect(&self, ctx: &ProspectContext<'_>) -> Prospect {
        let _ = ctx;
        Prospect::Executable
    }

    /// Undoes `ctx.targets`.
    ///
    /// # Errors
    ///
    /// [`RollbackError`]; [`RollbackError::NotApplicable`] when
    /// [`RollbackStrategy::unsupported_reason`] says so.
    fn execute(&self, ctx: &RollbackContext<'_>) -> Result<RollbackOutcome, RollbackError>;
}

fn not_applicable(
    strategy: &dyn RollbackStrategy,
    ctx: &RollbackContext<'_>,
) -> Result<(), RollbackError> {
    match strategy.unsupported_reason(ctx) {
        Some(reason) => Err(RollbackError::NotApplicable {
            strategy: strategy.kind().name(),
            reason,
        }),
        None => Ok(()),
    }
}

fn mark_rolled_back(
    client: &mut impl postgres::GenericClient,
    ids: &[String],
) -> Result<usize, RollbackError> {
    let n = client
        .execute(
            "UPDATE _prisma_migrations SET rolled_back_at = $2 WHERE id = ANY($1) AND rolled_back_at IS NULL",
            &[&ids, &Utc::now()],
        )
        .map_err(RollbackError::query("marking the ledger rows rolled back"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The ledger after a migration's `down.sql` ran: its applied rows out (kept in the journal),
/// its failed attempts rolled back.
fn undo_rows(
    client: &mut impl postgres::GenericClient,
    ids: &[String],
) -> Result<usize, RollbackError> {
    let moved = Journal::unrecord(client, ids, StrategyKind::DownMigration.name())?;
    Ok(moved + mark_rolled_back(client, ids)?)
}

fn locked(client: &mut Client, wait: LockWait) -> Result<AdvisoryLock<'_>, RollbackError> {
    Ok(AdvisoryLock::acquire(client, wait, &mut |_| {})?)
}

/// For migrations that failed: PostgreSQL rolled each back with its transaction, so the only
/// thing left is to record that, as `prisma migrate resolve --rolled-back` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransactionalRollback;

impl RollbackStrategy for TransactionalRollback {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Transactional
    }

    fn loss(&self) -> LossClass {
        LossClass::Nothing
    }

    fn assess(&self, _: &RollbackContext<'_>) -> Result<Assessment, RollbackError> {
        Ok(Assessment {
            data_loss: super::DataLoss::Nothing,
            reason: "the migrations failed and PostgreSQL rolled them back".to_owned(),
        })
    }

    fn prospect(&self, _: &ProspectContext<'_>) -> Prospect {
        Prospect::NotApplicable(
            "it only undoes a migration that fails inside its own transaction".to_owned(),
        )
    }

    fn unsupported_reason(&self, ctx: &RollbackContext<'_>) -> Option<String> {
        let applied: Vec<&str> = ctx
            .targets
            .iter()
            .filter(|t| t.applied)
            .map(|t| t.name.as_str())
            .collect();
        (!applied.is_empty()).then(|| {
            format!(
                "{} committed, so PostgreSQL did not roll it back",
                applied.join(", ")
            )
        })
    }

    fn execute(&self, ctx: &RollbackContext<'_>) -> Result<RollbackOutcome, RollbackError> {
        not_applicable(self, ctx)?;
        let start = Instant::now();
        let mut client = connect(ctx.url)?;
        let mut lock = locked(&mut client, ctx.lock_wait)?;
        let ids: Vec<String> = ctx
            .targets
            .iter()
            .flat_map(|t| t.ledger_ids.clone())
            .collect();
        let marked = mark_rolled_back(&mut *lock, &ids)?;
        Ok(RollbackOutcome {
            strategy: self.kind(),
            rolled_back: ctx.targets.iter().rev().map(|t| t.name.clone()).collect(),
            ledger_rows_marked: marked,
            duration: start.elapsed(),
            restore: None,
        })
    }
}

/// Runs the targets' `down.sql` newest first, in one transaction with the ledger updates when
/// every script allows it (so a failure changes nothing). An undone migration's applied rows
/// leave Prisma's ledger for the journal (`Journal::unrecord`), so that `prisma migrate status`
/// and `deploy` both see it as not applied; failed attempts are marked `rolled_back_at`, as
/// `prisma migrate resolve --rolled-back` would.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownMigrationRollback;

impl RollbackStrategy for DownMigrationRollback {
    fn kind(&self) -> StrategyKind {
        StrategyKind::DownMigration
    }

    fn loss(&self) -> LossClass {
        LossClass::CreatedObjects
    }

    fn assess(&self, ctx: &RollbackContext<'_>) -> Result<Assessment, RollbackError> {
        let drops = ctx
            .targets
            .iter()
            .filter_map(|t| t.down.as_ref())
            .flat_map(|s| {
                split(s.sql())
                    .into_iter()
                    .filter(|st| st.has_word(s.sql(), "DROP"))
                    .map(|st| {
                        st.text(s.sql())
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Assessment {
            data_loss: super::DataLoss::DroppedByDownScripts { drops },
            reason: "every migration has a down.sql: undone in place, no other rows lost"
                .to_owned(),
        })
    }

    /// The down scripts run as the role that applied the migrations, on objects it created:
    /// no privilege beyond that.
    fn prospect(&self, ctx: &ProspectContext<'_>) -> Prospect {
        let missing: Vec<&str> = ctx
            .migrations
            .iter()
            .filter(|m| m.down().is_none())
            .map(|m| m.name())
            .collect();
        if missing.is_empty() {
            Prospect::Executable
        } else {
            Prospect::NotApplicable(format!(
                "no down.sql for {}",
                crate::event::names_brief(&missing, 3)
            ))
        }
    }

    fn unsupported_reason(&self, ctx: &RollbackContext<'_>) -> Option<String> {
        let missing: Vec<&str> = ctx
            .targets
            .iter()
            .filter(|t| t.applied && t.down.is_none())
            .map(|t| t.name.as_str())
            .collect();
        (!missing.is_empty())
            .then(|| format!("no down.sql for {}", crate::event::names_brief(&missing, 3)))
    }

    fn execute(&self, ctx: &RollbackContext<'_>) -> Result<RollbackOutcome, RollbackError> {
        not_applicable(self, ctx)?;
        let start = Instant::now();
        let mut client = connect(ctx.url)?;
        let mut lock = locked(&mut client, ctx.lock_wait)?;
        Journal::ensure(&mut lock)?;
        let scripts: Vec<(&Target, Option<&str>)> = ctx
            .targets
            .iter()
            .rev()
            .map(|t| (t, t.down.as_ref().map(|s| s.sql())))
            .collect();
        // A script with its own BEGIN/COMMIT, or a statement that cannot run in a transaction
        // block, rules out the single transaction: each script then runs on its own.
        let atomic = scripts.iter().all(|(_, sql)| {
            sql.is_none_or(|sql| {
                let shape = TransactionShape::of(sql);
                !shape.splits_atomicity()
                    && shape.certain_failure().is_none()
                    && !sql.to_ascii_uppercase().contains("CONCURRENTLY")
            })
        });
        let mut marked = 0;
        if atomic {
            let mut tx = lock
                .transaction()
                .map_err(RollbackError::query("starting the rollback transaction"))?;
            for (target, sql) in &scripts {
                if let Some(sql) = sql {
                    tx.batch_execute(sql)
                        .map_err(|source| RollbackError::DownFailed {
                            migration: target.name.clone(),
                            detail: detail(&source),
                            atomic: true,
                            source,
                        })?;
                }
                marked += undo_rows(&mut tx, &target.ledger_ids)?;
            }
            tx.commit()
                .map_err(RollbackError::query("committing the rollback"))?;
        } else {
            log::warn!(target: "migrate_core::rollback", "a down.sql manages its own transactions: each script runs on its own");
            for (target, sql) in &scripts {
                if let Some(sql) = sql {
                    lock.batch_execute(sql)
                        .map_err(|source| RollbackError::DownFailed {
                            migration: target.name.clone(),
                            detail: detail(&source),
                            atomic: false,
                            source,
                        })?;
                }
                marked += undo_rows(&mut *lock, &target.ledger_ids)?;
            }
        }
        Ok(RollbackOutcome {
            strategy: self.kind(),
            rolled_back: scripts.iter().map(|(t, _)| t.name.clone()).collect(),
            ledger_rows_marked: marked,
            duration: start.elapsed(),
            restore: None,
        })
    }
}

/// Restores the backup taken before the targets: the database, ledger included, returns to
/// that state. Rows written after the backup are lost (the plan says which tables).
#[derive(Debug, Clone, Default)]
pub struct RestoreRollback {
    /// How the restore runs.
    pub options: RestoreOptions,
}

impl RollbackStrategy for RestoreRollback {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Restore
    }

    fn loss(&self) -> LossClass {
        LossClass::WritesSinceBackup
    }

    fn assess(&self, ctx: &RollbackContext<'_>) -> Result<Assessment, RollbackError> {
        let backup = ctx.backup.ok_or_else(|| RollbackError::NoStrategy {
            reason: "no backup".into(),
        })?;
        let mut client = connect(ctx.url)?;
        let tables = match &backup.manifest.scope {
            // A table-level restore touches the covered tables only: their writes since the
            // backup are what it loses (found by count and digest, a scan of those tables
            // alone); the writes to every other table stay.
            Some(scope) => {
                let mut lost = Vec::new();
                for t in &scope.covered {
                    // A table the migrations dropped holds nothing now: all its rows come back.
                    let exists: bool = client
                        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&t.qualified()])
                        .map_err(RollbackError::query("looking up a covered table"))?
                        .get(0);
                    let (rows, digest) = if exists {
                        crate::backup::table_digest(&mut client, &t.qualified(), &ctx.url.target())?
                    } else {
                        (0, String::new())
                    };
                    if rows != t.rows || digest != t.digest {
                        lost.push(crate::backup::TableLoss {
                            schema: t.schema.clone(),
                            table: t.table.clone(),
                            rows_at_backup: Some(t.rows),
                            rows_before_restore: rows,
                            writes_since_backup: None,
                        });
                    }
                }
                lost
            }
            None => {
                let now = DatabaseState::capture(&mut client, &ctx.url.target())?;
                crate::backup::losses(&backup.manifest.state, &now)
            }
        };
        Ok(Assessment {
            data_loss: super::DataLoss::SinceBackup {
                backup: backup.id().to_owned(),
                tables,
            },
            reason: format!(
                "restoring {} taken {}",
                backup.id(),
                backup.manifest.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        })
    }

    fn prospect(&self, ctx: &ProspectContext<'_>) -> Prospect {
        if !ctx.backup {
            return Prospect::NotApplicable("no backup is taken (backup off)".to_owned());
        }
        let missing = ctx
            .provider
            .restore_missing(ctx.privileges, ctx.covered.as_deref());
        if missing.is_empty() {
            Prospect::Executable
        } else {
            Prospect::MissingPrivileges(missing)
        }
    }

    fn unsupported_reason(&self, ctx: &RollbackContext<'_>) -> Option<String> {
        match ctx.backup {
            None => Some("no backup taken before these migrations".into()),
            Some(backup) => {
                if let Some(missing) = missing_to_restore(ctx, backup) {
                    return Some(missing);
                }
                if let Some(scope) = &backup.manifest.scope {
                    let outside: Vec<&str> = ctx
                        .targets
                        .iter()
                        .filter(|t| t.applied && !scope.migrations.contains(&t.name))
                        .map(|t| t.name.as_str())
                        .collect();
                    if !outside.is_empty() {
                        return Some(format!(
                            "backup {} is scoped to other migrations than {}",
                            backup.id(),
                            outside.join(", ")
                        ));
                    }
                }
                let inside: Vec<&str> = ctx
                    .targets
                    .iter()
                    .filter(|t| {
                        t.applied
                            && backup
                                .manifest
                                .ledger
                                .iter()
                                .any(|e| e.migration_name == t.name)
                    })
                    .map(|t| t.name.as_str())
                    .collect();
                (!inside.is_empty()).then(|| {
                    format!(
                        "backup {} already contains {}",
                        backup.id(),
                        inside.join(", ")
                    )
                })
            }
        }
    }

    fn execute(&self, ctx: &RollbackContext<'_>) -> Result<RollbackOutcome, RollbackError> {
        not_applicable(self, ctx)?;
        let start = Instant::now();
        let backup = ctx.backup.ok_or_else(|| RollbackError::NoStrategy {
            reason: "no backup".into(),
        })?;
        let report = ctx.provider.restore(backup, ctx.url, &self.options)?;
        Ok(RollbackOutcome {
            strategy: self.kind(),
            rolled_back: ctx.targets.iter().rev().map(|t| t.name.clone()).collect(),
            ledger_rows_marked: 0,
            duration: start.elapsed(),
            restore: Some(report),
        })
    }
}

/// The privileges the role lacks to restore `backup`, in words; `None` when it has them (or
/// they cannot be read: the restore then says what failed).
fn missing_to_restore(ctx: &RollbackContext<'_>, backup: &Backup) -> Option<String> {
    let mut client = connect(ctx.url).ok()?;
    let privileges = RolePrivileges::read(&mut client, &ctx.url.target()).ok()?;
    let covered: Option<Vec<String>> = backup
        .manifest
        .scope
        .as_ref()
        .map(|s| s.covered.iter().map(|t| t.qualified()).collect());
    let missing = ctx
        .provider
        .restore_missing(&privileges, covered.as_deref());
    (!missing.is_empty()).then(|| {
        format!(
            "role {} lacks {}",
            privileges.role,
            crate::backup::list_privileges(&missing)
        )
    })
}
