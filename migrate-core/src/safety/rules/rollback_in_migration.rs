//! ## What it does
//! Flags `ROLLBACK` (or `ABORT`) in a migration file. `ROLLBACK TO SAVEPOINT` is fine.
//!
//! ## Why is this bad?
//! The file runs as one transaction, its ledger update included. A `ROLLBACK` throws away what
//! the file did before it, and the statements after it run and commit on their own: the ledger
//! records the migration as applied while its changes are missing, and nothing fails to say so.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD COLUMN "nickname" TEXT;
//! ROLLBACK;
//! ```
//! ## Use instead
//! Remove the `ROLLBACK`: to try something out, use a scratch database; to undo a change,
//! write a new migration that reverts it.

use super::prelude::*;
use crate::safety::ir::TransactionControl;

pub(crate) const NAME: &str = "rollback-in-migration";
pub(crate) const HELP: &str = "Remove the ROLLBACK; undo a change with a new migration instead.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::Transaction {
        control: TransactionControl::Rollback,
    }) = cx.action
    {
        cx.report(
            Rule::RollbackInMigration,
            "ROLLBACK discards what the file did before it, while the migration is recorded as applied.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_rollback_anywhere_in_the_file() {
        let f = lint_one(
            "ALTER TABLE u ADD COLUMN n TEXT;\nROLLBACK;",
            Rule::RollbackInMigration,
        );
        assert_eq!(f.line, 2);
        lint_one(
            "BEGIN;\nALTER TABLE u ADD COLUMN n TEXT;\nABORT;\nSELECT 1;",
            Rule::RollbackInMigration,
        );
        lint_ok(
            "SAVEPOINT s;\nALTER TABLE u ADD COLUMN n TEXT;\nROLLBACK TO SAVEPOINT s;",
            Rule::RollbackInMigration,
        );
        lint_ok(
            "BEGIN;\nALTER TABLE u ADD COLUMN n TEXT;\nCOMMIT;",
            Rule::RollbackInMigration,
        );
    }
}
