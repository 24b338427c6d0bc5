//! ## What it does
//! Flags an `UPDATE` of an existing table in a file that also locks that table
//! `ACCESS EXCLUSIVE` (adds or alters columns, constraints…).
//!
//! ## Why is this bad?
//! The file is one transaction: the exclusive lock taken by the DDL is held while the backfill
//! rewrites rows, so the table is unavailable for reads and writes for the whole backfill.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD COLUMN "slug" TEXT;
//! UPDATE "Post" SET "slug" = lower("title");
//! ```
//! ## Use instead
//! Deploy the DDL, then backfill in bounded batches outside the schema migration, then add
//! constraints in a later migration.

use super::prelude::*;

pub(crate) const NAME: &str = "backfill-in-ddl-transaction";
pub(crate) const HELP: &str = "Backfill in bounded batches after the DDL is deployed, outside the \
schema migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::Update { table, .. }) = cx.action {
        if cx.file.exclusively_locked.contains(&table.name) {
            let message = format!(
                "This backfill of {table} runs while the file's DDL holds ACCESS EXCLUSIVE on it."
            );
            cx.report(Rule::BackfillInDdlTransaction, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_backfill_next_to_ddl_on_the_same_table() {
        lint_one("ALTER TABLE \"Post\" ADD COLUMN \"slug\" TEXT;\nUPDATE \"Post\" SET \"slug\" = lower(\"title\");", Rule::BackfillInDdlTransaction);
        lint_ok("ALTER TABLE \"User\" ADD COLUMN \"x\" TEXT;\nUPDATE \"Post\" SET \"slug\" = 'a' WHERE id = 1;", Rule::BackfillInDdlTransaction);
    }
}
