//! ## What it does
//! Flags `DROP FUNCTION` and `DROP PROCEDURE`.
//!
//! ## Why is this bad?
//! Triggers, defaults, views and application queries that call the function fail at run time,
//! not when the migration runs.
//!
//! ## Example
//! ```sql
//! DROP FUNCTION update_timestamp();
//! ```
//! ## Use instead
//! Drop the triggers and remove the callers first; use `CREATE OR REPLACE FUNCTION` to change a
//! body.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-function";
pub(crate) const HELP: &str = "Remove callers (triggers, defaults, queries) first; use CREATE OR \
REPLACE FUNCTION to change a body.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if dropped(cx.action, ObjectKind::Function).is_some() {
        cx.report(
            Rule::DropFunction,
            "Dropping a function breaks everything that calls it.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_drop_function() {
        lint_one("DROP FUNCTION IF EXISTS f(int);", Rule::DropFunction);
        lint_ok(
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
            Rule::DropFunction,
        );
    }
}
