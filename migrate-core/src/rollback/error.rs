//! Errors of planning and running rollbacks.

/// What can go wrong with a rollback. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollbackError {
    /// The database could not be reached.
    #[error(transparent)]
    Connect(#[from] crate::connection::ConnectError),
    /// The ledger or its lock failed.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The migrations directory could not be read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The backup could not be found, checked or restored.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// `--to NAME` names a migration that is not applied.
    #[error("migration {name} is not applied, so there is nothing to roll back to")]
    TargetNotApplied {
        /// The migration name.
        name: String,
    },
    /// Nothing was applied after the target.
    #[error("nothing to roll back: no migration was applied after {after}")]
    NothingToRollBack {
        /// The target, or `the start`.
        after: String,
    },
    /// A migration to roll back is not in the migrations directory, so its `down.sql` is unknown.
    #[error("migration {name} is applied but missing from the migrations directory")]
    MissingLocally {
        /// The migration name.
        name: String,
    },
    /// `--last-deployment` found no deployment in the journal whose migrations are still
    /// applied.
    #[error("--last-deployment: the deployment journal has no deployment whose migrations are still applied; use --to MIGRATION")]
    NoDeploymentJournal,
    /// The deployment journal could not be read.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The strategy asked for cannot roll these migrations back.
    #[error("the {strategy} strategy cannot roll back: {reason}")]
    NotApplicable {
        /// The strategy.
        strategy: &'static str,
        /// Why not.
        reason: String,
    },
    /// No strategy can roll back without guessing.
    #[error("no rollback strategy applies: {reason}")]
    NoStrategy {
        /// Why each strategy was rejected.
        reason: String,
    },
    /// Before a deployment: no strategy could undo the migrations once they committed, and one
    /// would with a privilege the role lacks. Nothing was changed.
    #[error("rollback would be impossible as role {role}: {needed}{}; grant it, add down.sql files, or deploy with rollback off or report-only; nothing was changed", if others.is_empty() { String::new() } else { format!(" ({others})") })]
    MissingPrivileges {
        /// The role.
        role: String,
        /// Each blocked strategy and the privileges it needs.
        needed: String,
        /// Why the other strategies do not apply.
        others: String,
    },
    /// A `down.sql` failed; its transaction was rolled back.
    #[error("down.sql of {migration} failed: {detail}{}", if *atomic { "; nothing was changed" } else { "; the down scripts before it stay applied" })]
    DownFailed {
        /// The migration whose down script failed.
        migration: String,
        /// The server's message.
        detail: String,
        /// Whether the whole rollback was one transaction (and so changed nothing).
        atomic: bool,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
    /// A query failed.
    #[error("{action}: {detail}")]
    Query {
        /// What we were doing.
        action: String,
        /// The server's message.
        detail: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
}

impl RollbackError {
    pub(crate) fn query(action: impl Into<String>) -> impl FnOnce(postgres::Error) -> Self {
        let action = action.into();
        move |source| Self::Query {
            action,
            detail: detail(&source),
            source,
        }
    }
}

/// The server's message with its SQLSTATE, else the driver's.
pub(crate) fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
