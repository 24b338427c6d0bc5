//! ## What it does
//! Flags new `varchar(n)` columns.
//!
//! ## Why is this bad?
//! In PostgreSQL `varchar(n)` is not faster than `text`; the limit only rejects data, and
//! lowering it later rewrites the table. (Raising it is free.)
//!
//! ## Example
//! ```sql
//! CREATE TABLE "User" ("email" VARCHAR(255) NOT NULL);
//! ```
//! ## Use instead
//! `text`, with a `CHECK (char_length(col) <= n)` if a limit matters.

use super::prelude::*;
use crate::safety::ir::Column;

pub(crate) const NAME: &str = "prefer-text-over-varchar";
pub(crate) const HELP: &str = "Use text, with a CHECK on char_length if a limit matters.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let columns: Vec<&Column> = match cx.action {
        Some(Action::CreateTable { columns, .. }) => columns.iter().collect(),
        Some(Action::AddColumn { column, .. }) => vec![column],
        _ => return,
    };
    let limited: Vec<String> = columns
        .iter()
        .filter(|c| c.ty.base == "character varying" && !c.ty.modifiers.is_empty())
        .map(|c| c.name.clone())
        .collect();
    if !limited.is_empty() {
        cx.report(
            Rule::PreferTextOverVarchar,
            format!("Column(s) {} use varchar(n).", limited.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_length_limits() {
        lint_one(
            "CREATE TABLE u (email VARCHAR(255));",
            Rule::PreferTextOverVarchar,
        );
        lint_ok(
            "CREATE TABLE u (email TEXT, v VARCHAR);",
            Rule::PreferTextOverVarchar,
        );
    }
}
