//! Errors of fleets.

use std::path::PathBuf;

/// Why a fleet could not start (nothing was changed on any target). A target that fails is
/// not an error of the fleet: the [`FleetReport`](super::FleetReport) says which and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The targets file cannot be read.
    #[error("cannot read the targets file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The targets file is not valid; the reason never quotes a URL.
    #[error("invalid targets file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// A target's URL variable is not set.
    #[error("target {target}: the environment variable {var} is not set")]
    MissingUrl {
        /// The target.
        target: String,
        /// The variable.
        var: String,
    },
    /// A target's URL is invalid (its message is redacted).
    #[error("target {target}: {source}")]
    Url {
        /// The target.
        target: String,
        /// The cause.
        #[source]
        source: crate::connection::ConnectError,
    },
    /// The fleet has no target.
    #[error("the fleet has no target")]
    Empty,
    /// The migrations directory, read once for the whole fleet before anything changes.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The safety analysis of the whole fleet (bad approvals), before anything changes.
    #[error(transparent)]
    Safety(#[from] crate::safety::SafetyError),
}
