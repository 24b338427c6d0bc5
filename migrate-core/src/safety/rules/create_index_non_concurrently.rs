//! ## What it does
//! Flags `CREATE INDEX` without `CONCURRENTLY` on an existing table.
//!
//! ## Why is this bad?
//! The build holds a `SHARE` lock for its whole duration: every `INSERT`, `UPDATE` and `DELETE`
//! on the table waits, for minutes on a large table. Prisma generates plain `CREATE INDEX`.
//!
//! ## Example
//! ```sql
//! CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");
//! ```
//! ## Use instead
//! `CREATE INDEX CONCURRENTLY`, alone in its migration file (it cannot run inside the file's
//! transaction).

use super::prelude::*;

pub(crate) const NAME: &str = "create-index-non-concurrently";
pub(crate) const HELP: &str = "Use CREATE INDEX CONCURRENTLY, alone in a migration file of its \
own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::CreateIndex {
        table,
        concurrently: false,
        name,
        ..
    }) = cx.action
    {
        if cx.is_existing(table) {
            let index = name.clone().unwrap_or_else(|| "an index".into());
            cx.report(
                Rule::CreateIndexNonConcurrently,
                format!(
                    "Building {index} on {table} blocks writes to the table until it finishes."
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_blocking_index_builds_on_existing_tables_only() {
        let f = lint_one(
            "CREATE INDEX \"i\" ON \"Post\"(\"a\");",
            Rule::CreateIndexNonConcurrently,
        );
        assert!(f.blocks_writes && !f.blocks_reads);
        lint_ok(
            "CREATE INDEX CONCURRENTLY \"i\" ON \"Post\"(\"a\");",
            Rule::CreateIndexNonConcurrently,
        );
        lint_ok(
            "CREATE TABLE \"Post\" (a int);\nCREATE INDEX \"i\" ON \"Post\"(\"a\");",
            Rule::CreateIndexNonConcurrently,
        );
    }
}
