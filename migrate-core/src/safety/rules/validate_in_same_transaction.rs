//! ## What it does
//! Flags `VALIDATE CONSTRAINT` of a constraint added `NOT VALID` earlier in the same file.
//!
//! ## Why is this bad?
//! The file runs as one transaction, so the `ACCESS EXCLUSIVE` (or `SHARE ROW EXCLUSIVE`) lock of
//! the `ADD … NOT VALID` is still held during the validation scan: `NOT VALID` then saves nothing.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Post" ADD CONSTRAINT "fk" FOREIGN KEY ("a") REFERENCES "User"("id") NOT VALID;
//! ALTER TABLE "Post" VALIDATE CONSTRAINT "fk";
//! ```
//! ## Use instead
//! Validate in the next migration file.

use super::prelude::*;

pub(crate) const NAME: &str = "validate-in-same-transaction";
pub(crate) const HELP: &str = "Move VALIDATE CONSTRAINT to the next migration file.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::ValidateConstraint { table, name }) = cx.action {
        if cx.file.not_valid_added.contains(name) && cx.file.statements > 1 {
            let message = format!("Validating {name} on {table} in the file that added it keeps the ADD's lock during the scan.");
            cx.report(Rule::ValidateInSameTransaction, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_validation_in_the_adding_file() {
        let add = "ALTER TABLE p ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u(id) NOT VALID;";
        lint_one(
            &format!("{add}\nALTER TABLE p VALIDATE CONSTRAINT fk;"),
            Rule::ValidateInSameTransaction,
        );
        lint_ok(
            "ALTER TABLE p VALIDATE CONSTRAINT fk;",
            Rule::ValidateInSameTransaction,
        );
    }
}
