//! ## What it does
//! Flags `ALTER TABLE parent DETACH PARTITION p` without `CONCURRENTLY` on an existing table.
//!
//! ## Why is this bad?
//! A plain detach takes `ACCESS EXCLUSIVE` on the parent (and the partition): every read and
//! write of the whole partitioned table waits, and the lock request itself queues behind any
//! running query on it.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Event" DETACH PARTITION "Event_2023";
//! ```
//! ## Use instead
//! `ALTER TABLE "Event" DETACH PARTITION "Event_2023" CONCURRENTLY` (PostgreSQL 14+; `SHARE
//! UPDATE EXCLUSIVE` on the parent), alone in its migration file: it cannot run inside a
//! transaction.

use super::prelude::*;

pub(crate) const NAME: &str = "detach-partition-non-concurrently";
pub(crate) const HELP: &str = "Use DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+), alone in a \
migration file of its own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DetachPartition {
        table,
        partition,
        concurrently: false,
    }) = cx.action
    {
        if cx.is_existing(table) {
            let message = format!(
                "Detaching {partition} from {table} takes ACCESS EXCLUSIVE on {table}: its reads \
                 and writes wait."
            );
            cx.report(Rule::DetachPartitionNonConcurrently, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_blocking_detach_only() {
        let f = lint_one(
            "ALTER TABLE \"Event\" DETACH PARTITION \"Event_2023\";",
            Rule::DetachPartitionNonConcurrently,
        );
        assert!(
            f.blocks_reads && f.table.as_deref() == Some("Event"),
            "{f:?}"
        );
        lint_ok(
            "ALTER TABLE \"Event\" DETACH PARTITION \"Event_2023\" CONCURRENTLY;",
            Rule::DetachPartitionNonConcurrently,
        );
        lint_ok(
            "ALTER TABLE e DETACH PARTITION e1 FINALIZE;",
            Rule::DetachPartitionNonConcurrently,
        );
        lint_ok(
            "CREATE TABLE e (id int);\nALTER TABLE e DETACH PARTITION e1;",
            Rule::DetachPartitionNonConcurrently,
        );
    }
}
