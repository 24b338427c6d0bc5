//! ## What it does
//! Flags new columns of type `timestamp` (without time zone), and type changes to it.
//!
//! ## Why is this bad?
//! A `timestamp` stores a wall-clock reading with no zone: the same instant reads differently
//! depending on the session's `TimeZone`, and values written from servers in different zones
//! cannot be compared. Changing it to `timestamptz` later rewrites the table (unless the
//! session's zone is UTC). Prisma maps `DateTime` to `TIMESTAMP(3)` unless told
//! `@db.Timestamptz(3)`.
//!
//! ## Example
//! ```sql
//! CREATE TABLE "Event" ("at" TIMESTAMP(3) NOT NULL);
//! ```
//! ## Use instead
//! `timestamptz` (`@db.Timestamptz(3)` in a Prisma schema).

use super::prelude::*;
use crate::safety::ir::{Column, TypeName};

pub(crate) const NAME: &str = "prefer-timestamptz";
pub(crate) const HELP: &str = "Use timestamptz (Prisma: @db.Timestamptz), which stores an instant.";

const TIMESTAMP: &str = "timestamp without time zone";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let columns: Vec<(&str, &TypeName)> = match cx.action {
        Some(Action::CreateTable { columns, .. }) => columns.iter().map(named).collect(),
        Some(Action::AddColumn { column, .. }) => vec![named(column)],
        Some(Action::AlterColumnType { column, to, .. }) => vec![(column.as_str(), to)],
        _ => return,
    };
    let zoneless: Vec<&str> = columns
        .into_iter()
        .filter(|(_, ty)| ty.base == TIMESTAMP)
        .map(|(name, _)| name)
        .collect();
    if !zoneless.is_empty() {
        cx.report(
            Rule::PreferTimestamptz,
            format!(
                "Column(s) {} use timestamp without time zone.",
                zoneless.join(", ")
            ),
        );
    }
}

fn named(c: &Column) -> (&str, &TypeName) {
    (&c.name, &c.ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_zoneless_timestamps() {
        for sql in [
            "CREATE TABLE e (at TIMESTAMP(3) NOT NULL);",
            "ALTER TABLE e ADD COLUMN at timestamp without time zone;",
            "ALTER TABLE e ALTER COLUMN at TYPE timestamp;",
        ] {
            assert!(
                lint_one(sql, Rule::PreferTimestamptz)
                    .message
                    .contains("at"),
                "{sql}"
            );
        }
        for sql in [
            "CREATE TABLE e (at TIMESTAMPTZ(3) NOT NULL);",
            "ALTER TABLE e ADD COLUMN at timestamp with time zone;",
            "ALTER TABLE e ADD COLUMN d date;",
        ] {
            lint_ok(sql, Rule::PreferTimestamptz);
        }
    }
}
