//! ## What it does
//! Flags `ADD CONSTRAINT … FOREIGN KEY` without `NOT VALID` on an existing table, and
//! `ADD COLUMN … REFERENCES` (an inline foreign key cannot be `NOT VALID`).
//!
//! ## Why is this bad?
//! PostgreSQL checks every existing row while holding `SHARE ROW EXCLUSIVE` on both tables:
//! writes to the table and to the referenced table wait for the whole scan. Prisma generates
//! foreign keys without `NOT VALID`. Declared inline on `ADD COLUMN`, the scan runs under the
//! column's `ACCESS EXCLUSIVE`, so reads wait too.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");
//! ```
//! ## Use instead
//! Add it `NOT VALID` (instant), then `VALIDATE CONSTRAINT` in a later migration (it only takes
//! `SHARE UPDATE EXCLUSIVE`, which does not block writes). For a new column: add the column
//! plain, then the constraint `NOT VALID`.

use super::prelude::*;

pub(crate) const NAME: &str = "adding-foreign-key-without-not-valid";
pub(crate) const HELP: &str = "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a later \
migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let message = match cx.action {
        Some(Action::AddConstraint {
            table,
            constraint: Constraint::ForeignKey { references, .. },
            not_valid: false,
        }) if cx.is_existing(table) => format!(
            "Adding a foreign key on {table} scans it while blocking writes to {table} and \
             {references}."
        ),
        Some(Action::AddColumn { table, column }) if cx.is_existing(table) => {
            let Some(references) = &column.references else {
                return;
            };
            format!(
                "Adding {table}.{} with an inline REFERENCES {references} validates the foreign \
                 key over every row under ACCESS EXCLUSIVE.",
                column.name
            )
        }
        _ => return,
    };
    cx.report(Rule::AddingForeignKeyWithoutNotValid, message);
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

    #[test]
    fn flags_inline_references_on_add_column() {
        let f = lint_one(
            "ALTER TABLE t ADD COLUMN x int REFERENCES u(id);",
            Rule::AddingForeignKeyWithoutNotValid,
        );
        assert!(
            f.blocks_reads && f.message.contains("REFERENCES u"),
            "{f:?}"
        );
        lint_ok(
            "ALTER TABLE t ADD COLUMN x int;\nALTER TABLE t ADD CONSTRAINT t_x_fkey FOREIGN KEY (x) REFERENCES u(id) NOT VALID;",
            Rule::AddingForeignKeyWithoutNotValid,
        );
        lint_ok(
            "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int REFERENCES u(id);",
            Rule::AddingForeignKeyWithoutNotValid,
        );
    }
}
