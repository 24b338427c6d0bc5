//! ## What it does
//! Flags `ADD CONSTRAINT … UNIQUE` or `PRIMARY KEY` that builds its index, on an existing table,
//! and the same constraints declared inline on `ADD COLUMN` (`ADD COLUMN x text UNIQUE`,
//! `ADD COLUMN id SERIAL PRIMARY KEY`).
//!
//! ## Why is this bad?
//! The index is built while `ACCESS EXCLUSIVE` is held: reads and writes wait for the whole
//! build, and duplicates make it fail. Prisma warns "A unique constraint covering the columns
//! will be added. If there are existing duplicate values, this will fail."
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD CONSTRAINT "User_email_key" UNIQUE ("email");
//! ```
//! ## Use instead
//! `CREATE UNIQUE INDEX CONCURRENTLY` in its own migration, then
//! `ADD CONSTRAINT … UNIQUE USING INDEX` (instant). For a new column: add it plain, build the
//! index concurrently, then attach the constraint.

use super::prelude::*;

pub(crate) const NAME: &str = "adding-unique-constraint";
pub(crate) const HELP: &str = "Build the index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD \
CONSTRAINT … USING INDEX.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let (table, kind) = match cx.action {
        Some(Action::AddConstraint {
            table, constraint, ..
        }) => match constraint {
            Constraint::Unique {
                using_index: false, ..
            } => (table, "UNIQUE"),
            Constraint::PrimaryKey {
                using_index: false, ..
            } => (table, "PRIMARY KEY"),
            _ => return,
        },
        Some(Action::AddColumn { table, column }) if column.primary_key => (table, "PRIMARY KEY"),
        Some(Action::AddColumn { table, column }) if column.unique => (table, "UNIQUE"),
        _ => return,
    };
    if cx.is_existing(table) {
        let message = format!("Adding a {kind} constraint on {table} builds an index under ACCESS EXCLUSIVE and fails on duplicates.");
        cx.report(Rule::AddingUniqueConstraint, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_index_building_constraints() {
        lint_one(
            "ALTER TABLE u ADD CONSTRAINT k UNIQUE (email);",
            Rule::AddingUniqueConstraint,
        );
        lint_one(
            "ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY (id);",
            Rule::AddingUniqueConstraint,
        );
        lint_ok(
            "ALTER TABLE u ADD CONSTRAINT k UNIQUE USING INDEX i;",
            Rule::AddingUniqueConstraint,
        );
    }

    #[test]
    fn flags_constraints_declared_inline_on_add_column() {
        assert!(lint_one(
            "ALTER TABLE u ADD COLUMN x text UNIQUE;",
            Rule::AddingUniqueConstraint
        )
        .message
        .contains("UNIQUE"));
        let pk = lint_one(
            "ALTER TABLE u ADD COLUMN id SERIAL PRIMARY KEY;",
            Rule::AddingUniqueConstraint,
        );
        assert!(pk.message.contains("PRIMARY KEY") && pk.blocks_reads);
        lint_ok(
            "ALTER TABLE u ADD COLUMN x text;",
            Rule::AddingUniqueConstraint,
        );
        lint_ok(
            "CREATE TABLE u (a int);\nALTER TABLE u ADD COLUMN x text UNIQUE;",
            Rule::AddingUniqueConstraint,
        );
    }
}
