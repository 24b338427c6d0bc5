//! ## What it does
//! Flags `ALTER TABLE … DROP COLUMN` on an existing table.
//!
//! ## Why is this bad?
//! The column's data is lost, and application code that still reads or writes it breaks (ORMs
//! select every column they know). Takes `ACCESS EXCLUSIVE` briefly (no rewrite).
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" DROP COLUMN "legacyId";
//! ```
//! ## Use instead
//! Deploy application code that no longer uses the column first, then drop it in a later
//! migration (Prisma: remove the field, deploy, then generate the drop).

use super::prelude::*;

pub(crate) const NAME: &str = "drop-column";
pub(crate) const HELP: &str = "Stop reading and writing the column in the application first, \
then drop it in a later deployment.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DropColumn { table, column }) = cx.action {
        if cx.is_existing(table) {
            let message = format!("Dropping column {column} of {table} deletes its data.");
            cx.report(Rule::DropColumn, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint, lint_ok, lint_one};

    #[test]
    fn flags_drop_column_on_existing_table() {
        let found = lint(
            "ALTER TABLE \"User\" DROP COLUMN \"age\", DROP COLUMN \"x\";",
            Rule::DropColumn,
        );
        assert_eq!(found.len(), 2);
        assert!(found[0].message.contains("age") && found[0].data_loss);
        lint_one("ALTER TABLE t DROP COLUMN IF EXISTS c;", Rule::DropColumn);
    }

    #[test]
    fn new_table_is_fine() {
        lint_ok(
            "CREATE TABLE u (a int, b int); ALTER TABLE u DROP COLUMN b;",
            Rule::DropColumn,
        );
    }
}
