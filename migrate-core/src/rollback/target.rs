//! Which migrations a rollback undoes.

use postgres::Client;

use super::RollbackError;
use crate::ledger::{self, LedgerRow, RowState};
use crate::source::{Migrations, Script};

/// What to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// Every migration recorded after this one (which stays applied).
    To(String),
    /// These migrations (e.g. those a deployment report lists as applied).
    Migrations(Vec<String>),
    /// The migrations of the newest deployment in the journal (`_migrate.deployments`) that
    /// applied migrations still applied now; after one rollback, the deployment before it.
    /// Without such a deployment: [`RollbackError::NoDeploymentJournal`].
    LastDeployment,
}

/// A migration to undo.
#[derive(Debug, Clone)]
pub struct Target {
    /// The migration name.
    pub name: String,
    /// Whether it is applied (`true`) or only has failed attempts (`false`, which PostgreSQL
    /// already rolled back).
    pub applied: bool,
    /// The ledger rows of its current attempts (applied or failed, not rolled back).
    pub ledger_ids: Vec<String>,
    /// Its `down.sql`, when the directory has one.
    pub down: Option<Script>,
}

/// The ledger rows that still count (not rolled back), in ledger order.
pub(crate) fn live_rows(rows: &[LedgerRow]) -> impl Iterator<Item = &LedgerRow> {
    rows.iter().filter(|r| r.state() != RowState::RolledBack)
}

/// Resolves `selection` against the ledger and the directory: the targets in the order they were
/// applied (a rollback undoes them in reverse).
///
/// # Errors
///
/// [`RollbackError::TargetNotApplied`], [`RollbackError::NothingToRollBack`],
/// [`RollbackError::NoDeploymentJournal`], or ledger failures.
pub fn select(
    client: &mut Client,
    migrations: &Migrations,
    selection: &Selection,
) -> Result<Vec<Target>, RollbackError> {
    let rows = if ledger::table_exists(client)? {
        ledger::read_rows(client)?
    } else {
        Vec::new()
    };
    let live: Vec<&LedgerRow> = live_rows(&rows).collect();
    let names: Vec<String> = match selection {
        Selection::LastDeployment => {
            let applied_now = |name: &String| {
                live.iter()
                    .any(|r| r.migration_name == *name && r.state() == RowState::Applied)
            };
            let deployments = crate::journal::Journal::list(client, 100)?;
            let last = deployments
                .iter()
                .find(|d| d.applied.iter().any(applied_now))
                .ok_or(RollbackError::NoDeploymentJournal)?;
            log::info!(
                target: "migrate_core::rollback",
                "last deployment {} ({}) applied {}",
                last.id,
                last.started_at,
                last.applied.join(", ")
            );
            let still: Vec<String> = last
                .applied
                .iter()
                .filter(|n| applied_now(n))
                .cloned()
                .collect();
            // Ledger order, as for an explicit list.
            let mut ordered: Vec<String> = Vec::new();
            for row in &live {
                if still.contains(&row.migration_name) && !ordered.contains(&row.migration_name) {
                    ordered.push(row.migration_name.clone());
                }
            }
            ordered
        }
        Selection::To(name) => {
            let position = live
                .iter()
                .rposition(|r| r.migration_name == *name && r.state() == RowState::Applied)
                .ok_or_else(|| RollbackError::TargetNotApplied { name: name.clone() })?;
            let mut names: Vec<String> = Vec::new();
            for row in &live[position + 1..] {
                if row.migration_name != *name && !names.contains(&row.migration_name) {
                    names.push(row.migration_name.clone());
                }
            }
            if names.is_empty() {
                return Err(RollbackError::NothingToRollBack {
                    after: name.clone(),
                });
            }
            names
        }
        Selection::Migrations(names) => {
            for name in names {
                if !live.iter().any(|r| r.migration_name == *name) {
                    return Err(RollbackError::TargetNotApplied { name: name.clone() });
                }
            }
            // Ledger order, whatever order they were given in.
            let mut ordered: Vec<String> = Vec::new();
            for row in &live {
                if names.contains(&row.migration_name) && !ordered.contains(&row.migration_name) {
                    ordered.push(row.migration_name.clone());
                }
            }
            if ordered.is_empty() {
                return Err(RollbackError::NothingToRollBack {
                    after: "the start".into(),
                });
            }
            ordered
        }
    };
    Ok(names
        .into_iter()
        .map(|name| {
            let own: Vec<&&LedgerRow> = live.iter().filter(|r| r.migration_name == name).collect();
            Target {
                applied: own.iter().any(|r| r.state() == RowState::Applied),
                ledger_ids: own.iter().map(|r| r.id.clone()).collect(),
                down: migrations.get(&name).and_then(|m| m.down().cloned()),
                name,
            }
        })
        .collect())
}
