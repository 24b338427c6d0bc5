//! ## What it does
//! Flags `DROP INDEX` without `CONCURRENTLY` when the index belongs to an existing table.
//!
//! ## Why is this bad?
//! It takes `ACCESS EXCLUSIVE` on the table: reads and writes wait, and while the drop itself
//! waits for long queries to finish, everything queued behind it waits too.
//!
//! ## Example
//! ```sql
//! DROP INDEX "Post_authorId_idx";
//! ```
//! ## Use instead
//! `DROP INDEX CONCURRENTLY`, alone in its migration file.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-index-non-concurrently";
pub(crate) const HELP: &str = "Use DROP INDEX CONCURRENTLY, alone in a migration file of its own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DropIndex {
        names,
        concurrently: false,
    }) = cx.action
    {
        let on_existing = names.iter().any(|index| {
            cx.catalog
                .index_table(&index.name)
                .is_none_or(|table| cx.is_existing(&Name::bare(table)))
        });
        if on_existing {
            let list: Vec<String> = names.iter().map(ToString::to_string).collect();
            cx.report(
                Rule::DropIndexNonConcurrently,
                format!(
                    "Dropping {} takes ACCESS EXCLUSIVE on its table.",
                    list.join(", ")
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
    fn flags_blocking_drops() {
        lint_one("DROP INDEX \"Post_a_idx\";", Rule::DropIndexNonConcurrently);
        lint_ok(
            "DROP INDEX CONCURRENTLY \"Post_a_idx\";",
            Rule::DropIndexNonConcurrently,
        );
        lint_ok(
            "DROP INDEX CONCURRENTLY IF EXISTS \"Post_a_idx\";",
            Rule::DropIndexNonConcurrently,
        );
        lint_ok(
            "CREATE TABLE p (a int); CREATE INDEX i ON p(a); DROP INDEX i;",
            Rule::DropIndexNonConcurrently,
        );
    }
}
