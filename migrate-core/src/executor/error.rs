//! Errors of the executor.

use crate::connection::ConnectError;
use crate::ledger::LedgerError;
use crate::sql::LineCol;

/// A migration that failed to apply (Prisma's P3018), with what the user needs to recover.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationFailure {
    /// The migration.
    pub name: String,
    /// SQLSTATE of the database error, when the server answered.
    pub code: Option<String>,
    /// The database error, with its detail, hint and position.
    pub message: String,
    /// Where in the file the error points, when the server said.
    pub at: Option<LineCol>,
    /// Set when the file's own `COMMIT` had already committed part of it: where that happened.
    pub committed_through: Option<LineCol>,
    /// False when the failure could not be written to the ledger (the connection was lost):
    /// the row then still says the migration is running.
    pub recorded: bool,
    /// Migrations applied by this deployment before the failure.
    pub applied_before: Vec<String>,
    /// The session that held the lock the migration waited for, when one was seen.
    pub blocker: Option<crate::ledger::LockHolder>,
    /// How many times the migration was tried.
    pub attempts: u32,
    /// The journal entry of the deployment.
    pub deployment_id: Option<String>,
    /// True for a statement that runs outside a transaction (`CREATE INDEX CONCURRENTLY`): its
    /// INVALID leftovers were dropped.
    pub outside_transaction: bool,
}

impl MigrationFailure {
    /// What failed and what it left, without the advice on how to go on: for a caller that
    /// recovers by itself (the pipeline's automatic rollback) and gives its own.
    #[must_use]
    pub fn without_advice(&self) -> String {
        let mut text = String::new();
        let _ = self.describe(&mut text);
        text
    }

    /// What failed and what it left, each a full sentence.
    fn describe(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        let name = &self.name;
        write!(f, "migration {name} failed to apply (P3018)")?;
        if let Some(code) = &self.code {
            write!(f, ", database error {code}")?;
        }
        write!(f, ":\n{}\n\n", self.message.trim_end())?;
        if let Some(blocker) = &self.blocker {
            write!(
                f,
                "It waited for a lock held by {blocker} ({} attempt(s)); nothing of it was applied. \
                 End that session or deploy when it is done.\n\n",
                self.attempts
            )?;
        }
        match self.committed_through {
            Some(at) => write!(
                f,
                "The file's own COMMIT at line {} had already committed the statements before it: \
                 they remain applied.",
                at.line
            )?,
            None if self.outside_transaction => f.write_str(
                "The statement ran outside a transaction; the INVALID index it left was dropped, so \
                 nothing of it remains.",
            )?,
            None => f.write_str(
                "PostgreSQL rolled the whole migration back (it ran as one transaction).",
            )?,
        }
        if !self.recorded {
            f.write_str(
                " The failure could not be recorded in _prisma_migrations (connection lost).",
            )?;
        }
        Ok(())
    }
}

/// With Prisma's advice: the failed row stays until it is resolved (P3009).
impl std::fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = &self.name;
        self.describe(f)?;
        if self.committed_through.is_some() {
            f.write_str(" Revert them by hand (or with its down.sql), then ")?;
        } else {
            f.write_str(" To recover: ")?;
        }
        write!(
            f,
            "fix the migration, run `migrate resolve --rolled-back {name}`, and deploy again; if \
             you applied it by hand instead, run `migrate resolve --applied {name}`."
        )
    }
}

/// What can go wrong while planning, deploying or resolving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// The database could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The ledger or its lock failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Failed migrations must be resolved first (Prisma's P3009).
    #[error(
        "migrate found failed migrations in the target database (P3009); new migrations will not \
         be applied until they are resolved: {}. Fix the cause, then run `migrate resolve \
         --rolled-back NAME` (to retry it) or `migrate resolve --applied NAME` (if you completed \
         it by hand)", .names.join(", ")
    )]
    FailedMigrations {
        /// Names of the failed migrations.
        names: Vec<String>,
    },
    /// Applied migrations whose files changed since.
    #[error(
        "applied migration(s) changed on disk since they were applied: {}; restore the original \
         files (edits are never re-applied), or deploy with --accept-modified", .names.join(", ")
    )]
    Modified {
        /// Names of the modified migrations.
        names: Vec<String>,
    },
    /// Applied migrations with no local directory.
    #[error(
        "applied migration(s) missing from the migrations directory: {}; is this checkout behind \
         the database? Deploy with --accept-missing to continue anyway", .names.join(", ")
    )]
    MissingLocally {
        /// Names of the missing migrations.
        names: Vec<String>,
    },
    /// A pending migration's directory has no `migration.sql` (Prisma's P3015).
    #[error("could not find the migration file at {} (P3015)", .path.display())]
    MissingScript {
        /// The missing file.
        path: std::path::PathBuf,
    },
    /// A script PostgreSQL will reject whatever the data: nothing was run.
    #[error(
        "{}:{at}: {statement} cannot run inside a transaction block, and a migration file with \
         several statements runs as one; move it to a migration of its own (nothing was applied)",
        .path.display()
    )]
    CertainFailure {
        /// The script.
        path: std::path::PathBuf,
        /// The statement kind.
        statement: String,
        /// Where it is.
        at: LineCol,
    },
    /// A migration failed (Prisma's P3018).
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),
    /// The named migration is not in the migrations directory (Prisma's P3017).
    #[error("migration {name} not found in the migrations directory (P3017)")]
    UnknownMigration {
        /// The name given.
        name: String,
    },
    /// `resolve --applied` on an applied migration (Prisma's P3008).
    #[error("migration {name} is already recorded as applied in the database (P3008)")]
    AlreadyApplied {
        /// The migration.
        name: String,
    },
    /// `resolve --rolled-back` on a migration with no row (Prisma's P3011).
    #[error("migration {name} cannot be rolled back because it was never applied to the database (P3011)")]
    NeverApplied {
        /// The migration.
        name: String,
    },
    /// `resolve --rolled-back` on a migration that did not fail (Prisma's P3012).
    #[error("migration {name} cannot be rolled back because it is not in a failed state (P3012)")]
    NotFailed {
        /// The migration.
        name: String,
    },
    /// The operation needs `_prisma_migrations`, which does not exist.
    #[error("the database has no _prisma_migrations table: nothing was ever deployed here")]
    NoLedger,
    /// The deployment journal failed.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// Another query failed.
    #[error("{action}: {source}")]
    Query {
        /// What we were doing.
        action: &'static str,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
}

impl ExecuteError {
    /// Migrations this deployment applied before it failed (empty unless a migration failed).
    #[must_use]
    pub fn applied_before(&self) -> &[String] {
        match self {
            Self::MigrationFailed(f) => &f.applied_before,
            _ => &[],
        }
    }
}
