//! What operations did.

use std::time::Duration;

/// A migration applied by a deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedMigration {
    /// Its name.
    pub name: String,
    /// Prisma's checksum recorded in the ledger.
    pub checksum: String,
    /// How long its script took.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
}

/// The outcome of a successful deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeployReport {
    /// What was applied, in order (empty when the database was up to date).
    pub applied: Vec<AppliedMigration>,
    /// Migrations that were already applied.
    pub already_applied: usize,
    /// True when this deployment created `_prisma_migrations`.
    pub ledger_created: bool,
    /// How long we waited for the migration lock.
    #[serde(serialize_with = "crate::event::millis", rename = "lock_wait_ms")]
    pub lock_wait: Duration,
    /// Total time.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The journal entry of this deployment (`None` when nothing was pending).
    pub deployment_id: Option<String>,
}

/// The outcome of `resolve`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResolveOutcome {
    /// The migration.
    pub migration: String,
    /// Failed rows marked rolled back.
    pub rows_rolled_back: usize,
    /// True when a row recording the migration as applied was inserted.
    pub marked_applied: bool,
}
