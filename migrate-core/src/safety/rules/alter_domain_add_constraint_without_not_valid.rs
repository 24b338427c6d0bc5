//! ## What it does
//! Flags `ALTER DOMAIN … ADD CONSTRAINT` without `NOT VALID`, and `ALTER DOMAIN … SET NOT NULL`,
//! which has no `NOT VALID` form.
//!
//! ## Why is this bad?
//! PostgreSQL checks the new constraint against every value of every column that uses the
//! domain, in every table, holding `SHARE` on each of those tables: their writes wait for the
//! scans, and one bad value makes the migration fail.
//!
//! ## Example
//! ```sql
//! ALTER DOMAIN "email" ADD CONSTRAINT "email_has_at" CHECK (VALUE LIKE '%@%');
//! ```
//! ## Use instead
//! Add it `NOT VALID` (checked for new values only), then `ALTER DOMAIN … VALIDATE CONSTRAINT`
//! in a later migration, or put the `CHECK` on the columns instead of the domain. Instead of
//! `SET NOT NULL`, add `CHECK (VALUE IS NOT NULL) NOT VALID` and validate it later.

use super::prelude::*;

pub(crate) const NAME: &str = "alter-domain-add-constraint-without-not-valid";
pub(crate) const HELP: &str = "Add the domain constraint NOT VALID, then VALIDATE CONSTRAINT in \
a later migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AlterDomainAddConstraint {
        domain,
        not_valid: false,
    }) = cx.action
    {
        cx.report(
            Rule::AlterDomainAddConstraintWithoutNotValid,
            format!("Adding a constraint to domain {domain} checks every column using it, blocking writes to their tables."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_validating_domain_constraints() {
        let f = lint_one(
            "ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%');",
            Rule::AlterDomainAddConstraintWithoutNotValid,
        );
        assert!(f.blocks_writes && f.message.contains("email"), "{f:?}");
        lint_ok(
            "ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%') NOT VALID;",
            Rule::AlterDomainAddConstraintWithoutNotValid,
        );
        lint_ok(
            "ALTER DOMAIN email VALIDATE CONSTRAINT has_at;",
            Rule::AlterDomainAddConstraintWithoutNotValid,
        );
        // No NOT VALID form: every column of the domain is checked for NULLs.
        lint_one(
            "ALTER DOMAIN email SET NOT NULL;",
            Rule::AlterDomainAddConstraintWithoutNotValid,
        );
        lint_ok(
            "ALTER DOMAIN email DROP NOT NULL;",
            Rule::AlterDomainAddConstraintWithoutNotValid,
        );
    }
}
