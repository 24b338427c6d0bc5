//! ## What it does
//! Flags `DELETE` without a `WHERE` clause on an existing table.
//!
//! ## Why is this bad?
//! Every row is deleted, inside the migration's transaction, holding row locks on all of them
//! until the file commits.
//!
//! ## Example
//! ```sql
//! DELETE FROM "Session";
//! ```
//! ## Use instead
//! Say which rows with `WHERE`, and delete large sets in batches outside the schema migration.

use super::prelude::*;

pub(crate) const NAME: &str = "delete-without-where";
pub(crate) const HELP: &str = "Restrict the delete with WHERE, and delete large sets in batches \
outside the schema migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::Delete {
        table,
        has_where: false,
    }) = cx.action
    {
        if cx.is_existing(table) {
            let message = format!("DELETE without WHERE removes every row of {table}.");
            cx.report(Rule::DeleteWithoutWhere, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_unrestricted_delete() {
        lint_one("DELETE FROM \"Session\";", Rule::DeleteWithoutWhere);
        lint_ok(
            "DELETE FROM \"Session\" WHERE \"expires\" < now();",
            Rule::DeleteWithoutWhere,
        );
    }
}
