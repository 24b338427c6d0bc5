//! ## What it does
//! Flags `ALTER TABLE … RENAME COLUMN` on an existing table.
//!
//! ## Why is this bad?
//! The running application reads and writes the old name: its queries fail until the new code
//! is deployed. Takes `ACCESS EXCLUSIVE` briefly.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";
//! ```
//! ## Use instead
//! Map the new field name onto the old column (`@map("name")` in Prisma), or add the new column,
//! write both, backfill, switch reads, then drop the old one.

use super::prelude::*;

pub(crate) const NAME: &str = "renaming-column";
pub(crate) const HELP: &str = "Map the field onto the old column name (Prisma @map), or add, \
dual-write, backfill, switch, then drop.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::RenameColumn { table, from, to }) = cx.action {
        if cx.is_existing(table) {
            let message = format!(
                "Renaming {table}.{from} to {to} breaks the running application's queries."
            );
            cx.report(Rule::RenamingColumn, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_rename_column() {
        lint_one(
            "ALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"fullName\";",
            Rule::RenamingColumn,
        );
        lint_ok(
            "CREATE TABLE u (a int); ALTER TABLE u RENAME COLUMN a TO b;",
            Rule::RenamingColumn,
        );
    }
}
