//! ## What it does
//! Flags `ADD CONSTRAINT … UNIQUE` or `PRIMARY KEY` that builds its index, on an existing table.
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
//! `ADD CONSTRAINT … UNIQUE USING INDEX` (instant).

use super::prelude::*;

pub(crate) const NAME: &str = "adding-unique-constraint";
pub(crate) const HELP: &str = "Build the index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD \
CONSTRAINT … USING INDEX.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(Action::AddConstraint {
        table, constraint, ..
    }) = cx.action
    else {
        return;
    };
    let kind = match constraint {
        Constraint::Unique {
            using_index: false, ..
        } => "UNIQUE",
        Constraint::PrimaryKey {
            using_index: false, ..
        } => "PRIMARY KEY",
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
}
