//! The SQL front end of the analyzer: split, parse each statement with `sqlparser`, fall back to
//! the token classifier, and never let one bad statement hide the others.

use std::ops::Range;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::fallback::classify;
use super::ir::Action;
use super::lower::lower;
use crate::sql::{split, LineCol, StatementKind};

/// How a statement was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Parsed by `sqlparser`.
    Parser,
    /// Recognized by the token-level fallback.
    Fallback,
    /// Not understood: reported as a finding of its own.
    NotUnderstood,
    /// A psql meta-command, which the server rejects.
    MetaCommand,
}

/// One statement of a migration, understood.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParsedStatement {
    /// Byte span in the script.
    pub span: Range<usize>,
    /// Where it starts (1-based).
    pub start: LineCol,
    /// How it was understood.
    pub via: Via,
    /// What it does.
    pub actions: Vec<Action>,
    /// The parser's complaint, when `via` is not [`Via::Parser`].
    pub parse_error: Option<String>,
}

/// Statements the fallback classifies better than `sqlparser` lowers them.
const FALLBACK_FIRST: &[&str] = &["CLUSTER", "REINDEX", "VACUUM", "REFRESH", "DO"];

/// Splits and understands a whole script. The static SQL inside a `DO` block follows the block
/// as statements of their own, with their positions inside it; so does the body of a function
/// or procedure that the script creates, after the first statement that calls it. Each
/// `EXECUTE` of such a body is one too, with the single action [`Action::DynamicSql`].
#[must_use]
pub fn parse_script(script: &str) -> Vec<ParsedStatement> {
    let mut statements = Vec::new();
    // Functions created by the script and not called yet: (lower-case name, body statements).
    let mut functions: Vec<(String, Vec<ParsedStatement>)> = Vec::new();
    for statement in parse_top_level(script) {
        let text = &script[statement.span.clone()];
        let is_do = statement
            .actions
            .iter()
            .any(|a| matches!(a, Action::Other { kind } if kind == "DO"));
        let mut nested = if is_do {
            body_statements(script, &statement)
        } else {
            Vec::new()
        };
        let called: Vec<usize> = functions
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| calls(text, name))
            .map(|(i, _)| i)
            .collect();
        for i in called.into_iter().rev() {
            nested.splice(0..0, functions.remove(i).1);
        }
        if let Some(name) = created_routine(text) {
            let body = body_statements(script, &statement);
            if !body.is_empty() {
                functions.retain(|(n, _)| *n != name);
                functions.push((name, body));
            }
        }
        statements.push(statement);
        statements.extend(nested);
    }
    statements
}

/// The lower-case name of the function or procedure a `CREATE [OR REPLACE] FUNCTION|PROCEDURE`
/// statement creates.
fn created_routine(text: &str) -> Option<String> {
    let mut words = words(text).take(5);
    if !words.next()?.1.eq_ignore_ascii_case("CREATE") {
        return None;
    }
    let (at, _) = words
        .find(|(_, w)| w.eq_ignore_ascii_case("FUNCTION") || w.eq_ignore_ascii_case("PROCEDURE"))?;
    let rest = &text[at..];
    let rest = &rest[rest.find(char::is_whitespace)?..];
    let name = rest[..rest.find('(')?].trim();
    let name = name.rsplit('.').next()?.trim().trim_matches('"');
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// Whether `text` calls the routine `name` (`name(`, `"name"(`, schema-qualified or not). A
/// mention inside a string counts too: analysing a body once too often is harmless.
fn calls(text: &str, name: &str) -> bool {
    let lower = text.to_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before = lower[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let after = lower[from..].trim_start_matches('"').trim_start();
        let declaring = lower[..at]
            .trim_end_matches(['"', '.'])
            .trim_end()
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .is_some_and(|w| w == "function" || w == "procedure" || w.ends_with("function"));
        if after.starts_with('(') && !declaring {
            return true;
        }
    }
    false
}

/// The SQL statements of the dollar-quoted PL/pgSQL or SQL body of a `DO` block or a routine,
/// positioned in `script`; an `EXECUTE` becomes a statement whose only action is
/// [`Action::DynamicSql`].
fn body_statements(script: &str, statement: &ParsedStatement) -> Vec<ParsedStatement> {
    let text = &script[statement.span.clone()];
    let Some((body_start, body_end)) = dollar_quoted_body(text) else {
        return Vec::new();
    };
    let base = statement.span.start + body_start;
    let body = &text[body_start..body_end];
    let mut out = Vec::new();
    for piece in split(body) {
        let piece_text = piece.text(body);
        let Some(offset) = sql_start(piece_text) else {
            continue;
        };
        let inner_start = piece.span.start + offset;
        let inner = &body[inner_start..piece.span.end];
        let absolute = base + inner_start;
        if inner
            .get(..7)
            .is_some_and(|w| w.eq_ignore_ascii_case("EXECUTE"))
        {
            out.push(ParsedStatement {
                span: absolute..absolute + inner.len(),
                start: line_col(script, absolute),
                via: Via::Fallback,
                actions: vec![Action::DynamicSql],
                parse_error: None,
            });
            continue;
        }
        for mut nested in parse_top_level(inner) {
            nested.span = absolute + nested.span.start..absolute + nested.span.end;
            nested.start = line_col(script, nested.span.start);
            out.push(nested);
        }
    }
    out
}

/// The byte range of the first `$tag$ … $tag$` string of a statement.
fn dollar_quoted_body(text: &str) -> Option<(usize, usize)> {
    let open = text.find('$')?;
    let tag_len = text[open + 1..].find('$')?;
    let tag = &text[open..open + tag_len + 2];
    if !tag[1..tag.len() - 1]
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_')
    {
        return None;
    }
    let start = open + tag.len();
    let end = start + text[start..].find(tag)?;
    Some((start, end))
}

/// Where the SQL of a PL/pgSQL statement starts, after the block and control words that may
/// precede it (`BEGIN`, `IF … THEN`, `ELSE`, `LOOP`, `EXCEPTION WHEN … THEN`); `None` for a
/// statement that is PL/pgSQL only (assignments, `RAISE`, `PERFORM`, `END IF`, declarations).
fn sql_start(piece: &str) -> Option<usize> {
    const SQL: &[&str] = &[
        "ALTER", "CREATE", "DROP", "TRUNCATE", "DELETE", "UPDATE", "INSERT", "COMMENT", "GRANT",
        "REVOKE", "LOCK", "REINDEX", "CLUSTER", "VACUUM", "REFRESH", "EXECUTE",
    ];
    const LEADS: &[&str] = &["BEGIN", "THEN", "ELSE", "LOOP"];
    // `FOR r IN EXECUTE …`, `RETURN QUERY EXECUTE …`: dynamic SQL inside another statement.
    const DYNAMIC_LEADS: &[&str] = &["IN", "QUERY"];
    let mut previous: Option<&str> = None;
    for (at, word) in words(piece) {
        let upper = word.to_ascii_uppercase();
        if upper == "EXECUTE"
            && previous.is_some_and(|p| DYNAMIC_LEADS.iter().any(|l| p.eq_ignore_ascii_case(l)))
        {
            return Some(at);
        }
        if SQL.contains(&upper.as_str())
            && previous.is_none_or(|p| LEADS.iter().any(|l| p.eq_ignore_ascii_case(l)))
        {
            return Some(at);
        }
        if previous.is_none()
            && !matches!(
                upper.as_str(),
                "BEGIN"
                    | "IF"
                    | "ELSIF"
                    | "ELSE"
                    | "LOOP"
                    | "FOR"
                    | "WHILE"
                    | "EXCEPTION"
                    | "WHEN"
                    | "DECLARE"
                    | "RETURN"
            )
        {
            // An assignment, RAISE, PERFORM, RETURN… or a declaration.
            return None;
        }
        previous = Some(word);
    }
    None
}

/// The words of `text` (letters, digits, `_`) with their byte offsets, outside quotes and
/// comments.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start: Option<usize> = None;
    let mut skip_to: usize = 0;
    for (i, c) in text.char_indices() {
        if i < skip_to {
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let rest = &text[i..];
        if rest.starts_with("--") || rest.starts_with("/*") {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
            let (close, len) = if rest.starts_with("--") {
                ("\n", 1)
            } else {
                ("*/", 2)
            };
            skip_to = rest.find(close).map_or(text.len(), |at| i + at + len);
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push((s, &text[s..i]));
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out.into_iter()
}

fn line_col(script: &str, offset: usize) -> LineCol {
    let before = &script[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    LineCol {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

fn parse_top_level(script: &str) -> Vec<ParsedStatement> {
    let dialect = PostgreSqlDialect {};
    split(script)
        .into_iter()
        .map(|st| {
            let text = st.text(script);
            let base = ParsedStatement {
                span: st.span.clone(),
                start: st.start,
                via: Via::NotUnderstood,
                actions: Vec::new(),
                parse_error: None,
            };
            if st.kind == StatementKind::MetaCommand {
                return ParsedStatement {
                    via: Via::MetaCommand,
                    ..base
                };
            }
            let first = st.word(script, 0).unwrap_or_default();
            let parsed = if FALLBACK_FIRST.contains(&first.as_str()) {
                Err("classified by keywords".to_owned())
            } else {
                Parser::parse_sql(&dialect, text).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(statements) if !statements.is_empty() => ParsedStatement {
                    via: Via::Parser,
                    actions: statements
                        .iter()
                        .flat_map(|s| lower(s, &|w| st.has_word(script, w)))
                        .collect(),
                    ..base
                },
                Ok(_) => base,
                Err(error) => match classify(text) {
                    Some(actions) => ParsedStatement {
                        via: Via::Fallback,
                        actions,
                        parse_error: Some(error),
                        ..base
                    },
                    None => ParsedStatement {
                        parse_error: Some(error),
                        ..base
                    },
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::ir::Name;

    #[test]
    fn parses_prisma_output_and_falls_back_per_statement() {
        let sql = "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"age\" INTEGER NOT NULL;\n\
                   DROP INDEX CONCURRENTLY IF EXISTS \"x\";\nFROBNICATE;\nDROP TABLE \"Post\";\n";
        let st = parse_script(sql);
        assert_eq!(st.len(), 4);
        assert_eq!(st[0].via, Via::Parser);
        assert!(
            matches!(&st[0].actions[0], Action::AddColumn { table, column } if table.name == "User" && column.not_null)
        );
        assert_eq!(st[1].via, Via::Fallback);
        assert_eq!(st[2].via, Via::NotUnderstood);
        assert_eq!(st[2].start.line, 4);
        assert_eq!(
            st[3].actions,
            [Action::DropTable {
                tables: vec![Name::bare("Post")]
            }]
        );
    }
}
