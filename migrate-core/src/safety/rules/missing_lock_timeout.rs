//! ## What it does
//! Flags the first statement of a file that locks an existing table `ACCESS EXCLUSIVE` (or
//! blocks its writes) when no `SET lock_timeout` ran before it in the file.
//!
//! ## Why is this bad?
//! If a long query holds a conflicting lock, the migration waits, and every query of the
//! application queues behind the waiting migration: a short DDL becomes an outage.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD COLUMN "bio" TEXT;
//! ```
//! ## Use instead
//! Start the file with `SET lock_timeout = '5s';` and retry on timeout (the deploy pipeline
//! sets it per statement class).

use super::prelude::*;

pub(crate) const NAME: &str = "missing-lock-timeout";
pub(crate) const HELP: &str = "migrate deploy sets lock_timeout itself and retries (its lock \
policy); with other tools, begin the file with SET lock_timeout = '5s'; and retry on timeout.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(action) = cx.action else { return };
    if cx.file.lock_timeout_set || cx.file.lock_timeout_reported {
        return;
    }
    let blocking = crate::safety::lock_of(action).is_some_and(|l| l.blocks_writes());
    if blocking && action.table().is_some_and(|t| cx.is_existing(t)) {
        cx.file.lock_timeout_reported = true;
        cx.report(
            Rule::MissingLockTimeout,
            "This statement waits for its lock without a lock_timeout: the application's queries queue behind it.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint, lint_ok};

    #[test]
    fn reports_once_per_file_and_respects_set() {
        let sql = "ALTER TABLE u ADD COLUMN a TEXT;\nALTER TABLE u ADD COLUMN b TEXT;";
        assert_eq!(lint(sql, Rule::MissingLockTimeout).len(), 1);
        lint_ok(
            &format!("SET lock_timeout = '5s';\n{sql}"),
            Rule::MissingLockTimeout,
        );
        lint_ok(
            "CREATE TABLE n (id int); CREATE INDEX i ON n(id);",
            Rule::MissingLockTimeout,
        );
    }

    #[test]
    fn lock_table_takes_the_mode_it_names() {
        let f = lint("LOCK TABLE u IN SHARE MODE;", Rule::MissingLockTimeout);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].lock, Some(crate::safety::LockLevel::Share));
        assert!(f[0].blocks_writes && !f[0].blocks_reads);
        let bare = lint("LOCK u;", Rule::MissingLockTimeout);
        assert_eq!(
            bare[0].lock,
            Some(crate::safety::LockLevel::AccessExclusive)
        );
        lint_ok(
            "LOCK TABLE u IN ACCESS SHARE MODE;",
            Rule::MissingLockTimeout,
        );
        lint_ok(
            "SET lock_timeout = '2s';\nLOCK TABLE u IN ACCESS EXCLUSIVE MODE;",
            Rule::MissingLockTimeout,
        );
    }
}
