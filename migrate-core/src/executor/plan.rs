//! What a deployment will do.

use crate::ledger::HistoryStatus;
use crate::sql::TransactionShape;

/// One migration a deployment will apply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedMigration {
    /// Its name.
    pub name: String,
    /// Prisma's checksum of its script.
    pub checksum: String,
    /// How its script behaves as one simple-protocol query.
    pub shape: TransactionShape,
}

/// What [`deploy`](super::MigrationExecutor::deploy) would do now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct DeployPlan {
    /// Where the history stands.
    pub status: HistoryStatus,
    /// The migrations to apply, in order.
    pub migrations: Vec<PlannedMigration>,
    /// Why deploy would refuse to run, if it would (each a full sentence).
    pub blockers: Vec<String>,
    /// What the user should know that does not stop the deployment.
    pub warnings: Vec<(String, String)>,
}

impl DeployPlan {
    /// True when deploy would run (possibly with nothing to do).
    #[must_use]
    pub fn is_deployable(&self) -> bool {
        self.blockers.is_empty()
    }
}
