//! ## What it does
//! Flags `DROP SCHEMA`.
//!
//! ## Why is this bad?
//! With `CASCADE` it drops every table, view and function in the schema: all their data is lost.
//! Takes `ACCESS EXCLUSIVE` on every object dropped.
//!
//! ## Example
//! ```sql
//! DROP SCHEMA "analytics" CASCADE;
//! ```
//! ## Use instead
//! Move what must survive out of the schema first, back it up, and drop it in a deployment of
//! its own.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-schema";
pub(crate) const HELP: &str = "Back up and move what must survive out of the schema first; drop \
it in a deployment of its own.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(names) = dropped(cx.action, ObjectKind::Schema) {
        cx.report(
            Rule::DropSchema,
            format!("Dropping schema {names} deletes everything in it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_drop_schema() {
        assert!(lint_one("DROP SCHEMA analytics CASCADE;", Rule::DropSchema)
            .message
            .contains("analytics"));
        lint_ok("DROP VIEW v;", Rule::DropSchema);
    }
}
