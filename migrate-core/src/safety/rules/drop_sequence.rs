//! ## What it does
//! Flags `DROP SEQUENCE`.
//!
//! ## Why is this bad?
//! Column defaults that call `nextval()` on it fail, so inserts fail; its current value is lost,
//! and recreating it restarts numbering (duplicate keys).
//!
//! ## Example
//! ```sql
//! DROP SEQUENCE "Order_id_seq";
//! ```
//! ## Use instead
//! Remove the defaults that use it first, and keep its last value if it is ever recreated.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-sequence";
pub(crate) const HELP: &str = "Remove the column defaults that use the sequence first, and record \
its last value.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(names) = dropped(cx.action, ObjectKind::Sequence) {
        cx.report(
            Rule::DropSequence,
            format!("Dropping sequence {names} breaks inserts that use it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_drop_sequence() {
        lint_one("DROP SEQUENCE s;", Rule::DropSequence);
        lint_ok("DROP VIEW s;", Rule::DropSequence);
    }
}
