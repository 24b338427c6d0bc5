//! ## What it does
//! Flags a statement that uses an enum value added by `ALTER TYPE … ADD VALUE` earlier in the
//! same file.
//!
//! ## Why is this bad?
//! PostgreSQL refuses to use a new enum value before the transaction that added it commits
//! ("unsafe use of new value"), and the file is one transaction: the migration fails.
//!
//! ## Example
//! ```sql
//! ALTER TYPE "Status" ADD VALUE 'ARCHIVED';
//! UPDATE "Post" SET "status" = 'ARCHIVED' WHERE "deleted";
//! ```
//! ## Use instead
//! Add the value in one migration and use it in the next.

use super::prelude::*;

pub(crate) const NAME: &str = "enum-value-used-in-same-transaction";
pub(crate) const HELP: &str = "Add the enum value in one migration and use it in the next.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if cx.file.enum_values_added.is_empty()
        || matches!(cx.action, Some(Action::AddEnumValue { .. }))
    {
        return;
    }
    let text = cx.text();
    let used = cx
        .file
        .enum_values_added
        .iter()
        .find(|v| text.contains(&format!("'{}'", v.replace('\'', "''"))))
        .cloned();
    if let Some(value) = used {
        cx.report(
            Rule::EnumValueUsedInSameTransaction,
            format!("Enum value '{value}' is used in the file that adds it: PostgreSQL rejects it until that transaction commits."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_use_of_a_fresh_value() {
        let sql = "ALTER TYPE \"Status\" ADD VALUE 'ARCHIVED';\nUPDATE \"Post\" SET \"status\" = 'ARCHIVED' WHERE \"deleted\";";
        assert_eq!(lint_one(sql, Rule::EnumValueUsedInSameTransaction).line, 2);
        lint_ok(
            "ALTER TYPE \"Status\" ADD VALUE 'ARCHIVED';\nALTER TYPE \"Status\" ADD VALUE 'GONE';",
            Rule::EnumValueUsedInSameTransaction,
        );
    }
}
