//! ## What it does
//! Flags `DROP TABLE` of a table that exists before this deployment.
//!
//! ## Why is this bad?
//! Every row is lost, and the running application still queries the table: it fails as soon as
//! the statement commits. Takes `ACCESS EXCLUSIVE` on the table (and on tables referencing it with
//! `CASCADE`). Prisma warns "You are about to drop the table, which is not empty".
//!
//! ## Example
//! ```sql
//! DROP TABLE "Session";
//! ```
//! ## Use instead
//! Stop using the table in the application first (expand/contract), back it up or rename it
//! away, and drop it in a later deployment once nothing reads it.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-table";
pub(crate) const HELP: &str = "Remove every use of the table from the application first, keep a \
backup, and drop it in a later deployment.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DropTable { tables }) = cx.action {
        for table in tables.clone() {
            if cx.is_existing(&table) {
                let before = cx.findings.len();
                cx.report(
                    Rule::DropTable,
                    format!("Dropping table {table} deletes all its rows."),
                );
                // One finding per table, each naming its own (`DROP TABLE a, b`).
                if let Some(finding) = cx.findings.get_mut(before) {
                    finding.table = Some(table.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_existing_tables_only() {
        let f = lint_one("DROP TABLE \"Session\";", Rule::DropTable);
        assert!(f.data_loss && f.blocks_reads);
        assert_eq!(f.table.as_deref(), Some("Session"));
        lint_ok("CREATE TABLE t (id int); DROP TABLE t;", Rule::DropTable);
    }
}
