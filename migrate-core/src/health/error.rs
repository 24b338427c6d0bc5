//! Errors of health probes: one failed attempt, invalid probe settings, an unhealthy result.

use std::time::Duration;

use crate::connection::ConnectError;
use crate::event::human_duration;

/// Why one attempt of a probe failed. Messages never contain a URL's secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeFailure {
    /// A custom probe's failure, in its own words.
    #[error("{0}")]
    Other(String),
    /// The probe fails on purpose: the dress rehearsal's rollback drill.
    #[error("failed on purpose (rollback drill)")]
    Forced,
    /// An SQL probe ran without a database URL in its [`ProbeContext`](super::ProbeContext).
    #[error("sql probe has no database to query")]
    NoDatabase,
    /// The database could not be reached.
    #[error("sql probe could not connect")]
    Connect(#[source] ConnectError),
    /// The query failed.
    #[error("sql probe query {query:?} failed")]
    Query {
        /// The query.
        query: String,
        /// The database error.
        #[source]
        source: postgres::Error,
    },
    /// The query returned no row.
    #[error("sql probe query {query:?} returned no row")]
    NoRow {
        /// The query.
        query: String,
    },
    /// The query's first value is not the expected one.
    #[error("sql probe query {query:?} returned {got:?}, expected {expected:?}")]
    Unexpected {
        /// The query.
        query: String,
        /// The expected text.
        expected: String,
        /// The first column of the first row, as text (`NULL` for null).
        got: String,
    },
    /// The HTTP endpoint answered with a status other than 2xx.
    #[error("http probe GET {url} returned status {status}")]
    Status {
        /// The URL, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The HTTP endpoint did not answer within the timeout.
    #[error("http probe GET {url} timed out after {}", human_duration(*timeout))]
    HttpTimeout {
        /// The URL, redacted.
        url: String,
        /// The probe's timeout.
        timeout: Duration,
    },
    /// The HTTP request failed (connection refused, DNS, TLS, protocol).
    #[error("http probe GET {url} failed: {reason}")]
    Request {
        /// The URL, redacted.
        url: String,
        /// What went wrong, redacted.
        reason: String,
    },
    /// The command could not be started.
    #[error("command probe could not start {command:?}")]
    Spawn {
        /// The command line, URLs redacted.
        command: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error(
        "command probe {command:?} exited with {status}{}",
        stderr_suffix(stderr)
    )]
    Exit {
        /// The command line, URLs redacted.
        command: String,
        /// `exit code 3` or `signal 9`.
        status: String,
        /// The last lines of its standard error.
        stderr: String,
    },
    /// The command ran longer than its timeout and was killed.
    #[error("command probe {command:?} timed out after {} and was killed{}", human_duration(*timeout), stderr_suffix(stderr))]
    CommandTimeout {
        /// The command line, URLs redacted.
        command: String,
        /// The probe's timeout.
        timeout: Duration,
        /// The last lines of its standard error so far.
        stderr: String,
    },
    /// Waiting for the command failed.
    #[error("command probe could not wait for {command:?}")]
    Wait {
        /// The command line, URLs redacted.
        command: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr: {stderr}")
    }
}

/// Errors of the health module: invalid probe settings and an unhealthy system.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// A probe URL is not an absolute `http` or `https` URL.
    #[error("invalid health probe url {url}: {reason}")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An SQL probe has an empty query.
    #[error("sql health probe has an empty query")]
    EmptyQuery,
    /// A command probe has no program.
    #[error("command health probe has no program")]
    EmptyCommand,
    /// A command probe given as one string has an unclosed quote (the text is not repeated: it
    /// may hold a token).
    #[error("command health probe: a quote is not closed")]
    Quoting,
    /// A timeout, window or interval is negative, zero where it must not be, or not finite.
    #[error("invalid health probe setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting (`timeout_secs`, `window_secs`, …).
        setting: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Some probes still failed when the retry window ended.
    #[error("{} of {total} health probe(s) failed: {}", failed.len(), failed.join("; "))]
    Unhealthy {
        /// Each failed probe's name and last error.
        failed: Vec<String>,
        /// Number of probes run.
        total: usize,
    },
}

/// The error and its sources, joined with `: `, for reports that keep text only.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors (postgres's) already print their source in their own message.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
