//! Collecting the running application's statements: `pg_stat_statements` of the target database
//! and files of captured statements.

use std::path::Path;

use super::error::CompatError;

/// Where a statement was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `pg_stat_statements` of the target database.
    PgStatStatements,
    /// A file of captured statements (`--queries`).
    File,
}

/// One statement of the running application, normalized.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CapturedStatement {
    /// The statement as collected (for `PREPARE name AS …`, the whole text), whitespace collapsed.
    pub text: String,
    /// What is prepared: the statement without a `PREPARE name[(types)] AS` prefix or a final `;`.
    pub body: String,
    /// The parameter types a SQL-level `PREPARE name(types)` declared, e.g. `(int, text)`: kept,
    /// as they catch type changes that the inferred types of a bare `$1` hide.
    pub param_types: Option<String>,
    /// Times executed, as `pg_stat_statements` counts them (summed over its entries with this
    /// text); `None` for a statement from a file without a count.
    pub calls: Option<i64>,
    /// `pg_stat_statements` query ids of this text (the simple and the extended protocol store
    /// the same text under two ids), to watch the call counts during the drain check.
    pub queryids: Vec<i64>,
    /// Where it came from.
    pub origin: Origin,
}

/// The statements collected, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct Capture {
    /// The statements to check.
    pub statements: Vec<CapturedStatement>,
    /// Statements of the engine itself (ledger, journal, lock, catalog reads): not checked.
    pub ignored_engine: usize,
    /// Statements `PREPARE` cannot take (`SET`, `BEGIN`, DDL…): nothing to check.
    pub ignored_utility: usize,
    /// `pg_stat_statements` rows of other roles this role may not read
    /// (`<insufficient privilege>`; grant it `pg_read_all_stats`).
    pub unreadable: usize,
    /// What was read, e.g. `pg_stat_statements (42 entries)`, `queries.sql (7 statements)`.
    pub sources: Vec<String>,
    /// Why `pg_stat_statements` was not read, when it was not.
    pub pg_stat_statements_unavailable: Option<String>,
}

/// Text that marks a statement as the engine's own (ledger, journal, settings and catalog
/// reads, and [`crate::sql::ENGINE_MARKER`] in front of its row counts): such statements are not the application's and are never checked. Besides these, any
/// statement naming a `pg_…` object (system catalogs and statistics views read by the engine and
/// `pg_dump`, `pg_advisory_lock`, `pg_backend_pid()`) is the engine's or a tool's.
pub const ENGINE_STATEMENT_MARKERS: &[&str] = &[
    "_prisma_migrations",
    "_migrate.",
    "\"_migrate\"",
    "information_schema.",
    "current_setting(",
    "set_config(",
    "to_regclass(",
    "/* migrate:engine */",
];

/// Statements `PREPARE` accepts, by first keyword (PostgreSQL 15's documentation of PREPARE).
const PREPARABLE: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "MERGE", "TABLE",
];

impl Capture {
    /// Adds `text` (with its call count and query id) unless it is the engine's, a utility
    /// statement or more than one statement; merges it with an equal statement seen before.
    pub fn add(&mut self, text: &str, calls: Option<i64>, queryid: Option<i64>, origin: Origin) {
        let text = collapse(text.trim().trim_end_matches(';').trim());
        if text.is_empty() {
            return;
        }
        let lower = text.to_ascii_lowercase();
        let names_pg_object = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word.starts_with("pg_"));
        if names_pg_object || ENGINE_STATEMENT_MARKERS.iter().any(|m| lower.contains(m)) {
            self.ignored_engine += 1;
            return;
        }
        let (param_types, body) = match strip_prepare(&text) {
            Some((types, body)) => (types, body),
            None => (None, text.clone()),
        };
        let first = body
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let one_statement = crate::sql::split(&body).len() == 1;
        if !PREPARABLE.contains(&first.as_str()) || !one_statement {
            self.ignored_utility += 1;
            return;
        }
        if let Some(seen) = self
            .statements
            .iter_mut()
            .find(|s| s.body == body && s.param_types == param_types)
        {
            seen.calls = match (seen.calls, calls) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            seen.queryids.extend(queryid);
            return;
        }
        self.statements.push(CapturedStatement {
            text,
            body,
            param_types,
            calls,
            queryids: queryid.into_iter().collect(),
            origin,
        });
    }
}

/// Collects the statements: `pg_stat_statements` of the database `client` is connected to (when
/// `pg_stat_statements` is true and the extension is installed there), then `queries_file`.
///
/// Only this database's top-level statements are read; a role without `pg_read_all_stats` sees
/// other roles' statements as unreadable, and they are counted.
///
/// # Errors
///
/// [`CompatError::QueriesFile`] when the file cannot be read, [`CompatError::Target`] when the
/// view exists but cannot be read.
pub fn collect(
    client: Option<&mut postgres::Client>,
    pg_stat_statements: bool,
    queries_file: Option<&Path>,
) -> Result<Capture, CompatError> {
    let mut capture = Capture::default();
    // The file first: a bad path is the user's typo, said before any database work.
    let file = queries_file.map(read_queries_file).transpose()?;
    match (client, pg_stat_statements) {
        (Some(client), true) => read_pg_stat_statements(client, &mut capture)?,
        (None, true) => {
            capture.pg_stat_statements_unavailable = Some("no database session".into());
        }
        (_, false) => {
            capture.pg_stat_statements_unavailable = Some("switched off".into());
        }
    }
    if let (Some(path), Some(statements)) = (queries_file, file) {
        let n = statements.len();
        for (text, calls) in statements {
            capture.add(&text, calls, None, Origin::File);
        }
        capture
            .sources
            .push(format!("{} ({n} statement(s))", path.display()));
    }
    Ok(capture)
}

fn read_pg_stat_statements(
    client: &mut postgres::Client,
    capture: &mut Capture,
) -> Result<(), CompatError> {
    let target = |what| move |source| CompatError::Target { what, source };
    let schema: Option<String> = client
        .query_opt(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .map_err(target("the installed extensions"))?
        .map(|row| row.get(0));
    let Some(schema) = schema else {
        capture.pg_stat_statements_unavailable =
            Some("the pg_stat_statements extension is not installed in this database".into());
        return Ok(());
    };
    let sql = format!(
        "SELECT queryid, calls, query FROM {}.pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND toplevel",
        crate::sql::quote_ident(&schema)
    );
    let rows = match client.query(&sql, &[]) {
        Ok(rows) => rows,
        // Installed but not preloaded: the view errors; said, not fatal.
        Err(e)
            if e.code() == Some(&postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) =>
        {
            capture.pg_stat_statements_unavailable = Some(
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
            );
            return Ok(());
        }
        Err(e) => return Err(target("pg_stat_statements")(e)),
    };
    let n = rows.len();
    for row in rows {
        let queryid: Option<i64> = row.get(0);
        let calls: i64 = row.get(1);
        let query: Option<String> = row.get(2);
        match (queryid, query) {
            (Some(id), Some(q)) if q != "<insufficient privilege>" => {
                capture.add(&q, Some(calls), Some(id), Origin::PgStatStatements);
            }
            _ => capture.unreadable += 1,
        }
    }
    capture
        .sources
        .push(format!("pg_stat_statements ({n} entries)"));
    Ok(())
}

/// Reads a file of captured statements (see [`parse_queries`]).
///
/// # Errors
///
/// [`CompatError::QueriesFile`] when it cannot be read.
pub fn read_queries_file(path: &Path) -> Result<Vec<(String, Option<i64>)>, CompatError> {
    let bytes = std::fs::read(path).map_err(|source| CompatError::QueriesFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(parse_queries(&String::from_utf8_lossy(&bytes)))
}

/// The statements of a captured statements file: SQL separated by `;` as psql splits it (a
/// `psql -c "SELECT query FROM pg_stat_statements"` export with `;` added, or a log excerpt). A
/// comment line `-- calls: N` gives the next statement's call count.
#[must_use]
pub fn parse_queries(text: &str) -> Vec<(String, Option<i64>)> {
    let mut out = Vec::new();
    for st in crate::sql::split(text) {
        if st.kind != crate::sql::StatementKind::Sql {
            continue;
        }
        // The comment lines just above the statement, for a call count.
        let before = &text[..st.span.start];
        let calls = before
            .lines()
            .rev()
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.trim_start().starts_with("--"))
            .find_map(|l| {
                l.trim_start()
                    .trim_start_matches('-')
                    .trim()
                    .strip_prefix("calls:")
                    .and_then(|n| n.trim().parse().ok())
            });
        out.push((st.text(text).to_owned(), calls));
    }
    out
}

/// Whitespace runs collapsed to one space (`pg_stat_statements` keeps the first text seen, with
/// the application's line breaks).
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `PREPARE name [ (types) ] AS body` → (the types with their parentheses, body).
fn strip_prepare(text: &str) -> Option<(Option<String>, String)> {
    let rest = strip_keyword(text, "PREPARE")?;
    // The statement name: an identifier, possibly quoted.
    let rest = rest.trim_start();
    let name_end = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"')? + 2
    } else {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len())
    };
    let rest = rest[name_end..].trim_start();
    let (types, rest) = if rest.starts_with('(') {
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end?;
        (Some(rest[..end].to_owned()), rest[end..].trim_start())
    } else {
        (None, rest)
    };
    let body = strip_keyword(rest, "AS")?.trim().to_owned();
    Some((types, body))
}

/// `text` after a leading keyword (case-insensitive, followed by a non-identifier character).
fn strip_keyword<'t>(text: &'t str, keyword: &str) -> Option<&'t str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let next = text[keyword.len()..].chars().next();
    (head.eq_ignore_ascii_case(keyword) && next.is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
        .then(|| &text[keyword.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_prefix_is_stripped_and_types_kept() {
        let mut c = Capture::default();
        c.add(
            "PREPARE get_order(int, numeric(10,2)) AS select * from orders where id = $1 and total > $2",
            Some(2),
            Some(7),
            Origin::PgStatStatements,
        );
        c.add("prepare p2 as SELECT 1", Some(1), None, Origin::File);
        assert_eq!(c.statements.len(), 2);
        assert_eq!(
            c.statements[0].body,
            "select * from orders where id = $1 and total > $2"
        );
        assert_eq!(
            c.statements[0].param_types.as_deref(),
            Some("(int, numeric(10,2))")
        );
        assert_eq!(c.statements[1].body, "SELECT 1");
        assert_eq!(c.statements[1].param_types, None);
    }

    #[test]
    fn engine_and_utility_statements_are_ignored_and_counted() {
        let mut c = Capture::default();
        c.add(
            "SELECT id, checksum FROM \"_prisma_migrations\" ORDER BY started_at",
            Some(3),
            None,
            Origin::PgStatStatements,
        );
        c.add(
            "SELECT pg_advisory_lock($1)",
            Some(1),
            None,
            Origin::PgStatStatements,
        );
        c.add(
            "set application_name = 'app'",
            Some(1),
            None,
            Origin::PgStatStatements,
        );
        c.add("BEGIN", Some(1), None, Origin::PgStatStatements);
        c.add("SELECT 1; DROP TABLE t", None, None, Origin::File);
        assert!(c.statements.is_empty());
        assert_eq!(c.ignored_engine, 2);
        assert_eq!(c.ignored_utility, 3);
    }

    #[test]
    fn equal_texts_merge_their_calls_and_ids() {
        let mut c = Capture::default();
        c.add(
            "SELECT * FROM t WHERE id = $1",
            Some(2),
            Some(1),
            Origin::PgStatStatements,
        );
        c.add(
            "SELECT  *\n FROM t WHERE id = $1;",
            Some(3),
            Some(2),
            Origin::PgStatStatements,
        );
        assert_eq!(c.statements.len(), 1);
        assert_eq!(c.statements[0].calls, Some(5));
        assert_eq!(c.statements[0].queryids, vec![1, 2]);
    }

    #[test]
    fn queries_files_split_like_psql_with_call_counts() {
        let text =
            "-- calls: 12\nSELECT a FROM t WHERE b = $1;\n\nINSERT INTO t (a) VALUES ($1);\n";
        let q = parse_queries(text);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0], ("SELECT a FROM t WHERE b = $1".to_owned(), Some(12)));
        assert_eq!(q[1].1, None);
    }
}
