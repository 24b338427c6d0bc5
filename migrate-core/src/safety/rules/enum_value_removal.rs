//! ## What it does
//! Flags changing a column to an enum that lacks values of its current enum: Prisma's enum
//! rebuild (`CREATE TYPE "X_new"`, `ALTER COLUMN … TYPE "X_new" USING …`, `DROP TYPE "X"`).
//!
//! ## Why is this bad?
//! Rows holding a removed value make the cast fail (the migration fails), or, with a `USING`
//! expression that maps them, lose their value. The column change rewrites the table under
//! `ACCESS EXCLUSIVE`. Prisma warns "The values [...] on the enum will be removed".
//!
//! ## Example
//! ```sql
//! CREATE TYPE "Role_new" AS ENUM ('USER', 'ADMIN');
//! ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
//! ```
//! ## Use instead
//! Migrate the rows off the removed values first (`UPDATE … WHERE role = 'GUEST'`), in an
//! earlier deployment.

use super::prelude::*;

pub(crate) const NAME: &str = "enum-value-removal";
pub(crate) const HELP: &str = "Move rows off the removed values in an earlier deployment, then \
rebuild the enum.";

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
    let Some(old) = cx.catalog.table(table).and_then(|t| t.column(column)) else {
        return;
    };
    let (Some(old_values), Some(new_values)) = (
        cx.catalog.enum_values(&old.ty.base),
        cx.catalog.enum_values(&to.base),
    ) else {
        return;
    };
    let removed: Vec<&String> = old_values
        .iter()
        .filter(|v| !new_values.contains(v))
        .collect();
    if !removed.is_empty() {
        let list: Vec<String> = removed.iter().map(|v| format!("'{v}'")).collect();
        cx.report(
            Rule::EnumValueRemoval,
            format!(
                "Values [{}] of enum {} are removed from {table}.{column}: rows holding them make the cast fail.",
                list.join(", "),
                old.ty.base
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::lint_after;

    const HISTORY: &str = "CREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN', 'GUEST');\n\
                           CREATE TABLE \"User\" (\"role\" \"Role\" NOT NULL);";

    #[test]
    fn flags_prisma_enum_rebuild_that_removes_values() {
        let sql = "CREATE TYPE \"Role_new\" AS ENUM ('USER', 'ADMIN');\n\
                   ALTER TABLE \"User\" ALTER COLUMN \"role\" TYPE \"Role_new\" USING (\"role\"::text::\"Role_new\");\n\
                   DROP TYPE \"Role\";\nALTER TYPE \"Role_new\" RENAME TO \"Role\";";
        let f = lint_after(HISTORY, sql, Rule::EnumValueRemoval);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("'GUEST'") && f[0].line == 2);
        assert!(
            lint_after(HISTORY, sql, Rule::ChangingColumnType).is_empty(),
            "not reported twice"
        );
    }

    #[test]
    fn rebuild_that_keeps_every_value_is_not_a_removal() {
        let sql = "CREATE TYPE \"Role_new\" AS ENUM ('GUEST', 'USER', 'ADMIN', 'OWNER');\n\
                   ALTER TABLE \"User\" ALTER COLUMN \"role\" TYPE \"Role_new\" USING (\"role\"::text::\"Role_new\");";
        assert!(lint_after(HISTORY, sql, Rule::EnumValueRemoval).is_empty());
    }
}
