//! ## What it does
//! Flags new `char(n)` / `character(n)` columns (squawk calls this `ban-char-field`; rule names
//! here never start with `ban-`).
//!
//! ## Why is this bad?
//! `char(n)` pads every value with spaces to `n` characters, compares ignoring the padding
//! and is no faster than `text`; a too-long value is an error, and raising the limit later
//! rewrites the table. The single-byte internal type `"char"` is not flagged.
//!
//! ## Example
//! ```sql
//! CREATE TABLE "Country" ("code" CHAR(2) NOT NULL);
//! ```
//! ## Use instead
//! `text`, with a `CHECK (char_length(col) = n)` if the length matters.

use super::prelude::*;
use crate::safety::ir::Column;

pub(crate) const NAME: &str = "prefer-text-over-char";
pub(crate) const HELP: &str = "Use text, with a CHECK on char_length if the length matters.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let columns: Vec<&Column> = match cx.action {
        Some(Action::CreateTable { columns, .. }) => columns.iter().collect(),
        Some(Action::AddColumn { column, .. }) => vec![column],
        _ => return,
    };
    let padded: Vec<&str> = columns
        .iter()
        .filter(|c| c.ty.base == "character")
        .map(|c| c.name.as_str())
        .collect();
    if !padded.is_empty() {
        cx.report(
            Rule::PreferTextOverChar,
            format!("Column(s) {} use char(n).", padded.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_blank_padded_columns() {
        for sql in [
            "CREATE TABLE c (code CHAR(2));",
            "ALTER TABLE c ADD COLUMN code character(3);",
            "CREATE TABLE c (flag char);",
        ] {
            assert!(
                lint_one(sql, Rule::PreferTextOverChar)
                    .message
                    .contains("char(n)"),
                "{sql}"
            );
        }
        for sql in [
            "CREATE TABLE c (code TEXT, v VARCHAR(2));",
            "CREATE TABLE c (k \"char\");",
        ] {
            lint_ok(sql, Rule::PreferTextOverChar);
        }
    }
}
