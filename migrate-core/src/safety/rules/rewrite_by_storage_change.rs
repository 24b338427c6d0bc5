//! ## What it does
//! Flags `ALTER TABLE … SET LOGGED`, `SET UNLOGGED` and `SET TABLESPACE` on an existing table,
//! and `ALTER INDEX` / `ALTER MATERIALIZED VIEW … SET TABLESPACE`.
//!
//! ## Why is this bad?
//! Each copies the whole table (and, for a tablespace, its files) under `ACCESS EXCLUSIVE`:
//! reads and writes wait for the copy, which takes disk space for a second copy and, for `SET
//! LOGGED`, writes every row to the WAL. `SET UNLOGGED` also means the table is emptied after a
//! crash and is not replicated. Moving an index copies it under `ACCESS EXCLUSIVE` on the index,
//! and since the planner opens every index of a table, queries of that table wait as well.
//! (`VACUUM FULL` and `CLUSTER` are the other rewrites; see `vacuum-full-or-cluster`.)
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
        if let Some(of) = cx.catalog.index_table(&table.name) {
            let message = format!(
                "{} copies index {table} under ACCESS EXCLUSIVE: queries of \"{of}\" wait for \
                 the copy.",
                change.sql()
            );
            cx.report(Rule::RewriteByStorageChange, message);
        } else if cx.is_existing(table) {
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
    use crate::safety::rules::test_utils::{lint_after, lint_ok, lint_one};

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
        lint_one(
            "ALTER MATERIALIZED VIEW stats SET TABLESPACE fast;",
            Rule::RewriteByStorageChange,
        );
    }

    #[test]
    fn flags_moving_an_index_and_names_its_table() {
        let history = "CREATE TABLE \"User\" (id int, email text);\n\
                       CREATE INDEX \"User_email_idx\" ON \"User\"(email);\n";
        let found = lint_after(
            history,
            "ALTER INDEX \"User_email_idx\" SET TABLESPACE fast;",
            Rule::RewriteByStorageChange,
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("queries of \"User\""),
            "{found:?}"
        );
        lint_ok(
            "ALTER INDEX \"User_email_idx\" RENAME TO \"User_mail_idx\";",
            Rule::RewriteByStorageChange,
        );
    }
}
