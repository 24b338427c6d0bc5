//! ## What it does
//! Flags `ALTER COLUMN … TYPE` on an existing table, unless the change is known to be free.
//!
//! ## Why is this bad?
//! Most type changes rewrite the whole table and its indexes under `ACCESS EXCLUSIVE` (reads and
//! writes wait for the whole rewrite), and the cast can fail on existing data or lose precision.
//! `integer` → `bigint` rewrites. Free (catalog-only) changes: `varchar(n)` → `text`,
//! `varchar(n)` → `varchar(m)` with `m ≥ n`, `numeric(p,s)` → `numeric(q,s)` with `q ≥ p`, and
//! removing a length limit. The old type comes from the migration history.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "Order" ALTER COLUMN "id" SET DATA TYPE BIGINT;
//! ```
//! ## Use instead
//! Add a new column of the new type, backfill it in batches, switch the application, then drop
//! the old column.

use super::prelude::*;
use crate::safety::ir::TypeName;

pub(crate) const NAME: &str = "changing-column-type";
pub(crate) const HELP: &str = "Add a column of the new type, backfill it in batches, switch the \
application, then drop the old column.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(Action::AlterColumnType {
        table, column, to, ..
    }) = cx.action
    else {
        return;
    };
    if !cx.is_existing(table) {
        return;
    }
    let old = cx
        .catalog
        .table(table)
        .and_then(|t| t.column(column))
        .map(|c| c.ty.clone());
    if let Some(old) = &old {
        if is_free(old, to) || enum_rebuild_removing_values(cx, old, to) {
            return;
        }
    }
    let from = old.map_or_else(|| "its current type".to_owned(), |t| t.to_string());
    cx.report(
        Rule::ChangingColumnType,
        format!("Changing {table}.{column} from {from} to {to} rewrites the table under ACCESS EXCLUSIVE, and the cast can fail."),
    );
}

/// Changes PostgreSQL makes in the catalog only, without a rewrite or a risk for the data.
fn is_free(old: &TypeName, new: &TypeName) -> bool {
    if old == new {
        return true;
    }
    if old.array != new.array {
        return false;
    }
    let limit = |t: &TypeName| t.modifiers.first().copied();
    match (old.base.as_str(), new.base.as_str()) {
        ("character varying", "text") | ("text", "text") => true,
        ("character varying", "character varying") => match (limit(old), limit(new)) {
            (_, None) => true,
            (Some(a), Some(b)) => b >= a,
            (None, Some(_)) => false,
        },
        ("numeric", "numeric") => match (old.modifiers.as_slice(), new.modifiers.as_slice()) {
            (_, []) => true,
            ([p, s], [q, t]) => q >= p && s == t,
            _ => false,
        },
        _ => false,
    }
}

/// Enum-to-enum changes that drop values are reported by `enum-value-removal` instead.
fn enum_rebuild_removing_values(cx: &Checker<'_>, old: &TypeName, new: &TypeName) -> bool {
    match (
        cx.catalog.enum_values(&old.base),
        cx.catalog.enum_values(&new.base),
    ) {
        (Some(old), Some(new)) => old.iter().any(|v| !new.contains(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_after, lint_one};

    const HISTORY: &str = "CREATE TABLE t (a VARCHAR(10), n INTEGER, d DECIMAL(10,2));";

    #[test]
    fn widening_is_free() {
        for sql in [
            "ALTER TABLE t ALTER COLUMN a TYPE TEXT;",
            "ALTER TABLE t ALTER COLUMN a TYPE VARCHAR(20);",
            "ALTER TABLE t ALTER COLUMN d TYPE DECIMAL(12,2);",
        ] {
            assert!(
                lint_after(HISTORY, sql, Rule::ChangingColumnType).is_empty(),
                "{sql}"
            );
        }
    }

    #[test]
    fn narrowing_and_int_to_bigint_are_flagged_with_the_old_type() {
        let f = lint_after(
            HISTORY,
            "ALTER TABLE t ALTER COLUMN n SET DATA TYPE BIGINT;",
            Rule::ChangingColumnType,
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("from integer to bigint") && f[0].blocks_reads,
            "{}",
            f[0].message
        );
        let f = lint_after(
            HISTORY,
            "ALTER TABLE t ALTER COLUMN a TYPE VARCHAR(5);",
            Rule::ChangingColumnType,
        );
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn unknown_tables_count_as_existing() {
        let f = lint_one(
            "ALTER TABLE x ALTER COLUMN y TYPE text;",
            Rule::ChangingColumnType,
        );
        assert!(f.message.contains("its current type"));
    }
}
