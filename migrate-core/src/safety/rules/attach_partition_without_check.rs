//! ## What it does
//! Flags `ALTER TABLE parent ATTACH PARTITION p FOR VALUES …` when `p` is an existing table
//! with no validated `CHECK` constraint.
//!
//! ## Why is this bad?
//! Attaching takes `SHARE UPDATE EXCLUSIVE` on the parent and `ACCESS EXCLUSIVE` on the
//! partition, then scans every row of it to prove the bound, unless a validated `CHECK`
//! constraint already implies it. Reads and writes of the partition wait for the scan (and a
//! default partition is scanned too). The analysis only sees whether a validated `CHECK`
//! exists, not whether it matches the bound; with a database, an empty partition is
//! harmless.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Event" ATTACH PARTITION "Event_2024" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
//! ```
//! ## Use instead
//! Add a `CHECK` matching the bound `NOT VALID`, `VALIDATE` it (no write lock), attach, then drop
//! the `CHECK`:
//! ```sql
//! ALTER TABLE "Event_2024" ADD CONSTRAINT "Event_2024_bound" CHECK ("at" >= '2024-01-01' AND "at" < '2025-01-01') NOT VALID;
//! ALTER TABLE "Event_2024" VALIDATE CONSTRAINT "Event_2024_bound";
//! ```

use super::prelude::*;

pub(crate) const NAME: &str = "attach-partition-without-check";
pub(crate) const HELP: &str = "Add and validate a CHECK constraint matching the partition bound \
before ATTACH PARTITION, so the attach skips its scan.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(Action::AttachPartition { table, partition }) = cx.action else {
        return;
    };
    let proven = cx
        .catalog
        .table(partition)
        .is_some_and(|t| t.has_valid_check());
    if cx.is_existing(partition) && !proven {
        let message = format!(
            "Attaching {partition} to {table} scans every row of {partition} under ACCESS \
             EXCLUSIVE: no validated CHECK constraint proves the bound."
        );
        cx.report(Rule::AttachPartitionWithoutCheck, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_after, lint_ok, lint_one};

    const ATTACH: &str =
        "ALTER TABLE e ATTACH PARTITION e2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";

    #[test]
    fn flags_attach_without_a_validated_check() {
        let f = lint_one(ATTACH, Rule::AttachPartitionWithoutCheck);
        assert_eq!(f.table.as_deref(), Some("e2024"));
        assert!(f.blocks_reads);
        let history = "CREATE TABLE e2024 (at date);";
        assert_eq!(
            lint_after(history, ATTACH, Rule::AttachPartitionWithoutCheck).len(),
            1
        );
        let not_valid =
            "ALTER TABLE e2024 ADD CONSTRAINT b CHECK (at >= '2024-01-01') NOT VALID;\n";
        assert_eq!(
            lint_after(
                history,
                &format!("{not_valid}{ATTACH}"),
                Rule::AttachPartitionWithoutCheck
            )
            .len(),
            1,
            "a NOT VALID check proves nothing"
        );
    }

    #[test]
    fn a_validated_check_or_a_new_table_is_fine() {
        let history = "CREATE TABLE e2024 (at date);";
        let checked = "ALTER TABLE e2024 ADD CONSTRAINT b CHECK (at >= '2024-01-01') NOT VALID;\n\
                       ALTER TABLE e2024 VALIDATE CONSTRAINT b;\n";
        assert!(lint_after(
            history,
            &format!("{checked}{ATTACH}"),
            Rule::AttachPartitionWithoutCheck
        )
        .is_empty());
        lint_ok(
            &format!("CREATE TABLE e2024 (at date);\n{ATTACH}"),
            Rule::AttachPartitionWithoutCheck,
        );
    }
}
