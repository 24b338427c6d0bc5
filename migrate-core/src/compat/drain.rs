//! Has the old version drained? Its sessions, and the call counts of the statements the
//! contract stage would break.

use std::time::Duration;

use super::error::CompatError;
use super::report::Break;

/// A session of the old version still connected to the target database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OldSession {
    /// Its backend process id.
    pub pid: i32,
    /// Its `application_name`.
    pub application_name: String,
    /// Where it connects from (`local` for a Unix socket).
    pub client: String,
    /// When it connected.
    pub since: String,
}

/// A breaking statement whose call count grew during the observation window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StillCalled {
    /// The statement, trimmed.
    pub statement: String,
    /// Calls at the start of the window.
    pub before: i64,
    /// Calls at its end.
    pub after: i64,
}

/// What the drain check saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct DrainEvidence {
    /// The `application_name` looked for.
    pub old_app: Option<String>,
    /// Its sessions on the target database.
    pub sessions: Vec<OldSession>,
    /// Breaking statements still being called.
    pub still_called: Vec<StillCalled>,
    /// The observation window.
    #[serde(serialize_with = "crate::event::millis", rename = "window_ms")]
    pub window: Duration,
    /// Breaking statements whose calls could not be watched (collected from a file, or
    /// `pg_stat_statements` unavailable).
    pub unobservable: usize,
}

impl DrainEvidence {
    /// True when no old-version session is connected and no breaking statement was called.
    #[must_use]
    pub fn drained(&self) -> bool {
        self.sessions.is_empty() && self.still_called.is_empty()
    }

    /// What was seen, in one sentence.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.sessions.is_empty() {
            let list: Vec<String> = self
                .sessions
                .iter()
                .map(|s| format!("pid {} from {} since {}", s.pid, s.client, s.since))
                .collect();
            parts.push(format!(
                "{} session(s) with application_name {:?} still connected ({})",
                self.sessions.len(),
                self.old_app.as_deref().unwrap_or_default(),
                list.join(", ")
            ));
        }
        for s in &self.still_called {
            parts.push(format!(
                "`{}` still called ({} → {} calls in {})",
                s.statement,
                s.before,
                s.after,
                crate::event::human_duration(self.window)
            ));
        }
        if parts.is_empty() {
            let mut said = format!(
                "no session with application_name {:?}, and the breaking statements' call counts \
                 did not grow in {}",
                self.old_app.as_deref().unwrap_or_default(),
                crate::event::human_duration(self.window)
            );
            if self.unobservable > 0 {
                said.push_str(&format!(
                    " ({} statement(s) from a file: their calls cannot be watched)",
                    self.unobservable
                ));
            }
            return said;
        }
        parts.join("; ")
    }
}

/// Watches the target (a session on it) for `window`: sessions of `old_app`, and the
/// `pg_stat_statements` call counts of `breaks`. Reads only.
///
/// # Errors
///
/// [`CompatError::Target`] when `pg_stat_activity` cannot be read.
pub fn observe_drain(
    client: &mut postgres::Client,
    old_app: &str,
    breaks: &[Break],
    window: Duration,
) -> Result<DrainEvidence, CompatError> {
    let ids: Vec<i64> = breaks.iter().flat_map(|b| b.queryids.clone()).collect();
    let unobservable = breaks.iter().filter(|b| b.queryids.is_empty()).count();
    let before = calls(client, &ids);
    std::thread::sleep(window);
    let after = calls(client, &ids);
    let mut still_called = Vec::new();
    if let (Some(before), Some(after)) = (before, after) {
        for b in breaks {
            let sum = |m: &std::collections::HashMap<i64, i64>| -> i64 {
                b.queryids.iter().filter_map(|id| m.get(id)).sum()
            };
            let (x, y) = (sum(&before), sum(&after));
            if y > x {
                still_called.push(StillCalled {
                    statement: b.statement.clone(),
                    before: x,
                    after: y,
                });
            }
        }
    }
    // Sessions are read last: an old session that left during the window is gone.
    let sessions = client
        .query(
            "SELECT pid, application_name, coalesce(host(client_addr), 'local'), \
                    to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1 \
               AND pid <> pg_backend_pid() ORDER BY backend_start",
            &[&old_app],
        )
        .map_err(|source| CompatError::Target {
            what: "pg_stat_activity",
            source,
        })?
        .iter()
        .map(|r| OldSession {
            pid: r.get(0),
            application_name: r.get(1),
            client: r.get(2),
            since: r.get(3),
        })
        .collect();
    Ok(DrainEvidence {
        old_app: Some(old_app.to_owned()),
        sessions,
        still_called,
        window,
        unobservable,
    })
}

/// Call counts by query id of this database, or `None` when `pg_stat_statements` cannot be
/// read (then only the sessions say whether the old version drained).
fn calls(
    client: &mut postgres::Client,
    ids: &[i64],
) -> Option<std::collections::HashMap<i64, i64>> {
    if ids.is_empty() {
        return None;
    }
    let schema: String = client
        .query_opt(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .ok()??
        .get(0);
    let sql = format!(
        "SELECT queryid, sum(calls)::bigint FROM {}.pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND queryid = ANY($1) GROUP BY queryid",
        crate::sql::quote_ident(&schema)
    );
    client
        .query(&sql, &[&ids])
        .ok()
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
