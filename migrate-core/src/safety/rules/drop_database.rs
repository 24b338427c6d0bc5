//! ## What it does
//! Flags `DROP DATABASE`.
//!
//! ## Why is this bad?
//! Every schema, table and row of the database is deleted at once, with no way back but a
//! backup. A migration has no business dropping a database; PostgreSQL refuses it inside a
//! transaction block, so a multi-statement migration file fails on it, and a lone one destroys
//! the database.
//!
//! ## Example
//! ```sql
//! DROP DATABASE "analytics";
//! ```
//! ## Use instead
//! Drop databases by hand, after a backup, outside the migration history.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-database";
pub(crate) const HELP: &str = "Drop databases by hand after a backup, never from a migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(names) = dropped(cx.action, ObjectKind::Database) {
        cx.report(
            Rule::DropDatabase,
            format!("Dropping database {names} deletes every object and row in it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_drop_database() {
        let f = lint_one("DROP DATABASE IF EXISTS analytics;", Rule::DropDatabase);
        assert!(f.data_loss && f.message.contains("analytics"), "{f:?}");
        lint_ok("DROP SCHEMA analytics;", Rule::DropDatabase);
        lint_ok("CREATE DATABASE analytics;", Rule::DropDatabase);
    }
}
