//! ## What it does
//! Flags `ALTER TABLE … RENAME TO` on an existing table.
//!
//! ## Why is this bad?
//! The running application still uses the old name: every query fails from the moment the
//! migration commits until the new code is deployed. Takes `ACCESS EXCLUSIVE` briefly.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" RENAME TO "Article";
//! ```
//! ## Use instead
//! Keep the table name and map it in the ORM (`@@map("Post")` in Prisma), or create a view with
//! the old name for the transition.

use super::prelude::*;

pub(crate) const NAME: &str = "renaming-table";
pub(crate) const HELP: &str = "Keep the table name and map it in the application (Prisma \
@@map), or bridge with a view of the old name.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::RenameTable { table, to }) = cx.action {
        if cx.is_existing(table) {
            let message =
                format!("Renaming {table} to {to} breaks the running application's queries.");
            cx.report(Rule::RenamingTable, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_rename() {
        lint_one(
            "ALTER TABLE \"Post\" RENAME TO \"Article\";",
            Rule::RenamingTable,
        );
        lint_ok(
            "CREATE TABLE p (id int); ALTER TABLE p RENAME TO q;",
            Rule::RenamingTable,
        );
    }
}
