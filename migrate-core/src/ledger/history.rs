//! Comparing the migrations directory with the ledger.

use super::{LedgerRow, RowState};
use crate::source::{checksum_matches, Migrations};

/// Where each migration stands, comparing the directory with `_prisma_migrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistoryStatus {
    /// True when `_prisma_migrations` exists.
    pub ledger_exists: bool,
    /// Local migrations with an applied row.
    pub applied: Vec<String>,
    /// Local migrations with no row that counts (Prisma: no row whose `rolled_back_at` is NULL),
    /// in the order deploy applies them.
    pub pending: Vec<String>,
    /// Migrations with a failed row (`finished_at` and `rolled_back_at` NULL): deploy refuses to
    /// run until they are resolved (Prisma's P3009).
    pub failed: Vec<String>,
    /// Of `failed`, those whose attempt has no outcome (no `logs`): still running, or its
    /// process died mid-migration. `migrate deploy` resumes the attempts of its own
    /// deployments by itself, once no deployment is running.
    pub interrupted: Vec<String>,
    /// Applied migrations whose `migration.sql` changed or vanished since.
    pub modified: Vec<String>,
    /// Applied migrations that have no directory here.
    pub missing_locally: Vec<String>,
    /// Migrations with a rolled-back row and nothing else that counts.
    pub rolled_back: Vec<String>,
}

impl HistoryStatus {
    /// Compares `migrations` with the ledger `rows` (`None` when there is no ledger).
    #[must_use]
    pub fn diagnose(migrations: &Migrations, rows: Option<&[LedgerRow]>) -> Self {
        let mut status = Self {
            ledger_exists: rows.is_some(),
            ..Self::default()
        };
        let rows = rows.unwrap_or_default();
        for local in migrations {
            let name = local.name();
            let mine: Vec<&LedgerRow> = rows.iter().filter(|r| r.migration_name == name).collect();
            let applied: Vec<&&LedgerRow> = mine
                .iter()
                .filter(|r| r.state() == RowState::Applied)
                .collect();
            if mine.iter().any(|r| r.state() == RowState::Failed) {
                status.failed.push(name.to_owned());
                if mine
                    .iter()
                    .any(|r| r.state() == RowState::Failed && r.logs.is_none())
                {
                    status.interrupted.push(name.to_owned());
                }
            }
            if !applied.is_empty() {
                status.applied.push(name.to_owned());
                let unchanged = local.script().is_some_and(|script| {
                    applied
                        .iter()
                        .any(|r| checksum_matches(script.text(), &r.checksum))
                });
                if !unchanged {
                    status.modified.push(name.to_owned());
                }
            } else if mine.iter().all(|r| r.state() == RowState::RolledBack) {
                status.pending.push(name.to_owned());
                if !mine.is_empty() {
                    status.rolled_back.push(name.to_owned());
                }
            }
        }
        for row in rows.iter().filter(|r| r.state() == RowState::Applied) {
            let name = &row.migration_name;
            if migrations.get(name).is_none() && !status.missing_locally.contains(name) {
                status.missing_locally.push(name.clone());
            }
        }
        for row in rows.iter().filter(|r| r.state() == RowState::Failed) {
            if migrations.get(&row.migration_name).is_none()
                && !status.failed.contains(&row.migration_name)
            {
                status.failed.push(row.migration_name.clone());
            }
        }
        status
    }

    /// True when deploy has nothing to do and nothing to refuse: a ledger exists, and no
    /// migration is pending, failed, modified or missing locally.
    #[must_use]
    pub fn is_up_to_date(&self) -> bool {
        self.ledger_exists
            && self.pending.is_empty()
            && self.failed.is_empty()
            && self.modified.is_empty()
            && self.missing_locally.is_empty()
    }
}
