//! ## What it does
//! Flags `UPDATE` without a `WHERE` clause on an existing table.
//!
//! ## Why is this bad?
//! Every row is rewritten (the old values are lost) inside the migration's transaction, which
//! holds a row lock on each of them until the file commits: writers wait, and the table bloats.
//!
//! ## Example
//! ```sql
//! UPDATE "User" SET "plan" = 'FREE';
//! ```
//! ## Use instead
//! Backfill in bounded batches (`WHERE id BETWEEN …`) outside the schema migration, or use a
//! column default for new rows.

use super::prelude::*;

pub(crate) const NAME: &str = "update-without-where";
pub(crate) const HELP: &str = "Backfill in bounded batches outside the schema migration, or use \
a default for new rows.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::Update {
        table,
        has_where: false,
    }) = cx.action
    {
        if cx.is_existing(table) {
            let message = format!("UPDATE without WHERE rewrites every row of {table}.");
            cx.report(Rule::UpdateWithoutWhere, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_unrestricted_update() {
        lint_one(
            "UPDATE \"User\" SET \"plan\" = 'FREE';",
            Rule::UpdateWithoutWhere,
        );
        lint_ok(
            "UPDATE \"User\" SET \"plan\" = 'FREE' WHERE \"plan\" IS NULL;",
            Rule::UpdateWithoutWhere,
        );
        lint_ok(
            "CREATE TABLE \"User\" (plan text); UPDATE \"User\" SET plan = 'x';",
            Rule::UpdateWithoutWhere,
        );
    }
}
