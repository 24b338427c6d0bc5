//! The SQL front end of the analyzer: split, parse each statement with `sqlparser`, fall back to
//! the token classifier, and never let one bad statement hide the others.

use std::ops::Range;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::fallback::classify;
use super::ir::Action;
use super::lower::lower;
use crate::sql::{split, LineCol, LineIndex, Statement, StatementKind};

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
    for st in split(script) {
        let statement = understand(script, &st);
        let text = st.text(script);
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
        if let Some(name) = created_routine(script, &st) {
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
fn created_routine(script: &str, st: &Statement) -> Option<String> {
    if st.word(script, 0)? != "CREATE" {
        return None;
    }
    let keyword = st.words.iter().take(5).find(|w| {
        let word = &script[(*w).clone()];
        word.eq_ignore_ascii_case("FUNCTION") || word.eq_ignore_ascii_case("PROCEDURE")
    })?;
    let rest = &script[keyword.end..st.span.end];
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
    // Offsets come in order: one forward scan locates them all.
    let mut lines = LineIndex::default();
    let mut out = Vec::new();
    for piece in split(body) {
        let Some(first) = sql_start(body, &piece) else {
            continue;
        };
        let inner = &body[first.start..piece.span.end];
        let absolute = base + first.start;
        if body[first].eq_ignore_ascii_case("EXECUTE") {
            out.push(ParsedStatement {
                span: absolute..absolute + inner.len(),
                start: lines.locate(script, absolute),
                via: Via::Fallback,
                actions: vec![Action::DynamicSql],
                parse_error: None,
            });
            continue;
        }
        for mut nested in parse_top_level(inner) {
            nested.span = absolute + nested.span.start..absolute + nested.span.end;
            nested.start = lines.locate(script, nested.span.start);
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

/// The word of `piece` (a statement of a PL/pgSQL `body`) where its SQL starts, after the block
/// and control words that may precede it (`BEGIN`, `IF … THEN`, `ELSE`, `LOOP`, `EXCEPTION WHEN
/// … THEN`), or the `EXECUTE` of `FOR … IN EXECUTE` and `RETURN QUERY EXECUTE`; `None` for a
/// statement that is PL/pgSQL only (assignments, `RAISE`, `PERFORM`, `END IF`, declarations).
/// The splitter's bare words leave strings, quoted identifiers and comments out.
fn sql_start(body: &str, piece: &Statement) -> Option<Range<usize>> {
    const SQL: &[&str] = &[
        "ALTER", "CREATE", "DROP", "TRUNCATE", "DELETE", "UPDATE", "INSERT", "COMMENT", "GRANT",
        "REVOKE", "LOCK", "REINDEX", "CLUSTER", "VACUUM", "REFRESH", "EXECUTE",
    ];
    const LEADS: &[&str] = &["BEGIN", "THEN", "ELSE", "LOOP"];
    const DYNAMIC_LEADS: &[&str] = &["IN", "QUERY"];
    const CONTROL: &[&str] = &[
        "BEGIN",
        "IF",
        "ELSIF",
        "ELSE",
        "LOOP",
        "FOR",
        "WHILE",
        "EXCEPTION",
        "WHEN",
        "DECLARE",
        "RETURN",
    ];
    let is = |word: &str, set: &[&str]| set.iter().any(|k| word.eq_ignore_ascii_case(k));
    let mut previous: Option<&str> = None;
    for range in &piece.words {
        let word = &body[range.clone()];
        let lead = |set| previous.is_some_and(|p| is(p, set));
        if (word.eq_ignore_ascii_case("EXECUTE") && lead(DYNAMIC_LEADS))
            || (is(word, SQL) && (previous.is_none() || lead(LEADS)))
        {
            return Some(range.clone());
        }
        if previous.is_none() && !is(word, CONTROL) {
            // An assignment, RAISE, PERFORM… or a declaration.
            return None;
        }
        previous = Some(word);
    }
    None
}

fn parse_top_level(script: &str) -> Vec<ParsedStatement> {
    split(script)
        .iter()
        .map(|st| understand(script, st))
        .collect()
}

/// What one statement of `script` does, as `sqlparser` or the keyword fallback understands it.
fn understand(script: &str, st: &Statement) -> ParsedStatement {
    let dialect = PostgreSqlDialect {};
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
