//! [`SqlProbe`]: a query and, optionally, the value it must return.

use std::time::Duration;

use postgres::SimpleQueryMessage;

use super::{HealthError, HealthProbe, ProbeContext, ProbeFailure};
use crate::connection::connect;

/// Runs a query on the migrated database and, when `expected` is set, compares the first column
/// of the first row, rendered as PostgreSQL's text output (`t`, `42`, `NULL` for null), with it.
/// Without `expected`, any row passes. The query runs under a `statement_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlProbe {
    query: String,
    expected: Option<String>,
    timeout: Duration,
}

impl SqlProbe {
    /// The default statement timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A probe running `query`, passing when its first value equals `expected` (any row when
    /// `None`).
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyQuery`] when the query is blank.
    pub fn new(query: impl Into<String>, expected: Option<String>) -> Result<Self, HealthError> {
        let query = query.into().trim().to_owned();
        if query.is_empty() {
            return Err(HealthError::EmptyQuery);
        }
        Ok(Self {
            query,
            expected,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Parses `--health-sql`: `QUERY` or `QUERY => EXPECTED` (`SELECT 1 = 1 => t`). The last
    /// `=>` outside parentheses separates them, so named arguments (`f(a => 1)`) stay in the
    /// query.
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyQuery`] when the query part is blank.
    pub fn from_flag(flag: &str) -> Result<Self, HealthError> {
        match split_expected(flag) {
            Some((query, expected)) => Self::new(query, Some(expected.trim().to_owned())),
            None => Self::new(flag, None),
        }
    }

    /// Sets the statement timeout of each attempt. By default, 5 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The query.
    #[must_use]
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The expected first value, if any.
    #[must_use]
    pub fn expected(&self) -> Option<&str> {
        self.expected.as_deref()
    }
}

/// Splits at the last `=>` at parenthesis depth 0.
fn split_expected(flag: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in flag.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '=' if depth == 0 && flag[i..].starts_with("=>") => split = Some(i),
            _ => {}
        }
    }
    split.map(|i| (&flag[..i], &flag[i + 2..]))
}

impl HealthProbe for SqlProbe {
    fn name(&self) -> String {
        match &self.expected {
            Some(expected) => format!("sql {} => {expected}", self.query),
            None => format!("sql {}", self.query),
        }
    }

    fn check(&self, ctx: &ProbeContext) -> Result<(), ProbeFailure> {
        let url = ctx.database_url().ok_or(ProbeFailure::NoDatabase)?;
        let mut client = connect(url).map_err(ProbeFailure::Connect)?;
        let query_failed = |source| ProbeFailure::Query {
            query: self.query.clone(),
            source,
        };
        // A hung query must not outlive the probe's attempt.
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                self.timeout.as_millis().max(1)
            ))
            .map_err(query_failed)?;
        // The simple protocol returns every value as PostgreSQL's text output, whatever its type.
        let messages = client.simple_query(&self.query).map_err(query_failed)?;
        let first = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or("NULL").to_owned()),
            _ => None,
        });
        let Some(got) = first else {
            return Err(ProbeFailure::NoRow {
                query: self.query.clone(),
            });
        };
        match &self.expected {
            Some(expected) if *expected != got => Err(ProbeFailure::Unexpected {
                query: self.query.clone(),
                expected: expected.clone(),
                got,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_flag_splits_query_and_expected() {
        let p = SqlProbe::from_flag("SELECT 1 = 1 => t").unwrap();
        assert_eq!(p.query(), "SELECT 1 = 1");
        assert_eq!(p.expected(), Some("t"));
        let p = SqlProbe::from_flag("SELECT count(*) FROM users").unwrap();
        assert_eq!(p.expected(), None);
    }

    #[test]
    fn from_flag_keeps_named_arguments_in_the_query() {
        let p = SqlProbe::from_flag("SELECT f(a => 1)").unwrap();
        assert_eq!(p.query(), "SELECT f(a => 1)");
        assert_eq!(p.expected(), None);
        let p = SqlProbe::from_flag("SELECT f(a => 1) => 2").unwrap();
        assert_eq!(p.query(), "SELECT f(a => 1)");
        assert_eq!(p.expected(), Some("2"));
    }

    #[test]
    fn from_flag_rejects_empty_query() {
        assert!(matches!(
            SqlProbe::from_flag("  => t"),
            Err(HealthError::EmptyQuery)
        ));
    }
}
