//! ## What it does
//! Reports a statement that neither `sqlparser` nor the keyword fallback understood.
//!
//! ## Why is this bad?
//! The analyzer cannot tell what it locks or destroys, so it is never silently treated as safe.
//!
//! ## Example
//! ```sql
//! FROBNICATE "User";
//! ```
//! ## Use instead
//! Review it by hand; approve it if it is fine (`-- migrate:approve not-understood reason: …`).

use super::prelude::*;
use crate::safety::Via;

pub(crate) const NAME: &str = "not-understood";
pub(crate) const HELP: &str = "Review the statement by hand, then approve it.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if cx.action.is_none() && cx.statement.via == Via::NotUnderstood {
        let why = cx.statement.parse_error.clone().unwrap_or_default();
        cx.report(
            Rule::NotUnderstood,
            format!("Statement not understood ({why}): review it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint, lint_ok};

    #[test]
    fn reports_each_unknown_statement_without_hiding_others() {
        let found = lint("FROBNICATE a;\nDROP TABLE t;\nWIBBLE;", Rule::NotUnderstood);
        assert_eq!(found.iter().map(|f| f.line).collect::<Vec<_>>(), [1, 3]);
        lint_ok("SELECT 1;", Rule::NotUnderstood);
    }
}
