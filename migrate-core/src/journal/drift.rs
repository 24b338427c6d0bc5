//! Drift: the schema changed since the last deployment recorded it (by hand, by another tool),
//! found before anything is applied. Each deployment records the catalog description it left
//! (`describe_schema`) in the journal; the next one compares.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use postgres::Client;

use super::{Journal, JournalError};
use crate::schema::describe_schema;

/// What to do when the schema drifted since the last deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DriftPolicy {
    /// Do not look.
    Ignore,
    /// Say what changed and go on.
    #[default]
    Warn,
    /// Say what changed and deploy nothing.
    Refuse,
    /// Say what changed and take it as the expected schema from now on (a reviewed hotfix).
    Accept,
}

impl std::str::FromStr for DriftPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ignore" => Ok(Self::Ignore),
            "warn" => Ok(Self::Warn),
            "refuse" => Ok(Self::Refuse),
            "accept" => Ok(Self::Accept),
            other => Err(format!(
                "unknown drift policy {other:?}: use warn, refuse, accept or ignore"
            )),
        }
    }
}

/// How the schema differs from what the last deployment left.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    /// The deployment that recorded the schema.
    pub since_deployment: String,
    /// When it finished.
    pub since: DateTime<Utc>,
    /// Catalog lines present now and not then (`kind|schema|name|definition`).
    pub added: Vec<String>,
    /// Catalog lines present then and not now (removed, or changed: then also in `added`).
    pub removed: Vec<String>,
}

/// How many lines of each side a message shows.
const SHOWN: usize = 5;

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the schema changed since deployment {} ({}): {} object line(s) added, {} removed",
            self.since_deployment,
            self.since.format("%Y-%m-%d %H:%M:%S UTC"),
            self.added.len(),
            self.removed.len()
        )?;
        let readable = |line: &String| line.replace('|', " ").trim_end().to_owned();
        for line in self.added.iter().take(SHOWN) {
            write!(f, "; + {}", readable(line))?;
        }
        for line in self.removed.iter().take(SHOWN) {
            write!(f, "; - {}", readable(line))?;
        }
        let hidden =
            self.added.len().saturating_sub(SHOWN) + self.removed.len().saturating_sub(SHOWN);
        if hidden > 0 {
            write!(f, "; … and {hidden} more")?;
        }
        Ok(())
    }
}

/// The catalog description this ledger answers for: every schema but those holding a ledger of
/// their own (`?schema=` tenants in the same database deploy, and drift, on their own).
fn described(client: &mut Client, target: &str) -> Result<Vec<String>, JournalError> {
    let lines = describe_schema(client, target)?;
    let others: BTreeSet<String> = client
        .query(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = '_prisma_migrations' AND c.relkind = 'r' \
             AND n.nspname <> current_schema()",
            &[],
        )
        .map_err(JournalError::query("listing the ledgers"))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    if others.is_empty() {
        return Ok(lines);
    }
    Ok(lines
        .into_iter()
        .filter(|line| {
            line.split('|')
                .nth(1)
                .is_none_or(|schema| !others.contains(schema))
        })
        .collect())
}

/// The drift since the last recorded schema, if any. `Ok(None)` without a journal, without a
/// recorded schema, or when nothing changed.
pub(crate) fn detect_drift(
    client: &mut Client,
    target: &str,
) -> Result<Option<Drift>, JournalError> {
    let Some((id, since, then)) = Journal::last_schema(client)? else {
        return Ok(None);
    };
    let now = described(client, target)?;
    let (then, now): (BTreeSet<String>, BTreeSet<String>) =
        (then.into_iter().collect(), now.into_iter().collect());
    if then == now {
        return Ok(None);
    }
    Ok(Some(Drift {
        since_deployment: id,
        since,
        added: now.difference(&then).cloned().collect(),
        removed: then.difference(&now).cloned().collect(),
    }))
}

/// Records in the journal the schema deployment `id` left.
pub(crate) fn record_schema(client: &mut Client, id: &str, target: &str) {
    // A journal of an older version (restored from an old backup) has no column for it yet.
    if !Journal::records_schemas(client) {
        return;
    }
    let recorded =
        described(client, target).and_then(|lines| Journal::record_schema(client, id, &lines));
    if let Err(e) = recorded {
        log::warn!(target: "migrate_core::pipeline", "recording the schema of deployment {id}: {e}");
    }
}

/// Records the current schema on the latest deployment of this ledger schema: after what the
/// engine changes outside a deployment (a rollback, a restore), so that the next drift check
/// compares with what the engine itself left.
pub(crate) fn record_schema_latest(client: &mut Client, target: &str) {
    let latest = Journal::list(client, 1)
        .ok()
        .and_then(|d| d.into_iter().next());
    if let Some(latest) = latest {
        record_schema(client, &latest.id, target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_shows_a_few_lines_of_each_side_readably() {
        let drift = Drift {
            since_deployment: "d1".into(),
            since: DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            added: (0..7)
                .map(|i| format!("column|public|user|{i}|c{i}|text|false||"))
                .collect(),
            removed: vec!["index|public|user_email_key|CREATE UNIQUE INDEX …".into()],
        };
        let text = drift.to_string();
        assert!(text.starts_with(
            "the schema changed since deployment d1 (2026-11-25 10:00:00 UTC): 7 object line(s) \
             added, 1 removed; + column public user 0 c0 text false;"
        ));
        assert!(text.contains("; - index public user_email_key"), "{text}");
        assert!(text.ends_with("; … and 2 more"), "{text}");
        assert_eq!("refuse".parse::<DriftPolicy>(), Ok(DriftPolicy::Refuse));
        assert!("never".parse::<DriftPolicy>().is_err());
    }
}
