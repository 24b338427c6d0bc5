//! Data-aware mode: enrich findings with live facts from the target database, under a time
//! budget, and downgrade what the data proves harmless (an empty column dropped, an empty table).

use std::time::{Duration, Instant};

use postgres::Client;

use super::ir::{Action, Constraint, Name};
use super::{Rule, SafetyReport, Severity};
use crate::sql::quote_ident;

/// Enriches every finding of `report` with facts read from `client` (read-only queries), within
/// `budget` in total. `schema` is the URL's `?schema=` for unqualified names. A fact that cannot
/// be measured in time says so; nothing fails.
pub fn enrich(
    report: &mut SafetyReport,
    client: &mut Client,
    schema: Option<&str>,
    budget: Duration,
) {
    let deadline = Instant::now() + budget;
    let _ = client.batch_execute("SET default_transaction_read_only = on");
    let mut probe = Probe {
        client,
        deadline,
        schema,
    };
    for finding in report
        .migrations
        .iter_mut()
        .flat_map(|m| m.findings.iter_mut())
    {
        let Some(action) = finding.action.clone() else {
            continue;
        };
        let Some(table) = action.table().cloned() else {
            continue;
        };
        let Some(relation) = probe.relation(&table) else {
            finding
                .facts
                .push(format!("{table} does not exist in the database yet"));
            continue;
        };
        if let Some((estimate, bytes)) = probe.one_pair(&format!(
            "SELECT greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) FROM pg_class c WHERE c.oid = '{}'::regclass",
            relation.replace('\'', "''")
        )) {
            finding.facts.push(format!("{table}: about {estimate} rows, {}", size(bytes)));
        }
        let verdict = probe.verdict(finding.rule, &action, &relation);
        match verdict {
            Verdict::Harmless(why) => {
                finding.facts.push(format!("downgraded to info: {why}"));
                finding.severity = Severity::Info;
            }
            Verdict::WillFail(why) => {
                finding.facts.push(format!("will fail: {why}"));
                finding.severity = Severity::Error;
            }
            Verdict::Fact(fact) => finding.facts.push(fact),
            Verdict::Unknown => {}
        }
    }
    let _ = probe
        .client
        .batch_execute("RESET statement_timeout; RESET default_transaction_read_only");
}

enum Verdict {
    Harmless(String),
    WillFail(String),
    Fact(String),
    Unknown,
}

struct Probe<'a> {
    client: &'a mut Client,
    deadline: Instant,
    schema: Option<&'a str>,
}

impl Probe<'_> {
    /// The quoted relation name, when the table exists.
    fn relation(&mut self, table: &Name) -> Option<String> {
        let schema = table.schema.as_deref().or(self.schema);
        let quoted = match schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&table.name)),
            None => quote_ident(&table.name),
        };
        let exists: Option<bool> = self
            .query_one(&format!(
                "SELECT to_regclass('{}') IS NOT NULL",
                quoted.replace('\'', "''")
            ))
            .and_then(|r| r.try_get(0).ok());
        exists.unwrap_or(false).then_some(quoted)
    }

    fn query_one(&mut self, sql: &str) -> Option<postgres::Row> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        let ms = left.as_millis().max(1);
        self.client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .ok()?;
        self.client.query_one(sql, &[]).ok()
    }

    /// A count, or why it failed (see [`Probed`]).
    fn try_count(&mut self, sql: &str) -> Result<i64, Probed> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .ok_or(Probed::NoTime)?;
        self.client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                left.as_millis().max(1)
            ))
            .map_err(|_| Probed::NoTime)?;
        match self.client.query_one(sql, &[]) {
            Ok(row) => row.try_get(0).map_err(|_| Probed::NoTime),
            Err(e) => match e.as_db_error() {
                Some(db) if db.code() == &postgres::error::SqlState::QUERY_CANCELED => {
                    Err(Probed::NoTime)
                }
                Some(db) => {
                    let reason = format!("{}: {}", db.code().code(), without_values(db.message()));
                    // Class 22, data exception: a row's value is the cause. Anything else (a
                    // type created earlier in the same migration, a privilege) says nothing
                    // about the data.
                    Err(if db.code().code().starts_with("22") {
                        Probed::DataError(reason)
                    } else {
                        Probed::Other(reason)
                    })
                }
                None => Err(Probed::NoTime),
            },
        }
    }

    fn count(&mut self, sql: &str) -> Option<i64> {
        self.query_one(sql).and_then(|r| r.try_get(0).ok())
    }

    fn one_pair(&mut self, sql: &str) -> Option<(i64, i64)> {
        self.query_one(sql)
            .and_then(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
    }

    fn verdict(&mut self, rule: Rule, action: &Action, relation: &str) -> Verdict {
        let rows = |p: &mut Self| p.count(&format!("SELECT count(*) FROM {relation}"));
        match (rule, action) {
            (
                Rule::DropTable
                | Rule::TruncateTable
                | Rule::DeleteWithoutWhere
                | Rule::UpdateWithoutWhere,
                _,
            ) => match rows(self) {
                Some(0) => Verdict::Harmless("the table is empty".into()),
                Some(n) => Verdict::Fact(format!("{n} rows affected")),
                None => Verdict::Unknown,
            },
            (Rule::DropColumn, Action::DropColumn { column, .. }) => {
                match self.count(&format!(
                    "SELECT count({}) FROM {relation}",
                    quote_ident(column)
                )) {
                    Some(0) => {
                        Verdict::Harmless(format!("column {column} holds no non-null value"))
                    }
                    Some(n) => {
                        Verdict::Fact(format!("column {column} still holds {n} non-null values"))
                    }
                    None => Verdict::Unknown,
                }
            }
            (Rule::AddingRequiredColumnWithoutDefault, _) => match rows(self) {
                Some(0) => {
                    Verdict::Harmless("the table is empty, so the column can be required".into())
                }
                Some(n) => Verdict::WillFail(format!("{n} existing rows would get NULL")),
                None => Verdict::Unknown,
            },
            (Rule::SettingNotNullWithoutCheck, Action::SetNotNull { column, .. }) => {
                match self.count(&format!(
                    "SELECT count(*) FROM {relation} WHERE {} IS NULL",
                    quote_ident(column)
                )) {
                    Some(0) => Verdict::Fact(format!(
                        "no NULL in {column}: it will succeed (the scan still blocks)"
                    )),
                    Some(n) => Verdict::WillFail(format!("{n} rows have NULL in {column}")),
                    None => Verdict::Unknown,
                }
            }
            (Rule::AddingUniqueConstraint | Rule::CreateIndexNonConcurrently, _) => {
                let columns = match action {
                    Action::AddConstraint {
                        constraint:
                            Constraint::Unique { columns, .. } | Constraint::PrimaryKey { columns, .. },
                        ..
                    } => columns.clone(),
                    Action::CreateIndex {
                        unique: true,
                        columns,
                        ..
                    } => columns.clone(),
                    _ => return Verdict::Unknown,
                };
                if columns.is_empty() {
                    return Verdict::Unknown;
                }
                let cols = columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                match self.count(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM {relation} GROUP BY {cols} HAVING count(*) > 1) d"
                )) {
                    Some(0) => Verdict::Fact(format!("no duplicate ({cols})")),
                    Some(n) => Verdict::WillFail(format!("{n} duplicated value(s) of ({cols})")),
                    None => Verdict::Unknown,
                }
            }
            (
                Rule::ChangingColumnType,
                Action::AlterColumnType {
                    column,
                    to,
                    to_sql,
                    using,
                    ..
                },
            ) => {
                // The conversion the ALTER will run: its USING expression, else the cast, to the
                // type exactly as written. An aggregate of it, so that it really runs on every
                // row (the planner drops a subquery's unused outputs).
                let value = using.clone().unwrap_or_else(|| quote_ident(column));
                let sql =
                    format!("SELECT count(({value})::{to_sql}) * 0 + count(*) FROM {relation}");
                match self.try_count(&sql) {
                    Ok(n) => Verdict::Fact(format!("all {n} values convert to {to}")),
                    Err(Probed::DataError(reason)) => {
                        Verdict::WillFail(format!("a value does not convert to {to} ({reason})"))
                    }
                    Err(Probed::Other(reason)) => Verdict::Fact(format!(
                        "the conversion to {to} could not be tested ({reason})"
                    )),
                    Err(Probed::NoTime) => Verdict::Fact(format!(
                        "the conversion to {to} could not be tested in time"
                    )),
                }
            }
            _ => Verdict::Unknown,
        }
    }
}

/// Why a probe gave no number.
enum Probed {
    /// PostgreSQL rejected a value (SQLSTATE class 22), with the reason.
    DataError(String),
    /// The query failed for another reason, with it.
    Other(String),
    /// The budget ran out, or the session failed.
    NoTime,
}

/// A server message without the values it quotes (`value "2147483648" is out of range`,
/// `invalid input syntax for type integer: "abc"`): reports are shared, the data may be private.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

fn size(bytes: i64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MB {
        format!("{:.1} MB", bytes as f64 / MB)
    } else {
        format!("{} kB", bytes / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_lose_their_quoted_values() {
        assert_eq!(
            without_values(r#"value "2147483648" is out of range for type integer"#),
            r#"value "…" is out of range for type integer"#
        );
        assert_eq!(
            without_values(r#"invalid input syntax for type integer: "secret-7""#),
            r#"invalid input syntax for type integer: "…""#
        );
        assert_eq!(
            without_values("value too long for type character varying(5)"),
            "value too long for type character varying(5)"
        );
    }
}
