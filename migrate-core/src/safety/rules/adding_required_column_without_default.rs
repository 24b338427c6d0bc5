//! ## What it does
//! Flags `ADD COLUMN … NOT NULL` without a `DEFAULT` on an existing table.
//!
//! ## Why is this bad?
//! Existing rows would get NULL, so PostgreSQL rejects the statement as soon as the table has a
//! row: the migration fails in production although it passed on an empty development database.
//! Prisma calls this `AddedRequiredFieldToTable` ("it is not possible to execute this step").
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD COLUMN "tenantId" TEXT NOT NULL;
//! ```
//! ## Use instead
//! Add the column nullable (or with a default), backfill it, then `SET NOT NULL` (see
//! `setting-not-null-without-check`).

use super::prelude::*;

pub(crate) const NAME: &str = "adding-required-column-without-default";
pub(crate) const HELP: &str = "Add the column nullable or with a default, backfill it, then SET \
NOT NULL.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AddColumn { table, column }) = cx.action {
        let required = column.not_null
            && column.default.is_none()
            && !column.generated_stored
            && !column.identity;
        if required && cx.is_existing(table) {
            let message = format!(
                "Adding required column {table}.{} without a default fails if the table has rows.",
                column.name
            );
            cx.report(Rule::AddingRequiredColumnWithoutDefault, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_required_columns_without_default() {
        lint_one(
            "ALTER TABLE \"User\" ADD COLUMN \"tenantId\" TEXT NOT NULL;",
            Rule::AddingRequiredColumnWithoutDefault,
        );
        lint_ok(
            "ALTER TABLE \"User\" ADD COLUMN \"x\" TEXT NOT NULL DEFAULT '';",
            Rule::AddingRequiredColumnWithoutDefault,
        );
        lint_ok(
            "ALTER TABLE \"User\" ADD COLUMN \"x\" TEXT;",
            Rule::AddingRequiredColumnWithoutDefault,
        );
        lint_ok(
            "CREATE TABLE \"User\" (id int);\nALTER TABLE \"User\" ADD COLUMN \"x\" TEXT NOT NULL;",
            Rule::AddingRequiredColumnWithoutDefault,
        );
    }
}
