//! The promotion gate: a migration reaches an environment only after it was deployed, with the
//! same checksum, on the environment before it; and at the same ledger point both schemas are
//! the same (drift detection).

use super::StepError;
use crate::connection::{connect, DatabaseUrl};
use crate::ledger::{self, RowState};
use crate::schema::schema_fingerprint;
use crate::source::Migrations;

/// What the gate checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Promotion {
    /// The predecessor environment.
    pub from: String,
    /// Pending migrations found deployed there with the same checksum.
    pub verified: Vec<String>,
}

/// Checks that every migration of `pending` is applied on `from_url` with the checksum of the
/// local file.
///
/// # Errors
///
/// [`StepError::Promotion`] naming the migrations missing or different on the predecessor,
/// and connection errors.
pub fn check_promotion(
    from: &str,
    from_url: &DatabaseUrl,
    migrations: &Migrations,
    pending: &[String],
) -> Result<Promotion, StepError> {
    let mut client = connect(from_url)?;
    let rows = if ledger::table_exists(&mut client)? {
        ledger::read_rows(&mut client)?
    } else {
        Vec::new()
    };
    let mut problems = Vec::new();
    for name in pending {
        let checksum = migrations
            .get(name)
            .and_then(|m| m.script())
            .map(|s| s.checksum().to_owned());
        let applied: Vec<_> = rows
            .iter()
            .filter(|r| &r.migration_name == name && r.state() == RowState::Applied)
            .collect();
        if applied.is_empty() {
            problems.push(format!("{name} is not deployed on {from}"));
        } else if !applied
            .iter()
            .any(|r| Some(&r.checksum) == checksum.as_ref())
        {
            problems.push(format!(
                "{name} was deployed on {from} with another checksum (the file changed since)"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(StepError::Promotion(format!(
            "{}; deploy to {from} first (nothing was changed)",
            problems.join("; ")
        )));
    }
    Ok(Promotion {
        from: from.to_owned(),
        verified: pending.to_vec(),
    })
}

/// After a deployment: when both environments are at the same ledger point, their schema
/// fingerprints must be equal. Returns `Ok(None)` when they are at different points (nothing to
/// compare), `Ok(Some(true|false))` otherwise.
///
/// # Errors
///
/// Connection and catalog errors.
pub fn check_same_schema(
    from_url: &DatabaseUrl,
    to_url: &DatabaseUrl,
) -> Result<Option<(bool, String)>, StepError> {
    let mut from = connect(from_url)?;
    let mut to = connect(to_url)?;
    let point = |c: &mut postgres::Client| -> Result<Vec<(String, String)>, StepError> {
        let mut applied: Vec<(String, String)> = ledger::read_rows(c)?
            .into_iter()
            .filter(|r| r.state() == RowState::Applied)
            .map(|r| (r.migration_name, r.checksum))
            .collect();
        applied.sort();
        Ok(applied)
    };
    if point(&mut from)? != point(&mut to)? {
        return Ok(None);
    }
    let a = schema_fingerprint(&mut from, "predecessor")?;
    let b = schema_fingerprint(&mut to, "target")?;
    let detail = format!(
        "predecessor {}…, target {}…",
        &a.sha256[..12],
        &b.sha256[..12]
    );
    Ok(Some((a.sha256 == b.sha256, detail)))
}
