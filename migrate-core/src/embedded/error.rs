//! The error type of the embedded PostgreSQL module.

use std::io;
use std::path::PathBuf;

/// How to get PostgreSQL server binaries; appended to every "binaries not found" error.
pub(crate) const INSTALL_HINT: &str = "install the PostgreSQL server package, e.g. \
    `apt-get install postgresql` (Debian/Ubuntu), `dnf install postgresql-server` \
    (Fedora/RHEL) or `brew install postgresql` (macOS), or set MIGRATE_PG_BIN to the \
    directory holding initdb, pg_ctl and postgres";

/// Everything that can go wrong while finding, starting, using or stopping an
/// embedded PostgreSQL cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// No directory with the PostgreSQL server binaries was found.
    #[error("postgresql server binaries (initdb, pg_ctl, postgres) not found in {searched}: {INSTALL_HINT}")]
    BinariesNotFound {
        /// The places that were searched, for the message.
        searched: String,
    },

    /// An explicitly chosen binary directory lacks some of the server binaries.
    #[error("postgresql binary directory {} has no executable {missing}: {INSTALL_HINT}", dir.display())]
    InvalidBinDir {
        /// The directory that was given.
        dir: PathBuf,
        /// The binaries missing from it, comma-separated.
        missing: String,
    },

    /// `postgres --version` did not print a recognizable version.
    #[error("could not determine the postgresql server version from `{} --version`: {detail}", binary.display())]
    Version {
        /// The `postgres` binary that was asked.
        binary: PathBuf,
        /// What it printed, or why it could not run.
        detail: String,
    },

    /// Running as root, but no unprivileged user exists to run the server as
    /// (PostgreSQL refuses to run as root).
    #[error("running as root, but neither the `postgres` nor the `nobody` user exists in /etc/passwd to run the postgresql server as (it refuses to run as root)")]
    NoUnprivilegedUser,

    /// A file-system or process-spawning operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The file, directory or program concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A child process (initdb, pg_ctl, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        /// The command line (never contains secrets).
        command: String,
        /// How it exited.
        status: String,
        /// Its stderr (or stdout when stderr was empty), trimmed.
        output: String,
    },

    /// The server did not come up.
    #[error("postgresql server in {} failed to start on port {port}: {output}\nlast lines of {}:\n{log_tail}", data_dir.display(), log_file.display())]
    Start {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The TCP port it was asked to listen on.
        port: u16,
        /// What `pg_ctl start` reported.
        output: String,
        /// The server log file.
        log_file: PathBuf,
        /// The last lines the server wrote to its log during this attempt.
        log_tail: String,
    },

    /// A database name (prefix) is not acceptable.
    #[error("invalid database name prefix {prefix:?}: {reason}")]
    InvalidName {
        /// The rejected prefix.
        prefix: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A server setting in [`EmbeddedOptions::settings`](super::EmbeddedOptions::settings)
    /// is not acceptable.
    #[error("invalid server setting {name:?}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Connecting to a database of the cluster failed.
    #[error("could not connect to database {database:?} of the embedded cluster at 127.0.0.1:{port}: {detail}")]
    Connect {
        /// The database.
        database: String,
        /// The cluster's TCP port.
        port: u16,
        /// The error and its causes, as text.
        detail: String,
        /// The underlying error.
        #[source]
        source: postgres::Error,
    },

    /// A statement run by this module failed.
    #[error("{action} failed on the embedded cluster at 127.0.0.1:{port}: {detail}")]
    Query {
        /// What was being done, e.g. `create database "x"`.
        action: String,
        /// The cluster's TCP port.
        port: u16,
        /// The error and its causes, as text.
        detail: String,
        /// The underlying error.
        #[source]
        source: postgres::Error,
    },

    /// Stopping the server or removing the cluster directory did not complete.
    #[error("cleanup of the embedded cluster in {} did not complete: {detail}", dir.display())]
    Cleanup {
        /// The cluster's temporary directory.
        dir: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

impl EmbeddedError {
    /// Shorthand for [`EmbeddedError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Renders an error with all its causes: `postgres::Error`'s own `Display` is
/// only its kind ("db error"), the useful part is in the source chain.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
