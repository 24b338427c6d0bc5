//! ## What it does
//! Flags `ADD CONSTRAINT … CHECK` without `NOT VALID` on an existing table.
//!
//! ## Why is this bad?
//! Every row is checked while `ACCESS EXCLUSIVE` is held: reads and writes wait for the scan.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Order" ADD CONSTRAINT "positive_total" CHECK ("total" >= 0);
//! ```
//! ## Use instead
//! Add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration.

use super::prelude::*;

pub(crate) const NAME: &str = "adding-check-without-not-valid";
pub(crate) const HELP: &str = "Add the check NOT VALID, then VALIDATE CONSTRAINT in a later \
migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AddConstraint {
        table,
        constraint: Constraint::Check { .. },
        not_valid: false,
    }) = cx.action
    {
        if cx.is_existing(table) {
            let message =
                format!("Adding a CHECK on {table} scans every row under ACCESS EXCLUSIVE.");
            cx.report(Rule::AddingCheckWithoutNotValid, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_validating_checks() {
        lint_one(
            "ALTER TABLE o ADD CONSTRAINT c CHECK (total >= 0);",
            Rule::AddingCheckWithoutNotValid,
        );
        lint_ok(
            "ALTER TABLE o ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;",
            Rule::AddingCheckWithoutNotValid,
        );
    }
}
