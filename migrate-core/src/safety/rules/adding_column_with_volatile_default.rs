//! ## What it does
//! Flags `ADD COLUMN` with a volatile default (`gen_random_uuid()`, `random()`,
//! `clock_timestamp()`, a `serial` type…) on an existing table.
//!
//! ## Why is this bad?
//! Since PostgreSQL 11 a constant or stable default is stored in the catalog, but a volatile one
//! is evaluated for every row: the table is rewritten under `ACCESS EXCLUSIVE`.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD COLUMN "token" UUID NOT NULL DEFAULT gen_random_uuid();
//! ```
//! ## Use instead
//! Add the column without a default (or with a constant), backfill in batches, then set the
//! default for new rows.

use super::prelude::*;

pub(crate) const NAME: &str = "adding-column-with-volatile-default";
pub(crate) const HELP: &str = "Add the column without the volatile default, backfill in batches, \
then SET DEFAULT for new rows.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::AddColumn { table, column }) = cx.action {
        if column.default == Some(DefaultKind::Volatile) && cx.is_existing(table) {
            let message = format!("Adding {table}.{} with a volatile default rewrites every row under ACCESS EXCLUSIVE.", column.name);
            cx.report(Rule::AddingColumnWithVolatileDefault, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_volatile_defaults_only() {
        lint_one(
            "ALTER TABLE u ADD COLUMN t UUID NOT NULL DEFAULT gen_random_uuid();",
            Rule::AddingColumnWithVolatileDefault,
        );
        lint_one(
            "ALTER TABLE u ADD COLUMN n SERIAL;",
            Rule::AddingColumnWithVolatileDefault,
        );
        lint_ok(
            "ALTER TABLE u ADD COLUMN c TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;",
            Rule::AddingColumnWithVolatileDefault,
        );
        lint_ok(
            "ALTER TABLE u ADD COLUMN b BOOLEAN NOT NULL DEFAULT false;",
            Rule::AddingColumnWithVolatileDefault,
        );
    }
}
