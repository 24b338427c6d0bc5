//! ## What it does
//! Flags `COMMIT` (or `END`) inside a migration file when statements follow it, and a `COMMIT`
//! that closes no `BEGIN` of the file (`SELECT 1; COMMIT;`), wherever it is. `ROLLBACK` is
//! `rollback-in-migration`'s.
//!
//! ## Why is this bad?
//! The file is sent as one query and runs as one transaction; its own `COMMIT` ends that
//! transaction early. If a later statement fails, what came before stays committed while the
//! migration is recorded as failed: the database is half-migrated. About 3% of real Prisma
//! histories contain such blocks (enum rebuilds). A `COMMIT` without a `BEGIN` ends the
//! transaction the deployment opened for the file, even as its last line: the ledger update
//! that follows it no longer commits with the file's changes.
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
    let commits = matches!(
        cx.action,
        Some(Action::Transaction {
            control: TransactionControl::Commit
        })
    );
    if !commits {
        return;
    }
    let after = cx.file.statements.saturating_sub(cx.file.index + 1);
    if after > 0 {
        cx.report(
            Rule::CommitSplitsMigration,
            format!("This ends the migration's transaction with {after} statement(s) after it: a later failure leaves the part before committed."),
        );
    } else if !cx.file.in_explicit_transaction {
        cx.report(
            Rule::CommitSplitsMigration,
            "This COMMIT closes no BEGIN of the file: it ends the deployment's transaction, so the ledger update no longer commits with the file's changes.",
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

    #[test]
    fn flags_a_commit_without_begin_even_last() {
        let f = lint_one("SELECT 1;\nCOMMIT;", Rule::CommitSplitsMigration);
        assert!(f.message.contains("closes no BEGIN"), "{f:?}");
        lint_one("COMMIT;", Rule::CommitSplitsMigration);
        lint_ok(
            "SELECT 1;\nBEGIN;\nSELECT 2;\nEND;",
            Rule::CommitSplitsMigration,
        );
    }

    #[test]
    fn leaves_rollback_to_its_own_rule() {
        lint_ok(
            "BEGIN;\nSELECT 1;\nROLLBACK;\nSELECT 2;",
            Rule::CommitSplitsMigration,
        );
    }
}
