//! ## What it does
//! Flags `ALTER COLUMN … SET NOT NULL` on an existing table without a validated
//! `CHECK (col IS NOT NULL)` (known from the history).
//!
//! ## Why is this bad?
//! PostgreSQL scans the whole table under `ACCESS EXCLUSIVE` to prove there is no NULL; reads
//! and writes wait. If a NULL exists, the migration fails.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ALTER COLUMN "email" SET NOT NULL;
//! ```
//! ## Use instead
//! `ADD CONSTRAINT c CHECK ("email" IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT c` in a later
//! migration, then `SET NOT NULL` (PostgreSQL 12+ skips the scan) and drop the check.

use super::prelude::*;

pub(crate) const NAME: &str = "setting-not-null-without-check";
pub(crate) const HELP: &str = "Add CHECK (col IS NOT NULL) NOT VALID, validate it in a later \
migration, then SET NOT NULL.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::SetNotNull { table, column }) = cx.action {
        let proven = cx
            .catalog
            .table(table)
            .is_some_and(|t| t.has_not_null_check(column));
        if cx.is_existing(table) && !proven {
            let message =
                format!("SET NOT NULL on {table}.{column} scans the table under ACCESS EXCLUSIVE.");
            cx.report(Rule::SettingNotNullWithoutCheck, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_after, lint_one};

    #[test]
    fn flags_unproven_set_not_null() {
        lint_one(
            "ALTER TABLE u ALTER COLUMN email SET NOT NULL;",
            Rule::SettingNotNullWithoutCheck,
        );
    }

    #[test]
    fn a_validated_check_from_the_history_makes_it_safe() {
        let history = "CREATE TABLE u (email text);\n\
                       ALTER TABLE u ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n\
                       ALTER TABLE u VALIDATE CONSTRAINT c;";
        let sql = "ALTER TABLE u ALTER COLUMN email SET NOT NULL;";
        assert!(lint_after(history, sql, Rule::SettingNotNullWithoutCheck).is_empty());
        let unvalidated = "CREATE TABLE u (email text);\nALTER TABLE u ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;";
        assert_eq!(
            lint_after(unvalidated, sql, Rule::SettingNotNullWithoutCheck).len(),
            1
        );
    }
}
