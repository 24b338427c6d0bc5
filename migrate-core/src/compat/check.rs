//! The check itself: the pending migrations applied one by one to the schema copy, every
//! running statement prepared after each.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::capture::{collect, CapturedStatement};
use super::copy::schema_copy;
use super::error::CompatError;
use super::options::CompatOptions;
use super::report::{trimmed, Break, BreakKind, CompatReport, MigrationVerdict};
use crate::connection::DatabaseUrl;
use crate::source::Migrations;
use crate::sql::{quote_ident, Statement, StatementKind, TransactionShape};

/// Longest statement text shown in a finding.
const SHOWN_CHARS: usize = 160;

/// Checks that the running application's statements survive `pending` (in order): collects them
/// (see [`collect`]), copies the target's schema into a disposable cluster, applies each pending
/// migration there and prepares every statement after it. Nothing is written to the target.
///
/// A report that did not run says why (no statement collected, nothing pending, switched off).
///
/// # Errors
///
/// An unreadable queries file, an unreadable `pg_stat_statements`, no cluster or `pg_dump` for
/// the copy, or a copy that cannot be used.
pub fn check(
    url: &DatabaseUrl,
    target: &mut postgres::Client,
    migrations: &Migrations,
    pending: &[String],
    options: &CompatOptions,
) -> Result<CompatReport, CompatError> {
    let t0 = Instant::now();
    let capture = collect(
        Some(target),
        options.pg_stat_statements,
        options.queries_file.as_deref(),
    )?;
    if !options.enabled {
        return Ok(CompatReport::not_run(capture, "switched off"));
    }
    if capture.statements.is_empty() {
        let why = match &capture.pg_stat_statements_unavailable {
            Some(why) if options.queries_file.is_none() => {
                format!("no running statement collected ({why}; or pass --queries FILE)")
            }
            _ => "no running statement collected".to_owned(),
        };
        return Ok(CompatReport::not_run(capture, why));
    }
    if pending.is_empty() {
        return Ok(CompatReport::not_run(capture, "no pending migration"));
    }
    let copy = schema_copy(url, target, &options.cluster)?;
    let mut report = CompatReport {
        ran: true,
        copy_warnings: copy.warnings,
        ..CompatReport::default()
    };
    let mut checker = Checker::new(copy.client, &capture.statements, url.schema())?;
    report.copy_duration = t0.elapsed();
    let deadline = t0 + options.budget;
    let mut live = checker.baseline(&mut report.failing_before)?;
    let mut stopped = false;
    for name in pending {
        let Some(script) = migrations.get(name).and_then(|m| m.script()) else {
            continue;
        };
        if stopped || Instant::now() > deadline {
            if !stopped {
                report.unchecked = live.len();
                stopped = true;
            }
            report.migrations.push(unchecked(name));
            continue;
        }
        let verdict = checker.migration(name, script.sql(), &mut live, &mut report.breaks)?;
        if verdict.apply_error.is_some() {
            report.unchecked = live.len();
            stopped = true;
        }
        report.migrations.push(verdict);
    }
    report.prepares = checker.prepares;
    report.capture = capture;
    report.duration = t0.elapsed();
    Ok(report)
}

fn unchecked(name: &str) -> MigrationVerdict {
    MigrationVerdict {
        migration: name.to_owned(),
        checked: false,
        breaks: 0,
        compatible_lines: Vec::new(),
        statements: Vec::new(),
        apply_error: None,
    }
}

/// An `INSERT` with a column list: its table and the columns it sets.
#[derive(Debug)]
struct InsertTarget {
    table: String,
    columns: HashSet<String>,
}

/// A statement found broken, before it is blamed on a statement of the migration.
struct Broken {
    index: usize,
    error: String,
    kind: BreakKind,
}

struct Checker<'s> {
    client: postgres::Client,
    statements: &'s [CapturedStatement],
    inserts: Vec<Option<InsertTarget>>,
    /// Columns already required (NOT NULL, no default) before the migrations, by table.
    required_before: HashMap<String, HashSet<String>>,
    /// The migration being checked may change which columns are required.
    may_require: bool,
    prepares: usize,
}

impl<'s> Checker<'s> {
    fn new(
        mut client: postgres::Client,
        statements: &'s [CapturedStatement],
        schema: Option<&str>,
    ) -> Result<Self, CompatError> {
        if let Some(schema) = schema.filter(|s| *s != "public") {
            let set = format!("SET search_path = {}, public", quote_ident(schema));
            client
                .batch_execute(&set)
                .map_err(|source| CompatError::CopySession {
                    what: set.clone(),
                    source,
                })?;
        }
        Ok(Self {
            client,
            inserts: statements.iter().map(|s| insert_target(&s.body)).collect(),
            statements,
            required_before: HashMap::new(),
            may_require: true,
            prepares: 0,
        })
    }

    fn session(&mut self, sql: &str) -> Result<(), CompatError> {
        self.client
            .batch_execute(sql)
            .map_err(|source| CompatError::CopySession {
                what: sql.to_owned(),
                source,
            })
    }

    /// Prepares every statement before any migration: the ones that fail are not the
    /// migrations' fault. Returns the indexes of the others.
    fn baseline(&mut self, failing: &mut Vec<(String, String)>) -> Result<Vec<usize>, CompatError> {
        self.session("BEGIN")?;
        let mut live = Vec::new();
        for index in 0..self.statements.len() {
            match self.prepare(index) {
                None => live.push(index),
                Some(error) => {
                    failing.push((trimmed(&self.statements[index].text, SHOWN_CHARS), error))
                }
            }
        }
        let tables: HashSet<String> = self
            .inserts
            .iter()
            .flatten()
            .map(|i| i.table.clone())
            .collect();
        for table in tables {
            let required = self.required(&table);
            self.required_before.insert(table, required);
        }
        self.session("COMMIT")?;
        Ok(live)
    }

    /// Applies one migration to the copy and checks the live statements; the broken ones leave
    /// `live` and become `breaks`, blamed on the migration's statement after which they fail.
    fn migration(
        &mut self,
        name: &str,
        sql: &str,
        live: &mut Vec<usize>,
        breaks: &mut Vec<Break>,
    ) -> Result<MigrationVerdict, CompatError> {
        let statements: Vec<Statement> = crate::sql::split(sql)
            .into_iter()
            .filter(|s| s.kind == StatementKind::Sql)
            .collect();
        let upper = sql.to_ascii_uppercase();
        self.may_require = upper.contains("NOT NULL") || upper.contains("DEFAULT");
        let shape = TransactionShape::of(sql);
        let transactional = shape.non_transactional.is_empty() && shape.splits.is_empty();
        let mut verdict = MigrationVerdict {
            statements: statements
                .iter()
                .map(|s| (s.start.line, s.span.clone()))
                .collect(),
            ..unchecked(name)
        };
        let blamed = if transactional {
            self.transactional(sql, &statements, live)?
        } else {
            self.autocommit(sql, &statements, live)?
        };
        let blamed = match blamed {
            Ok(blamed) => blamed,
            Err(error) => {
                verdict.apply_error = Some(error);
                return Ok(verdict);
            }
        };
        verdict.checked = true;
        verdict.breaks = blamed.len();
        let guilty: HashSet<usize> = blamed.iter().map(|(_, at)| *at).collect();
        verdict.compatible_lines = (0..statements.len())
            .filter(|i| !guilty.contains(i))
            .map(|i| statements[i].start.line)
            .collect();
        for (broken, at) in blamed {
            live.retain(|i| *i != broken.index);
            let captured = &self.statements[broken.index];
            let st = &statements[at];
            breaks.push(Break {
                statement: trimmed(&captured.text, SHOWN_CHARS),
                full_statement: captured.text.clone(),
                error: broken.error,
                kind: broken.kind,
                calls: captured.calls,
                queryids: captured.queryids.clone(),
                migration: name.to_owned(),
                line: st.start.line,
                column: st.start.column,
                span: st.span.clone(),
                responsible: trimmed(st.text(sql), 120),
            });
        }
        Ok(verdict)
    }

    /// In one transaction, as the executor runs it. When something breaks, the transaction is
    /// rolled back and replayed statement by statement to find which one breaks each.
    #[allow(clippy::type_complexity)]
    fn transactional(
        &mut self,
        sql: &str,
        statements: &[Statement],
        live: &[usize],
    ) -> Result<Result<Vec<(Broken, usize)>, String>, CompatError> {
        self.session("BEGIN")?;
        if let Err(error) = self.run_all(sql, statements) {
            self.session("ROLLBACK")?;
            return Ok(Err(error));
        }
        let broken = self.broken(live);
        if broken.is_empty() {
            self.session("COMMIT")?;
            return Ok(Ok(Vec::new()));
        }
        self.session("ROLLBACK")?;
        self.session("BEGIN")?;
        let mut pending: Vec<usize> = broken.iter().map(|b| b.index).collect();
        let mut blamed = Vec::new();
        for (at, st) in statements.iter().enumerate() {
            if let Err(error) = self.run(st.text(sql)) {
                self.session("ROLLBACK")?;
                return Ok(Err(error));
            }
            for b in self.broken(&pending) {
                pending.retain(|i| *i != b.index);
                blamed.push((b, at));
            }
        }
        self.session("COMMIT")?;
        // Broken by the whole but by no prefix: blame the last statement.
        let last = statements.len().saturating_sub(1);
        for b in broken.into_iter().filter(|b| pending.contains(&b.index)) {
            blamed.push((b, last));
        }
        Ok(Ok(blamed))
    }

    /// A file that cannot run in one transaction (`CREATE INDEX CONCURRENTLY`, its own
    /// `COMMIT`): statement by statement in autocommit, checked at the end; each break is blamed
    /// on the first statement naming what its error names.
    #[allow(clippy::type_complexity)]
    fn autocommit(
        &mut self,
        sql: &str,
        statements: &[Statement],
        live: &[usize],
    ) -> Result<Result<Vec<(Broken, usize)>, String>, CompatError> {
        if let Err(error) = self.run_all(sql, statements) {
            let _ = self.client.batch_execute("ROLLBACK");
            return Ok(Err(error));
        }
        self.session("BEGIN")?;
        let broken = self.broken(live);
        self.session("COMMIT")?;
        Ok(Ok(broken
            .into_iter()
            .map(|b| {
                let at = blame_by_name(sql, statements, &b.error);
                (b, at)
            })
            .collect()))
    }

    fn run_all(&mut self, sql: &str, statements: &[Statement]) -> Result<(), String> {
        statements.iter().try_for_each(|st| self.run(st.text(sql)))
    }

    fn run(&mut self, text: &str) -> Result<(), String> {
        self.client.batch_execute(text).map_err(|e| message(&e))
    }

    /// The statements of `indexes` that no longer work, with why (inside a transaction).
    fn broken(&mut self, indexes: &[usize]) -> Vec<Broken> {
        let mut out = Vec::new();
        for &index in indexes {
            if let Some(error) = self.prepare(index) {
                out.push(Broken {
                    index,
                    error,
                    kind: BreakKind::Prepare,
                });
            } else if let Some(error) = self.missing_required(index) {
                out.push(Broken {
                    index,
                    error,
                    kind: BreakKind::MissingRequiredColumn,
                });
            }
        }
        out
    }

    /// `PREPARE`s statement `index` under a savepoint (a failed `PREPARE` aborts the
    /// transaction); `Some(error)` when it fails. Nothing is executed.
    fn prepare(&mut self, index: usize) -> Option<String> {
        let s = &self.statements[index];
        let sql = format!(
            "SAVEPOINT migrate_compat; PREPARE migrate_compat_check{} AS {}; \
             DEALLOCATE migrate_compat_check; RELEASE SAVEPOINT migrate_compat",
            s.param_types.as_deref().unwrap_or(""),
            s.body
        );
        self.prepares += 1;
        match self.client.batch_execute(&sql) {
            Ok(()) => None,
            Err(e) => {
                let _ = self.client.batch_execute(
                    "ROLLBACK TO SAVEPOINT migrate_compat; RELEASE SAVEPOINT migrate_compat",
                );
                Some(message(&e))
            }
        }
    }

    /// For an `INSERT` with a column list: a column it omits that is now `NOT NULL` without a
    /// default and was not before (`PREPARE` succeeds; every execution would fail).
    fn missing_required(&mut self, index: usize) -> Option<String> {
        if !self.may_require {
            return None;
        }
        let insert = self.inserts[index].as_ref()?;
        let (table, columns) = (insert.table.clone(), insert.columns.clone());
        let before = self
            .required_before
            .get(&table)
            .cloned()
            .unwrap_or_default();
        let mut missing: Vec<String> = self
            .required(&table)
            .into_iter()
            .filter(|c| !columns.contains(c) && !before.contains(c))
            .collect();
        missing.sort();
        let first = missing.first()?;
        Some(format!(
            "null value in column \"{first}\" of relation {table} violates not-null constraint \
             (the INSERT omits {}, now NOT NULL without a default)",
            missing
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// The columns of `table` that an INSERT must set: NOT NULL, no default, not identity nor
    /// generated.
    fn required(&mut self, table: &str) -> HashSet<String> {
        self.client
            .query(
                "SELECT a.attname::text FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                   AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' \
                   AND a.attgenerated = ''",
                &[&table],
            )
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default()
    }
}

/// The server's message of `e` (no SQLSTATE, no context), as people read it.
fn message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// The target and the columns of an `INSERT … (columns) …`.
fn insert_target(body: &str) -> Option<InsertTarget> {
    use sqlparser::ast::{Statement as Ast, TableObject};
    let parsed =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, body)
            .ok()?;
    let Some(Ast::Insert(insert)) = parsed.first() else {
        return None;
    };
    let TableObject::TableName(table) = &insert.table else {
        return None;
    };
    if insert.columns.is_empty() {
        return None;
    }
    let columns = insert
        .columns
        .iter()
        .filter_map(|c| c.0.last()?.as_ident().map(folded))
        .collect();
    Some(InsertTarget {
        table: table.to_string(),
        columns,
    })
}

/// An identifier as PostgreSQL stores it: quoted as is, unquoted in lower case.
fn folded(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// The first statement naming an identifier the error quotes (`column "legacy" does not
/// exist`), else the first one.
fn blame_by_name(sql: &str, statements: &[Statement], error: &str) -> usize {
    let names: Vec<&str> = error.split('"').skip(1).step_by(2).collect();
    statements
        .iter()
        .position(|st| {
            let text = st.text(sql);
            names.iter().any(|n| !n.is_empty() && text.contains(n))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_targets_fold_unquoted_names() {
        let t = insert_target(
            "INSERT INTO \"public\".\"User\" (\"id\",\"Email\",name) VALUES ($1,$2,$3) RETURNING \"id\"",
        )
        .unwrap();
        assert_eq!(t.table, "\"public\".\"User\"");
        let mut cols: Vec<_> = t.columns.into_iter().collect();
        cols.sort();
        assert_eq!(cols, ["Email", "id", "name"]);
        assert!(insert_target("INSERT INTO t VALUES ($1)").is_none());
        assert!(insert_target("SELECT 1").is_none());
    }

    #[test]
    fn blame_goes_to_the_statement_naming_the_object() {
        let sql = "CREATE INDEX CONCURRENTLY i ON t (a);\nALTER TABLE t DROP COLUMN legacy;";
        let sts = crate::sql::split(sql);
        assert_eq!(
            blame_by_name(sql, &sts, "column \"legacy\" does not exist"),
            1
        );
    }
}
