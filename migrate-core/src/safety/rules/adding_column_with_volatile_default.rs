//! ## What it does
//! Flags `ADD COLUMN` with a volatile default (`gen_random_uuid()`, `random()`,
//! `clock_timestamp()`, a `serial` type…) on an existing table. A default calling a function
//! the analyzer does not know (`uuid()`, `myfunc()`) counts as volatile, unless the history
//! creates it `IMMUTABLE` or `STABLE`; with a database, the function's `pg_proc.provolatile`
//! decides (immutable or stable: downgraded to info).
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
    let Some(Action::AddColumn { table, column }) = cx.action else {
        return;
    };
    if !cx.is_existing(table) {
        return;
    }
    let message = match column.default {
        Some(DefaultKind::Volatile) => format!(
            "Adding {table}.{} with a volatile default rewrites every row under ACCESS EXCLUSIVE.",
            column.name
        ),
        Some(DefaultKind::UnknownFunctions)
            if column
                .unknown_functions
                .iter()
                .all(|f| cx.catalog.function_is_non_volatile(f) == Some(true)) =>
        {
            return;
        }
        Some(DefaultKind::UnknownFunctions) => format!(
            "Adding {table}.{} with a default calling {}(), which may be volatile, rewrites \
             every row under ACCESS EXCLUSIVE if it is.",
            column.name,
            column.unknown_functions.join("(), ")
        ),
        _ => return,
    };
    cx.report(Rule::AddingColumnWithVolatileDefault, message);
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

    #[test]
    fn unknown_functions_count_as_volatile() {
        for sql in [
            "ALTER TABLE u ADD COLUMN x uuid DEFAULT uuid();",
            "ALTER TABLE u ADD COLUMN x int DEFAULT public.myfunc(1);",
            "ALTER TABLE u ADD COLUMN x text DEFAULT lower(myfunc());",
        ] {
            let f = lint_one(sql, Rule::AddingColumnWithVolatileDefault);
            assert!(f.message.contains("may be volatile"), "{sql}: {f:?}");
        }
        for sql in [
            "ALTER TABLE u ADD COLUMN x timestamptz DEFAULT now();",
            "ALTER TABLE u ADD COLUMN x timestamptz DEFAULT (now() + interval '1 day');",
            "ALTER TABLE u ADD COLUMN x text[] DEFAULT ARRAY[]::TEXT[];",
            "ALTER TABLE u ADD COLUMN x jsonb DEFAULT '{}'::jsonb;",
            "ALTER TABLE u ADD COLUMN x text DEFAULT lower('A');",
        ] {
            lint_ok(sql, Rule::AddingColumnWithVolatileDefault);
        }
        lint_ok(
            "CREATE TABLE u (id int);\nALTER TABLE u ADD COLUMN x uuid DEFAULT uuid();",
            Rule::AddingColumnWithVolatileDefault,
        );
    }

    #[test]
    fn functions_the_history_declares_decide() {
        let stable = "CREATE FUNCTION app.today() RETURNS date LANGUAGE sql STABLE AS $$ SELECT current_date $$;\n";
        lint_ok(
            &format!("{stable}ALTER TABLE u ADD COLUMN d date DEFAULT app.today();"),
            Rule::AddingColumnWithVolatileDefault,
        );
        let volatile =
            "CREATE FUNCTION today() RETURNS date LANGUAGE sql AS $$ SELECT current_date $$;\n";
        lint_one(
            &format!("{volatile}ALTER TABLE u ADD COLUMN d date DEFAULT today();"),
            Rule::AddingColumnWithVolatileDefault,
        );
        lint_one(
            &format!("{stable}ALTER TABLE u ADD COLUMN d date DEFAULT coalesce(today(), other());"),
            Rule::AddingColumnWithVolatileDefault,
        );
    }
}
