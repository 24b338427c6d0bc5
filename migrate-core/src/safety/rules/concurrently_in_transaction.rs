//! ## What it does
//! Flags `CREATE/DROP INDEX CONCURRENTLY` (and `REINDEX CONCURRENTLY`) in a file with other
//! statements.
//!
//! ## Why is this bad?
//! A migration file runs as one multi-statement query, an implicit transaction, and
//! `CONCURRENTLY` refuses to run inside a transaction block: the migration fails, always.
//! Alone in its file it works.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD COLUMN "slug" TEXT;
//! CREATE INDEX CONCURRENTLY "Post_slug_idx" ON "Post"("slug");
//! ```
//! ## Use instead
//! Move the concurrent statement to a migration file of its own.

use super::prelude::*;

pub(crate) const NAME: &str = "concurrently-in-transaction";
pub(crate) const HELP: &str = "Move the CONCURRENTLY statement to a migration file of its own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let concurrent = matches!(
        cx.action,
        Some(
            Action::CreateIndex {
                concurrently: true,
                ..
            } | Action::DropIndex {
                concurrently: true,
                ..
            } | Action::Reindex {
                concurrently: true,
                ..
            } | Action::DetachPartition {
                concurrently: true,
                ..
            }
        )
    );
    if concurrent && cx.file.statements > 1 {
        cx.report(
            Rule::ConcurrentlyInTransaction,
            "CONCURRENTLY cannot run inside the transaction of a multi-statement migration file: it will fail.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_concurrently_with_other_statements() {
        lint_one(
            "ALTER TABLE p ADD COLUMN s TEXT;\nCREATE INDEX CONCURRENTLY i ON p(s);",
            Rule::ConcurrentlyInTransaction,
        );
        lint_ok(
            "-- CreateIndex\nCREATE INDEX CONCURRENTLY i ON p(s);",
            Rule::ConcurrentlyInTransaction,
        );
    }
}
