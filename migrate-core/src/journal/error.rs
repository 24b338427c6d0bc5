//! Errors of the journal.

/// What can go wrong with the deployment journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A journal query failed.
    #[error("deployment journal: {action}: {source}")]
    Query {
        /// What we were doing.
        action: &'static str,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The schema could not be described.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
}

impl JournalError {
    pub(crate) fn query(action: &'static str) -> impl FnOnce(postgres::Error) -> Self {
        move |source| Self::Query { action, source }
    }
}
