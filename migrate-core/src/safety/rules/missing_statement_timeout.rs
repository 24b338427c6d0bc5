//! ## What it does
//! Flags, once per file, the first statement that scans or rewrites an existing table while
//! holding a lock that blocks the application (a finding of a long-running rule:
//! `create-index-non-concurrently`, `adding-foreign-key-without-not-valid`,
//! `changing-column-type`, `vacuum-full-or-cluster`, `reindex-non-concurrently`, …) when no
//! `SET statement_timeout` came before it in the file.
//!
//! ## Why is this bad?
//! Nothing bounds how long the lock is held: on a table larger than expected the scan or
//! rewrite runs for minutes while every query that needs the table waits. A `lock_timeout` only
//! bounds the wait for the lock, not the work done while holding it.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");
//! ```
//! ## Use instead
//! ```sql
//! SET statement_timeout = '5min';
//! ```
//! at the top of the file (or the deployment's `LockPolicy::statement_timeout`, set for every
//! migration), sized to what the application can afford to wait; better, the non-blocking form
//! each finding suggests.

use super::prelude::*;

pub(crate) const NAME: &str = "missing-statement-timeout";
pub(crate) const HELP: &str = "Begin the file with SET statement_timeout sized to what the \
application can wait, or give the deployment one (LockPolicy::statement_timeout).";

/// Rules whose findings are scans or rewrites under a lock that blocks the application. This
/// rule runs after them in the registry, so it sees their findings on the current statement.
const LONG_RUNNING: &[Rule] = &[
    Rule::CreateIndexNonConcurrently,
    Rule::AddingForeignKeyWithoutNotValid,
    Rule::AddingCheckWithoutNotValid,
    Rule::SettingNotNullWithoutCheck,
    Rule::AddingUniqueConstraint,
    Rule::AddingColumnWithVolatileDefault,
    Rule::AddingStoredGeneratedColumn,
    Rule::ChangingColumnType,
    Rule::VacuumFullOrCluster,
    Rule::RefreshWithoutConcurrently,
    Rule::ReindexNonConcurrently,
    Rule::AttachPartitionWithoutCheck,
    Rule::AlterDomainAddConstraintWithoutNotValid,
    Rule::RewriteByStorageChange,
];

pub(crate) fn check(cx: &mut Checker<'_>) {
    if cx.file.statement_timeout_set || cx.file.statement_timeout_reported {
        return;
    }
    let span = cx.statement.span.clone();
    let long = cx
        .findings
        .iter()
        .rev()
        .take_while(|f| f.span == span)
        .any(|f| {
            f.rule
                .built_in()
                .is_some_and(|rule| LONG_RUNNING.contains(&rule))
        });
    if long {
        cx.file.statement_timeout_reported = true;
        cx.report(
            Rule::MissingStatementTimeout,
            "This statement scans or rewrites a table while blocking the application, with no statement_timeout to bound it.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint, lint_ok, lint_one};

    #[test]
    fn runs_after_the_rules_it_reads() {
        let at = |rule: Rule| Rule::ALL.iter().position(|r| *r == rule);
        for rule in LONG_RUNNING {
            assert!(at(*rule) < at(Rule::MissingStatementTimeout), "{rule}");
        }
    }

    #[test]
    fn advises_once_where_long_scans_run() {
        let sql = "ALTER TABLE u ADD COLUMN a TEXT;\nCREATE INDEX i ON u (a);\nVACUUM FULL u;";
        assert_eq!(lint_one(sql, Rule::MissingStatementTimeout).line, 2);
        lint_ok(
            &format!("SET statement_timeout = '5min';\n{sql}"),
            Rule::MissingStatementTimeout,
        );
        lint_ok(
            "ALTER TABLE u ADD COLUMN a TEXT;\nCREATE INDEX CONCURRENTLY i ON u (a);",
            Rule::MissingStatementTimeout,
        );
        lint_ok(
            "CREATE TABLE u (a text);\nCREATE INDEX i ON u (a);",
            Rule::MissingStatementTimeout,
        );
        assert_eq!(
            lint("REINDEX TABLE u;", Rule::MissingStatementTimeout).len(),
            1
        );
    }
}
