//! Post-migration verification: the ledger is complete with the files' checksums, no INVALID
//! index or unintended NOT VALID constraint is left, untouched tables kept their rows, and the
//! user's SQL assertions pass.

use std::collections::{BTreeMap, HashSet};

use postgres::Client;

use super::RowCountCheck;
use crate::event::names;
use crate::ledger::{self, HistoryStatus, RowState};
use crate::safety::{ir::Action, parse_script};
use crate::source::Migrations;

/// One check of the verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerificationCheck {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// A failure that only warns (does not fail the deployment).
    pub warning: bool,
    /// What was found.
    pub detail: String,
}

/// The result of every check.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// The checks, in order.
    pub checks: Vec<VerificationCheck>,
}

impl Verification {
    /// True when every check that is not a warning passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed || c.warning)
    }

    /// The failed checks, one line each.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed && !c.warning)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect()
    }

    fn check(&mut self, name: &str, passed: bool, warning: bool, detail: impl Into<String>) {
        self.checks.push(VerificationCheck {
            name: name.to_owned(),
            passed,
            warning,
            detail: detail.into(),
        });
    }
}

/// Exact row counts of the tables of the current schema that `touched` does not name (the
/// ledger excluded), to compare before and after a deployment.
///
/// # Errors
///
/// The driver's error when the catalog cannot be read; tables whose count fails are skipped.
pub(crate) fn untouched_counts(
    client: &mut Client,
    touched: &HashSet<String>,
) -> Result<BTreeMap<String, i64>, postgres::Error> {
    let tables: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
             AND c.relname <> '_prisma_migrations' ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .filter(|t: &String| !touched.contains(t))
        .collect();
    let mut counts = BTreeMap::new();
    for table in tables {
        let sql = format!(
            "{}SELECT count(*) FROM {}",
            crate::sql::ENGINE_MARKER,
            crate::sql::quote_ident(&table)
        );
        if let Ok(row) = client.query_one(&sql, &[]) {
            counts.insert(table, row.get(0));
        }
    }
    Ok(counts)
}

/// Tables the given migrations name in any action.
pub(crate) fn touched_tables(migrations: &Migrations, names: &[String]) -> HashSet<String> {
    names
        .iter()
        .filter_map(|n| migrations.get(n)?.script())
        .flat_map(|s| parse_script(s.sql()))
        .flat_map(|st| st.actions)
        .flat_map(|a| match &a {
            Action::DropTable { tables } | Action::Truncate { tables } => {
                tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
            }
            Action::RenameTable { table, to } => vec![table.name.clone(), to.clone()],
            other => other.table().map(|t| t.name.clone()).into_iter().collect(),
        })
        .collect()
}

/// Runs every check after `deployed` were applied.
///
/// # Errors
///
/// The driver's error when the ledger cannot be read.
pub fn verify_deployment(
    client: &mut Client,
    migrations: &Migrations,
    deployed: &[String],
    before: Option<&BTreeMap<String, i64>>,
    row_counts: RowCountCheck,
    assertions: &[(String, String)],
) -> Result<Verification, crate::ledger::LedgerError> {
    let mut v = Verification::default();
    check_ledger(&mut v, client, migrations, deployed)?;
    check_invalid_indexes(&mut v, client);
    check_not_valid(&mut v, client, migrations);
    if let (Some(before), true) = (before, row_counts != RowCountCheck::Off) {
        check_row_counts(&mut v, client, migrations, deployed, before, row_counts);
    }
    for (source, sql) in assertions {
        check_assertion(&mut v, client, source, sql);
    }
    Ok(v)
}

/// Every migration applied, with the checksums of the files.
fn check_ledger(
    v: &mut Verification,
    client: &mut Client,
    migrations: &Migrations,
    deployed: &[String],
) -> Result<(), crate::ledger::LedgerError> {
    let rows = ledger::read_rows(client)?;
    let status = HistoryStatus::diagnose(migrations, Some(&rows));
    let incomplete: Vec<&String> = status.pending.iter().chain(&status.failed).collect();
    v.check(
        "ledger complete",
        incomplete.is_empty(),
        false,
        if incomplete.is_empty() {
            format!("{} migration(s) applied", status.applied.len())
        } else {
            format!("not applied: {}", names(&incomplete))
        },
    );
    let mismatched: Vec<&String> = deployed
        .iter()
        .filter(|name| {
            let file = migrations
                .get(name)
                .and_then(|m| m.script())
                .map(|s| s.checksum());
            !rows.iter().any(|r| {
                &&r.migration_name == name
                    && r.state() == RowState::Applied
                    && Some(r.checksum.as_str()) == file
            })
        })
        .collect();
    v.check(
        "checksums",
        mismatched.is_empty(),
        false,
        if mismatched.is_empty() {
            format!(
                "the {} migration(s) applied now are recorded with their files' checksums",
                deployed.len()
            )
        } else {
            format!("differ for {}", names(&mismatched))
        },
    );
    // Files edited after they were applied (a deploy that accepted them): said, not failed.
    v.check(
        "applied files unchanged",
        status.modified.is_empty(),
        true,
        if status.modified.is_empty() {
            "every applied migration's file is as it was applied".to_owned()
        } else {
            format!(
                "modified on disk since applied (never re-applied): {}",
                names(&status.modified)
            )
        },
    );
    Ok(())
}

/// No index left invalid (a failed concurrent build).
fn check_invalid_indexes(v: &mut Verification, client: &mut Client) {
    let invalid: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid AND n.nspname = current_schema()",
            &[],
        )
        .map(|r| r.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    v.check(
        "no invalid index",
        invalid.is_empty(),
        false,
        if invalid.is_empty() {
            "none".to_owned()
        } else {
            format!("INVALID: {}", names(&invalid))
        },
    );
}

/// No `NOT VALID` constraint but those the history leaves so on purpose.
fn check_not_valid(v: &mut Verification, client: &mut Client, migrations: &Migrations) {
    let unvalidated: Vec<String> = client
        .query(
            "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE NOT c.convalidated AND n.nspname = current_schema()",
            &[],
        )
        .map(|r| r.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    // Parsing the history is only needed when something is not validated (rarely).
    let intended = if unvalidated.is_empty() {
        HashSet::new()
    } else {
        intended_not_valid(migrations)
    };
    let unintended: Vec<&String> = unvalidated
        .iter()
        .filter(|c| !intended.contains(*c))
        .collect();
    // A warning, not a failure: such a constraint may predate this deployment (made by hand),
    // and rolling back for it would lose writes for nothing.
    v.check(
        "no unintended NOT VALID constraint",
        unintended.is_empty(),
        true,
        if unintended.is_empty() {
            format!("{} NOT VALID by design", unvalidated.len())
        } else {
            format!("not validated: {}", names(&unintended))
        },
    );
}

/// The tables no deployed migration touches kept their rows.
fn check_row_counts(
    v: &mut Verification,
    client: &mut Client,
    migrations: &Migrations,
    deployed: &[String],
    before: &BTreeMap<String, i64>,
    row_counts: RowCountCheck,
) {
    let touched = touched_tables(migrations, deployed);
    let after = untouched_counts(client, &touched).unwrap_or_default();
    let changed: Vec<String> = before
        .iter()
        .filter_map(|(t, n)| {
            let m = after.get(t).copied().unwrap_or(0);
            let lost = m < *n;
            let differs = m != *n;
            match row_counts {
                RowCountCheck::Strict if differs => Some(format!("{t}: {n} → {m}")),
                RowCountCheck::Warn if lost => Some(format!("{t}: {n} → {m}")),
                _ => None,
            }
        })
        .collect();
    v.check(
        "untouched tables' row counts",
        changed.is_empty(),
        row_counts == RowCountCheck::Warn,
        if changed.is_empty() {
            format!("{} table(s) unchanged", before.len())
        } else {
            changed.join(", ")
        },
    );
}

/// A user's assertion: a query that must return true.
fn check_assertion(v: &mut Verification, client: &mut Client, source: &str, sql: &str) {
    let outcome = client
        .query_one(sql, &[])
        .map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned())
        })
        .and_then(|row| row.try_get::<_, bool>(0).map_err(|e| e.to_string()));
    let (passed, detail) = match outcome {
        Ok(true) => (true, "true".to_owned()),
        Ok(false) => (false, "returned false".to_owned()),
        Err(e) => (false, e),
    };
    v.check(&format!("assertion {source}"), passed, false, detail);
}

/// Constraints the history adds `NOT VALID` and never validates: left so on purpose.
fn intended_not_valid(migrations: &Migrations) -> HashSet<String> {
    let mut intended = HashSet::new();
    // Only files that can say NOT VALID or VALIDATE CONSTRAINT are worth parsing.
    let mentions_valid = |sql: &str| {
        sql.as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"valid"))
    };
    for script in migrations
        .iter()
        .filter_map(|m| m.script())
        .filter(|s| mentions_valid(s.sql()))
    {
        for action in parse_script(script.sql())
            .into_iter()
            .flat_map(|s| s.actions)
        {
            match action {
                Action::AddConstraint {
                    constraint,
                    not_valid: true,
                    ..
                } => {
                    intended.extend(constraint.name().map(str::to_owned));
                }
                Action::ValidateConstraint { name, .. } => {
                    intended.remove(&name);
                }
                _ => {}
            }
        }
    }
    intended
}

/// The `verify.sql` assertions of `names`: each statement of the file is one assertion.
pub(crate) fn file_assertions(migrations: &Migrations, names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|n| migrations.get(n))
        .filter_map(|m| {
            let path = m.dir().join("verify.sql");
            std::fs::read_to_string(&path)
                .ok()
                .map(|text| (m.name().to_owned(), text))
        })
        .flat_map(|(name, text)| {
            crate::sql::split(&text)
                .into_iter()
                .map(|st| {
                    (
                        format!("{name}/verify.sql:{}", st.start.line),
                        st.text(&text).to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
