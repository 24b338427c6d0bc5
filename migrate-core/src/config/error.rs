//! Errors of the configuration.

use std::path::PathBuf;

/// What can go wrong with `migrate.toml` or an environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with line and column from the TOML parser).
        reason: String,
    },
    /// `--env NAME` names no environment of the file.
    #[error("environment {name:?} is not defined in {} (defined: {})", path.display(), known.join(", "))]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// The file.
        path: PathBuf,
        /// The environments it defines.
        known: Vec<String>,
    },
    /// The environment variable holding an environment's URL is not set.
    #[error("environment {env:?} reads its database URL from ${var}, which is not set")]
    MissingUrl {
        /// The environment.
        env: String,
        /// The variable.
        var: String,
    },
    /// `./.env` and `./prisma/.env` give a variable different values (the values are never
    /// shown: they may hold passwords).
    #[error(
        "{name} is set in both {} and {} with different values: keep it in one file (or set it in the environment, which wins)",
        files[0].display(),
        files[1].display()
    )]
    DotEnvConflict {
        /// The variable.
        name: String,
        /// The two files, in precedence order.
        files: [PathBuf; 2],
    },
    /// A setting has an invalid value.
    #[error("{name}: {reason}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The promotion gate refused the deployment.
    #[error("promotion gate: {0}")]
    Promotion(String),
    /// The database URL is missing or invalid.
    #[error(transparent)]
    Connect(#[from] crate::connection::ConnectError),
    /// An approval is invalid.
    #[error(transparent)]
    Safety(#[from] crate::safety::SafetyError),
    /// A health probe is invalid.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
}
