//! ## What it does
//! Flags `ADD CONSTRAINT … FOREIGN KEY` without `NOT VALID` on an existing table.
//!
//! ## Why is this bad?
//! PostgreSQL checks every existing row while holding `SHARE ROW EXCLUSIVE` on both tables:
//! writes to the table and to the referenced table wait for the whole scan. Prisma generates
//! foreign keys without `NOT VALID`.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");
//! ```
//! ## Use instead
//! Add it `NOT VALID` (instant), then `VALIDATE CONSTRAINT` in a later migration (it only takes
//! `SHARE UPDATE EXCLUSIVE`, which does not block writes).

use super::prelude::*;

pub(crate) const NAME: &str = "adding-foreign-key-without-not-valid";
pub(crate) const HELP: &str = "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a later \
migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AddConstraint {
        table,
        constraint: Constraint::ForeignKey { references, .. },
        not_valid: false,
    }) = cx.action
    {
        if cx.is_existing(table) {
            let message = format!("Adding a foreign key on {table} scans it while blocking writes to {table} and {references}.");
            cx.report(Rule::AddingForeignKeyWithoutNotValid, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    const FK: &str = "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;";

    #[test]
    fn flags_validating_foreign_keys_on_existing_tables() {
        let f = lint_one(FK, Rule::AddingForeignKeyWithoutNotValid);
        assert!(f.blocks_writes && !f.blocks_reads);
        lint_ok(
            &FK.replace(';', " NOT VALID;"),
            Rule::AddingForeignKeyWithoutNotValid,
        );
        lint_ok(
            &format!("CREATE TABLE \"Post\" (\"authorId\" int);\n{FK}"),
            Rule::AddingForeignKeyWithoutNotValid,
        );
    }
}
