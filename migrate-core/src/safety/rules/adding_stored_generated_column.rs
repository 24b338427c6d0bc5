//! ## What it does
//! Flags `ADD COLUMN … GENERATED ALWAYS AS (…) STORED` and identity columns on an existing table.
//!
//! ## Why is this bad?
//! The value is computed and stored for every existing row: the table is rewritten under
//! `ACCESS EXCLUSIVE`.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Order" ADD COLUMN "total" NUMERIC GENERATED ALWAYS AS ("price" * "qty") STORED;
//! ```
//! ## Use instead
//! Add a plain column, backfill it in batches, and keep it up to date with a trigger or in the
//! application.

use super::prelude::*;

pub(crate) const NAME: &str = "adding-stored-generated-column";
pub(crate) const HELP: &str = "Add a plain column, backfill in batches, and maintain it with a \
trigger or the application.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AddColumn { table, column }) = cx.action {
        if (column.generated_stored || column.identity) && cx.is_existing(table) {
            let message = format!(
                "Adding generated column {table}.{} rewrites every row under ACCESS EXCLUSIVE.",
                column.name
            );
            cx.report(Rule::AddingStoredGeneratedColumn, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_generated_columns() {
        lint_one(
            "ALTER TABLE o ADD COLUMN total NUMERIC GENERATED ALWAYS AS (price * qty) STORED;",
            Rule::AddingStoredGeneratedColumn,
        );
        lint_ok(
            "ALTER TABLE o ADD COLUMN total NUMERIC;",
            Rule::AddingStoredGeneratedColumn,
        );
    }
}
