//! ## What it does
//! Flags `ALTER TABLE … SET LOGGED`, `SET UNLOGGED` and `SET TABLESPACE` on an existing table.
//!
//! ## Why is this bad?
//! Each copies the whole table (and, for a tablespace, its files) under `ACCESS EXCLUSIVE`:
//! reads and writes wait for the copy, which takes disk space for a second copy and, for `SET
//! LOGGED`, writes every row to the WAL. `SET UNLOGGED` also means the table is emptied after a
//! crash and is not replicated. (`VACUUM FULL` and `CLUSTER` are the other rewrites; see
//! `vacuum-full-or-cluster`.)
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Event" SET LOGGED;
//! ```
//! ## Use instead
//! Create the table with the persistence and tablespace it needs; to change an existing one,
//! build a new table, copy in batches and swap, or accept the rewrite in a maintenance window.

use super::prelude::*;

pub(crate) const NAME: &str = "rewrite-by-storage-change";
pub(crate) const HELP: &str = "Create tables with the right persistence and tablespace; change an \
existing one by copying into a new table, or in a maintenance window.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::ChangeStorage { table, change }) = cx.action {
        if cx.is_existing(table) {
            let message = format!(
                "{} rewrites {table} under ACCESS EXCLUSIVE: reads and writes wait for the copy.",
                change.sql()
            );
            cx.report(Rule::RewriteByStorageChange, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_storage_rewrites_of_existing_tables() {
        for sql in [
            "ALTER TABLE \"Event\" SET LOGGED;",
            "ALTER TABLE \"Event\" SET UNLOGGED;",
            "ALTER TABLE \"Event\" SET TABLESPACE fast;",
        ] {
            let f = lint_one(sql, Rule::RewriteByStorageChange);
            assert!(
                f.blocks_reads && f.table.as_deref() == Some("Event"),
                "{sql}: {f:?}"
            );
        }
        lint_ok(
            "CREATE TABLE e (id int);\nALTER TABLE e SET LOGGED;",
            Rule::RewriteByStorageChange,
        );
        lint_ok(
            "ALTER TABLE e SET (fillfactor = 70);",
            Rule::RewriteByStorageChange,
        );
    }
}
