//! ## What it does
//! Flags primary keys of 32-bit integer types (`integer`, `serial`) in new tables.
//!
//! ## Why is this bad?
//! A busy table exhausts 2^31 ids; moving to `bigint` later rewrites the table and every
//! referencing table under `ACCESS EXCLUSIVE`.
//!
//! ## Example
//! ```sql
//! CREATE TABLE "Event" ("id" SERIAL NOT NULL, CONSTRAINT "Event_pkey" PRIMARY KEY ("id"));
//! ```
//! ## Use instead
//! `BIGSERIAL` / `BIGINT GENERATED ALWAYS AS IDENTITY` (Prisma: `BigInt @id @default(autoincrement())`),
//! or UUIDs.

use super::prelude::*;

pub(crate) const NAME: &str = "prefer-bigint-primary-key";
pub(crate) const HELP: &str = "Use bigint (BIGSERIAL or identity) for primary keys.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(Action::CreateTable {
        table,
        columns,
        constraints,
    }) = cx.action
    else {
        return;
    };
    let mut pk: Vec<&str> = columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    for c in constraints {
        if let Constraint::PrimaryKey { columns, .. } = c {
            pk.extend(columns.iter().map(String::as_str));
        }
    }
    let small: Vec<&str> = pk
        .into_iter()
        .filter(|name| {
            columns
                .iter()
                .any(|c| c.name == *name && c.ty.is_small_integer())
        })
        .collect();
    if !small.is_empty() {
        let message = format!(
            "Primary key {table}.{} is a 32-bit integer.",
            small.join(", ")
        );
        cx.report(Rule::PreferBigintPrimaryKey, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_int_primary_keys() {
        lint_one("CREATE TABLE \"E\" (\"id\" SERIAL NOT NULL, CONSTRAINT \"E_pkey\" PRIMARY KEY (\"id\"));", Rule::PreferBigintPrimaryKey);
        lint_one(
            "CREATE TABLE e (id INTEGER PRIMARY KEY);",
            Rule::PreferBigintPrimaryKey,
        );
        lint_ok(
            "CREATE TABLE e (id BIGSERIAL PRIMARY KEY);",
            Rule::PreferBigintPrimaryKey,
        );
        lint_ok(
            "CREATE TABLE e (id TEXT PRIMARY KEY);",
            Rule::PreferBigintPrimaryKey,
        );
    }
}
