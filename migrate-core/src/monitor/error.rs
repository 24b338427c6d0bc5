//! Errors of setting up an event sink. Delivering events never fails the caller.

use std::path::PathBuf;

/// Why an event sink could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The events file could not be opened for appending.
    #[error("could not open the events file {}", path.display())]
    OpenEvents {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The webhook URL is not an absolute `http` or `https` URL.
    #[error("invalid webhook url {url}: {reason}")]
    InvalidWebhookUrl {
        /// The URL, redacted.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The webhook's delivery thread could not be started.
    #[error("could not start the webhook delivery thread")]
    SpawnThread(#[source] std::io::Error),
}
