//! Errors of the ledger and its lock.

use std::time::Duration;

use super::LockHolder;

/// What can go wrong with `_prisma_migrations` or the advisory lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Another deployment holds the migration lock for longer than we may wait (Prisma's P1002).
    #[error(
        "timed out after {}s waiting for the migration lock (pg_advisory_lock({key})){}; another \
         deployment is running, or a session holds the lock: wait, or end that session",
        timeout.as_secs_f64(), holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default()
    )]
    LockTimeout {
        /// How long we waited.
        timeout: Duration,
        /// The lock key.
        key: i64,
        /// The session holding the lock, when it could be seen.
        holder: Option<LockHolder>,
    },
    /// The database is not empty and has no ledger (Prisma's P3005).
    #[error(
        "the database schema {schema} is not empty and has no _prisma_migrations table (P3005): \
         it holds {tables}; if it already matches the migrations, baseline it with \
         `migrate baseline` (or `migrate resolve --applied NAME` for each migration), then deploy"
    )]
    NotEmpty {
        /// The schema that was inspected.
        schema: String,
        /// Some of the tables found.
        tables: String,
    },
    /// A ledger row could not be read as Prisma writes it.
    #[error("_prisma_migrations row {id} is malformed: {reason}")]
    MalformedRow {
        /// The row id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A query on the ledger failed.
    #[error("{action}: {source}")]
    Query {
        /// What we were doing.
        action: &'static str,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
}

impl LedgerError {
    pub(crate) fn query(action: &'static str) -> impl FnOnce(postgres::Error) -> Self {
        move |source| Self::Query { action, source }
    }
}
