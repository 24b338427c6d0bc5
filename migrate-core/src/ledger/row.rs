//! One row of `_prisma_migrations`.

use chrono::{DateTime, Utc};

/// A row of `_prisma_migrations`, as Prisma writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerRow {
    /// A lowercase hyphenated UUID v4.
    pub id: String,
    /// Prisma's checksum of the script when the row was written.
    pub checksum: String,
    /// When the script finished; `None` while running or after a failure.
    pub finished_at: Option<DateTime<Utc>>,
    /// The migration (directory) name.
    pub migration_name: String,
    /// The error text of a failed attempt (`''` for `resolve --applied`, `None` on success).
    pub logs: Option<String>,
    /// Set by `resolve --rolled-back`: this attempt no longer counts.
    pub rolled_back_at: Option<DateTime<Utc>>,
    /// When the attempt started (client clock, like Prisma).
    pub started_at: DateTime<Utc>,
    /// 1 after a successful script, 0 for a failure or `resolve --applied`.
    pub applied_steps_count: i32,
}

/// How Prisma interprets a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// `finished_at IS NOT NULL AND rolled_back_at IS NULL`.
    Applied,
    /// `finished_at IS NULL AND rolled_back_at IS NULL`: failed, or still running.
    Failed,
    /// `rolled_back_at IS NOT NULL`.
    RolledBack,
}

impl LedgerRow {
    /// The row's state in Prisma's terms.
    #[must_use]
    pub fn state(&self) -> RowState {
        match (self.finished_at, self.rolled_back_at) {
            (_, Some(_)) => RowState::RolledBack,
            (Some(_), None) => RowState::Applied,
            (None, None) => RowState::Failed,
        }
    }
}
