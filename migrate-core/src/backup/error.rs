//! Errors of taking, checking and restoring backups.

use std::path::PathBuf;

/// What can go wrong with a backup. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// No usable `pg_dump`/`pg_restore` was found.
    #[error("no {tool} found (searched {searched}): install postgresql-client-{server_major} or set MIGRATE_PG_BIN")]
    ToolNotFound {
        /// The missing program.
        tool: &'static str,
        /// Where it was searched.
        searched: String,
        /// The server's major version, which the client package must match or exceed.
        server_major: u32,
    },
    /// The only tools found are older than the server, which `pg_dump` refuses to dump.
    #[error("{tool} {found_major} in {} is older than the server (PostgreSQL {server_major}): install postgresql-client-{server_major} (or newer) or set MIGRATE_PG_BIN", dir.display())]
    ToolTooOld {
        /// The program.
        tool: &'static str,
        /// Its directory.
        dir: PathBuf,
        /// Its major version.
        found_major: u32,
        /// The server's major version.
        server_major: u32,
    },
    /// A tool ran and failed.
    #[error("`{command}` failed ({status}): {output}")]
    Tool {
        /// The command line (never holds a secret: the password goes through the environment).
        command: String,
        /// The exit status.
        status: String,
        /// Its diagnostic output.
        output: String,
    },
    /// A file or directory operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached.
    #[error(transparent)]
    Connect(#[from] crate::connection::ConnectError),
    /// A query failed.
    #[error("{action} on {target}: {detail}")]
    Query {
        /// What we were doing.
        action: String,
        /// `host:port/database`.
        target: String,
        /// The server's message, or the driver's.
        detail: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
    /// A scoped backup was required, and the analyzer cannot bound what the migrations change.
    #[error("a scoped backup cannot cover these migrations: {reasons}; use --backup full or auto; nothing was changed")]
    ScopeUnbounded {
        /// Why, per statement.
        reasons: String,
    },
    /// Every replication slot of the server is in use: the scoped backup's slot, which keeps the
    /// writes made after it, cannot be created. Nothing was changed.
    #[error("all {max} replication slots are in use ({used} in use): a scoped backup keeps the writes made after it through a slot of its own; free one (pg_drop_replication_slot) or raise max_replication_slots, or deploy with --backup full; nothing was changed")]
    SlotsExhausted {
        /// Slots in use.
        used: i64,
        /// `max_replication_slots`.
        max: i64,
    },
    /// A whole-database restore of a scoped backup, which holds the data of some tables only:
    /// it would empty every other table. Nothing was changed.
    #[error("backup {id} is scoped (the data of {covered} table(s) only): a whole-database restore would empty every other table; roll back with the table-level restore (`migrate rollback`) instead; nothing was changed")]
    ScopedBackup {
        /// The backup.
        id: String,
        /// How many tables it covers.
        covered: usize,
    },
    /// The connected role lacks a privilege the operation needs; nothing was changed.
    #[error("{operation} needs {missing}, which role {role} lacks; nothing was changed")]
    MissingPrivilege {
        /// The role.
        role: String,
        /// What was to run (`a whole-database restore`).
        operation: String,
        /// The privileges missing, in words.
        missing: String,
    },
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The schema could not be described.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// A manifest cannot be read or is invalid.
    #[error("invalid manifest {}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No backup with that id or path exists.
    #[error("no backup {name} in {}", dir.display())]
    NotFound {
        /// The id or path asked for.
        name: String,
        /// The backup directory.
        dir: PathBuf,
    },
    /// A database to drop is not one that a restore kept.
    #[error(
        "{name} is not a database a restore of {database} kept (see `migrate maintenance \
         previous-databases`); nothing was dropped"
    )]
    NotAPreviousDatabase {
        /// The name given.
        name: String,
        /// The database whose restores were looked at.
        database: String,
    },
    /// The backup failed verification, so it is not used.
    #[error("backup {id} failed verification at level {level}: {failures}")]
    VerificationFailed {
        /// The backup id.
        id: String,
        /// The level asked for.
        level: u8,
        /// The checks that failed.
        failures: String,
    },
    /// The restored database does not match the manifest; the original was left in place.
    #[error("the database restored from {id} does not match its manifest ({failures}); the original database was left untouched")]
    RestoreMismatch {
        /// The backup id.
        id: String,
        /// What differs.
        failures: String,
    },
    /// A restore of the database was interrupted: the database is still read-only and a
    /// half-loaded copy is left. A service must not deploy onto it.
    #[error("database {database} is read-only: a restore of backup {backup} was interrupted (its half-loaded copy {leftover} is left); run `migrate restore {backup}` again to finish it, or `migrate deploy` to give it up")]
    InterruptedRestore {
        /// The database.
        database: String,
        /// The backup that was being restored.
        backup: String,
        /// The half-loaded database.
        leftover: String,
    },
    /// Another restore of the same database is running.
    #[error(
        "a restore of database {database} is already running ({holder}); wait for it to finish"
    )]
    RestoreInProgress {
        /// The database.
        database: String,
        /// Who holds the restore lock.
        holder: String,
    },
    /// The embedded cluster for a test restore failed.
    #[error(transparent)]
    Embedded(#[from] crate::embedded::EmbeddedError),
    /// The provider does not support this operation.
    #[error("{provider} does not support {operation}")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// The operation.
        operation: &'static str,
    },
}

impl BackupError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn query(
        action: impl Into<String>,
        target: String,
    ) -> impl FnOnce(postgres::Error) -> Self {
        let action = action.into();
        move |source| Self::Query {
            action,
            target,
            detail: pg_detail(&source),
            source,
        }
    }
}

/// The server's message (with its SQLSTATE) when there is one, else the driver's.
pub(crate) fn pg_detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
