//! ## What it does
//! Flags `DROP VIEW` and `DROP MATERIALIZED VIEW`.
//!
//! ## Why is this bad?
//! Queries of the running application that use the view fail; a materialized view's contents
//! are lost and must be recomputed. Takes `ACCESS EXCLUSIVE` on the view.
//!
//! ## Example
//! ```sql
//! DROP VIEW "ActiveUsers";
//! ```
//! ## Use instead
//! Stop using the view in the application first; recreate it in the same migration
//! (`CREATE OR REPLACE VIEW`) when only its definition changes.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-view";
pub(crate) const HELP: &str =
    "Use CREATE OR REPLACE VIEW to change a definition; drop a view only \
after the application stopped using it.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let names = dropped(cx.action, ObjectKind::View)
        .or_else(|| dropped(cx.action, ObjectKind::MaterializedView));
    if let Some(names) = names {
        cx.report(
            Rule::DropView,
            format!("Dropping view {names} breaks queries that use it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_views_and_materialized_views() {
        lint_one("DROP VIEW v;", Rule::DropView);
        lint_one("DROP MATERIALIZED VIEW IF EXISTS mv;", Rule::DropView);
        lint_ok("DROP TABLE t;", Rule::DropView);
    }
}
