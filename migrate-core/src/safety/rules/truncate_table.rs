//! ## What it does
//! Flags `TRUNCATE` of an existing table.
//!
//! ## Why is this bad?
//! Every row is deleted at once, without per-row triggers, under `ACCESS EXCLUSIVE`; with
//! `CASCADE` the tables referencing it are emptied too.
//!
//!
//! Linters such as squawk (`ban-truncate-cascade`) only flag `TRUNCATE … CASCADE`. This rule
//! flags every `TRUNCATE` of an existing table on purpose: this analyzer gates deployments on
//! data loss (an `error` needs an approval, and a backup is taken first), and a plain
//! `TRUNCATE` loses every row just as surely; with a database, an empty table downgrades the
//! finding to `info`.
//!
//! ## Example
//! ```sql
//! TRUNCATE TABLE "AuditLog";
//! ```
//! ## Use instead
//! Delete in batches (`DELETE … WHERE id < …`) outside the migration, after a backup.

use super::prelude::*;

pub(crate) const NAME: &str = "truncate-table";
pub(crate) const HELP: &str = "Back up first, and delete in bounded batches outside the schema \
migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::Truncate { tables }) = cx.action {
        let existing: Vec<String> = tables
            .iter()
            .filter(|t| cx.is_existing(t))
            .map(ToString::to_string)
            .collect();
        if !existing.is_empty() {
            cx.report(
                Rule::TruncateTable,
                format!("Truncating {} deletes every row.", existing.join(", ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_truncate() {
        assert!(
            lint_one("TRUNCATE TABLE a, b CASCADE;", Rule::TruncateTable)
                .message
                .contains("a, b")
        );
        lint_ok("CREATE TABLE a (id int); TRUNCATE a;", Rule::TruncateTable);
    }
}
