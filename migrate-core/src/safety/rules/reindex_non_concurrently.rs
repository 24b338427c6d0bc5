//! ## What it does
//! Flags `REINDEX` (`INDEX`, `TABLE`, `SCHEMA`, `DATABASE`, `SYSTEM`) without `CONCURRENTLY`.
//!
//! ## Why is this bad?
//! A plain `REINDEX` holds `SHARE` on each table and `ACCESS EXCLUSIVE` on each index it
//! rebuilds, for the whole rebuild: writes wait, and so do reads, since the planner opens every
//! index of a table it plans a query on. `REINDEX SCHEMA` or `DATABASE` does this table after
//! table for as long as the whole run takes.
//!
//! ## Example
//! ```sql
//! REINDEX TABLE "Event";
//! ```
//! ## Use instead
//! `REINDEX … CONCURRENTLY` (PostgreSQL 12+; not for `SYSTEM`), alone in its migration file (it
//! cannot run inside a transaction), or outside the migration.

use super::prelude::*;
use crate::safety::ir::ReindexTarget;

pub(crate) const NAME: &str = "reindex-non-concurrently";
pub(crate) const HELP: &str = "Use REINDEX … CONCURRENTLY, alone in a migration file of its own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(Action::Reindex {
        target,
        name,
        concurrently: false,
    }) = cx.action
    else {
        return;
    };
    // A table or index this migration creates is empty: rebuilding it is instant.
    let new = match (target, name) {
        (ReindexTarget::Table, Some(table)) => cx.is_new(table),
        (ReindexTarget::Index, Some(index)) => cx
            .catalog
            .index_table(&index.name)
            .is_some_and(|table| cx.is_new(&Name::bare(table))),
        _ => false,
    };
    if new {
        return;
    }
    let what = match (target, name) {
        (ReindexTarget::Index, Some(n)) => format!("index {n}"),
        (ReindexTarget::Table, Some(n)) => format!("every index of {n}"),
        (ReindexTarget::Schema, Some(n)) => format!("every index of schema {n}"),
        _ => "every index of the database".to_owned(),
    };
    cx.report(
        Rule::ReindexNonConcurrently,
        format!("Rebuilding {what} without CONCURRENTLY blocks writes, and reads that plan on the table, until it finishes."),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_every_blocking_form() {
        for sql in [
            "REINDEX TABLE \"Event\";",
            "REINDEX INDEX \"Event_pkey\";",
            "REINDEX SCHEMA public;",
            "REINDEX DATABASE app;",
            "REINDEX SYSTEM;",
            "REINDEX (VERBOSE) TABLE t;",
            "REINDEX (CONCURRENTLY FALSE) TABLE t;",
        ] {
            let f = lint_one(sql, Rule::ReindexNonConcurrently);
            assert!(f.blocks_writes && f.blocks_reads, "{sql}: {f:?}");
        }
        assert_eq!(
            lint_one("REINDEX TABLE \"Event\";", Rule::ReindexNonConcurrently)
                .table
                .as_deref(),
            Some("Event")
        );
    }

    #[test]
    fn concurrent_and_new_objects_are_fine() {
        for sql in [
            "REINDEX TABLE CONCURRENTLY \"Event\";",
            "REINDEX INDEX CONCURRENTLY i;",
            "REINDEX (CONCURRENTLY) SCHEMA public;",
            "CREATE TABLE t (id int);\nREINDEX TABLE t;",
            "CREATE TABLE t (id int);\nCREATE INDEX i ON t (id);\nREINDEX INDEX i;",
        ] {
            lint_ok(sql, Rule::ReindexNonConcurrently);
        }
    }
}
