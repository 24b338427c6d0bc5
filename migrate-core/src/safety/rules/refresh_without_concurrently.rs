//! ## What it does
//! Flags `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY`.
//!
//! ## Why is this bad?
//! It holds `ACCESS EXCLUSIVE` on the view while the query runs: every read of the view waits.
//!
//! ## Example
//! ```sql
//! REFRESH MATERIALIZED VIEW "Stats";
//! ```
//! ## Use instead
//! `REFRESH MATERIALIZED VIEW CONCURRENTLY` (needs a unique index on the view), alone in its
//! file.

use super::prelude::*;

pub(crate) const NAME: &str = "refresh-without-concurrently";
pub(crate) const HELP: &str = "Use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index \
on the view).";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::RefreshMaterializedView {
        name,
        concurrently: false,
    }) = cx.action
    {
        let message = format!("Refreshing {name} blocks its readers until the query finishes.");
        cx.report(Rule::RefreshWithoutConcurrently, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_blocking_refresh() {
        lint_one(
            "REFRESH MATERIALIZED VIEW \"Stats\";",
            Rule::RefreshWithoutConcurrently,
        );
        lint_ok(
            "REFRESH MATERIALIZED VIEW CONCURRENTLY \"Stats\";",
            Rule::RefreshWithoutConcurrently,
        );
    }
}
