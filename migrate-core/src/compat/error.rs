//! What can stop the backward-compatibility check.

use std::path::PathBuf;

/// A failure of the backward-compatibility check or of the drain check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompatError {
    /// The captured statements file cannot be read.
    #[error("cannot read the captured statements file {}: {source} (nothing was changed)", .path.display())]
    QueriesFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading `pg_stat_statements` or the sessions of the target failed.
    #[error("reading {what} on the target database: {source}")]
    Target {
        /// What was read.
        what: &'static str,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// The disposable cluster for the copy cannot be started or used.
    #[error("the disposable cluster of the backward-compatibility check: {0}")]
    Embedded(#[from] crate::embedded::EmbeddedError),
    /// No suitable `pg_dump` for the schema-only copy.
    #[error("the schema-only copy of the backward-compatibility check: {0}")]
    Tools(#[from] crate::backup::BackupError),
    /// `pg_dump --schema-only` failed.
    #[error(
        "the schema-only copy of the backward-compatibility check: pg_dump {status}: {output}"
    )]
    Dump {
        /// How it ended.
        status: String,
        /// Its error output.
        output: String,
    },
    /// The copy cannot be used.
    #[error("the schema copy of the backward-compatibility check ({what}): {source}")]
    CopySession {
        /// What was done.
        what: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// A stage needs statements to compare against, and none were collected.
    #[error(
        "--stage {stage} needs the running application's statements: install pg_stat_statements \
         on the target database or pass --queries FILE ({why}; nothing was changed)"
    )]
    NoStatements {
        /// The stage asked for.
        stage: &'static str,
        /// Why none were collected.
        why: String,
    },
    /// The check could not run, and the stage depends on it.
    #[error(
        "--stage {stage} cannot run the backward-compatibility check: {why} (nothing was changed)"
    )]
    NotChecked {
        /// The stage asked for.
        stage: &'static str,
        /// Why.
        why: String,
    },
    /// Contract needs to know which application is the old version.
    #[error(
        "--stage contract needs the old version's application_name to check that it drained: \
         pass --old-app NAME or set old_app in migrate.toml (nothing was changed)"
    )]
    OldAppUnknown,
    /// The old version still runs: contract refuses.
    #[error(
        "the old version has not drained, so the contract stage would break it: {evidence}; wait \
         until it is gone, or approve the breaks-running-queries findings (nothing was changed)"
    )]
    NotDrained {
        /// What was seen, in one sentence.
        evidence: String,
    },
}
