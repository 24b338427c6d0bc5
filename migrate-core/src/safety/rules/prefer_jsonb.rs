//! ## What it does
//! Flags columns of type `json` (not `jsonb`).
//!
//! ## Why is this bad?
//! `json` stores text, is re-parsed on every access, cannot be indexed with GIN and has no
//! equality operator (`SELECT DISTINCT` and `UNION` fail). Changing it later rewrites the table.
//!
//! ## Example
//! ```sql
//! CREATE TABLE "Event" ("payload" JSON NOT NULL);
//! ```
//! ## Use instead
//! `jsonb` (Prisma: `Json` maps to `jsonb` by default on PostgreSQL).

use super::prelude::*;
use crate::safety::ir::Column;

pub(crate) const NAME: &str = "prefer-jsonb";
pub(crate) const HELP: &str = "Use jsonb.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let columns: Vec<&Column> = match cx.action {
        Some(Action::CreateTable { columns, .. }) => columns.iter().collect(),
        Some(Action::AddColumn { column, .. }) => vec![column],
        _ => return,
    };
    let json: Vec<String> = columns
        .iter()
        .filter(|c| c.ty.is_json())
        .map(|c| c.name.clone())
        .collect();
    if !json.is_empty() {
        cx.report(
            Rule::PreferJsonb,
            format!(
                "Column(s) {} use json; jsonb is faster and indexable.",
                json.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_json() {
        lint_one("CREATE TABLE e (payload JSON NOT NULL);", Rule::PreferJsonb);
        lint_ok(
            "CREATE TABLE e (payload JSONB NOT NULL);",
            Rule::PreferJsonb,
        );
    }
}
