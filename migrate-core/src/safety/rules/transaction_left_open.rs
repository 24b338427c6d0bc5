//! ## What it does
//! Flags a `BEGIN` (or `START TRANSACTION`) that no later `COMMIT` or `ROLLBACK` of the file
//! closes.
//!
//! ## Why is this bad?
//! The explicit transaction outlives the file: the ledger update and whatever the deployment
//! runs next on the session join it, its locks are held until the session ends, and when the
//! session closes without a `COMMIT` all of it is rolled back, while the deployment may have
//! reported the migration as applied.
//!
//! ## Example
//! ```sql
//! BEGIN;
//! ALTER TABLE "User" ADD COLUMN "nickname" TEXT;
//! ```
//! ## Use instead
//! Remove the `BEGIN` (the file already runs in one transaction), or close it with `COMMIT`.

use super::prelude::*;
use crate::safety::ir::TransactionControl;

pub(crate) const NAME: &str = "transaction-left-open";
pub(crate) const HELP: &str = "Remove the BEGIN (the file is already one transaction), or close \
it with COMMIT.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let begins = matches!(
        cx.action,
        Some(Action::Transaction {
            control: TransactionControl::Begin
        })
    );
    if begins && cx.file.unclosed_begins.contains(&cx.file.index) {
        cx.report(
            Rule::TransactionLeftOpen,
            "This transaction is never committed in the file: the ledger update joins it, and it is rolled back when the session ends.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_begin_without_commit() {
        let f = lint_one(
            "SELECT 1;\nBEGIN;\nALTER TABLE u ADD COLUMN n TEXT;",
            Rule::TransactionLeftOpen,
        );
        assert_eq!(f.line, 2);
        lint_one(
            "BEGIN;\nCOMMIT;\nSTART TRANSACTION;\nSELECT 1;",
            Rule::TransactionLeftOpen,
        );
        lint_ok(
            "BEGIN;\nALTER TABLE u ADD COLUMN n TEXT;\nCOMMIT;",
            Rule::TransactionLeftOpen,
        );
        lint_ok("BEGIN;\nSELECT 1;\nEND;", Rule::TransactionLeftOpen);
        lint_ok(
            "ALTER TABLE u ADD COLUMN n TEXT;",
            Rule::TransactionLeftOpen,
        );
    }
}
