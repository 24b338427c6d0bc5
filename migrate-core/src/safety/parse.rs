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

/// Splits and understands a whole script.
#[must_use]
pub fn parse_script(script: &str) -> Vec<ParsedStatement> {
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
