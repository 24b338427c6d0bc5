//! ## What it does
//! Flags `DROP TYPE`, `DROP DOMAIN`, `DROP EXTENSION` and `DROP FUNCTION` with `CASCADE`, and
//! `DROP OWNED BY`.
//!
//! ## Why is this bad?
//! `CASCADE` drops every object that depends on the dropped one, and for these objects that
//! includes table columns: a column of the type or domain, of a type the extension provides
//! (`citext`, `vector`, …), or generated from the function goes with it, and its data is lost
//! without any `DROP COLUMN` in the file. `DROP OWNED BY` drops every object the role owns in the
//! database, tables included. Each dropped column takes `ACCESS EXCLUSIVE` on its table.
//!
//! ## Example
//! ```sql
//! DROP TYPE "Role" CASCADE;
//! DROP EXTENSION citext CASCADE;
//! DROP OWNED BY legacy_app;
//! ```
//! ## Use instead
//! Drop or convert the dependent columns first, explicitly (each is then reviewed as a column
//! drop or a type change), and drop the object without `CASCADE`, so PostgreSQL refuses if
//! anything still depends on it. Use `REASSIGN OWNED BY` before `DROP OWNED BY`.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-cascade";
pub(crate) const HELP: &str = "Drop or convert the dependent columns explicitly first, then drop \
the object without CASCADE (REASSIGN OWNED BY before DROP OWNED BY).";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let message = match cx.action {
        Some(Action::DropType {
            names,
            cascade: true,
        })
        | Some(Action::DropObject {
            kind: ObjectKind::Domain,
            names,
            cascade: true,
        }) => {
            let columns: Vec<String> = names
                .iter()
                .flat_map(|n| cx.catalog.columns_of_type(&n.name))
                .collect();
            // An enum the history created and no column of the history uses any more (Prisma's
            // enum-to-text conversion: the columns were altered first): nothing to cascade to.
            let all_known = names
                .iter()
                .all(|n| cx.catalog.enum_values(&n.name).is_some());
            if columns.is_empty() && all_known {
                return;
            }
            let what = names
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if columns.is_empty() {
                format!("CASCADE drops every column of {what} with its data.")
            } else {
                format!(
                    "CASCADE drops every column of {what} with its data: {}.",
                    columns.join(", ")
                )
            }
        }
        Some(Action::DropObject {
            kind: kind @ (ObjectKind::Extension | ObjectKind::Function),
            names,
            cascade: true,
        }) => {
            let what = match kind {
                ObjectKind::Extension => "extension",
                _ => "function",
            };
            let names = names
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "CASCADE drops every object that depends on {what} {names}, table columns \
                 included, with their data."
            )
        }
        Some(Action::DropOwned { roles }) => format!(
            "DROP OWNED BY {} drops every table the role owns, with its data.",
            roles.join(", ")
        ),
        _ => return,
    };
    cx.report(Rule::DropCascade, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_after, lint_ok, lint_one};

    #[test]
    fn flags_a_cascading_drop_of_what_columns_depend_on() {
        for sql in [
            "DROP TYPE \"Role\" CASCADE;",
            "DROP TYPE IF EXISTS \"Role\", \"Kind\" CASCADE;",
            "DROP DOMAIN email CASCADE;",
            "DROP EXTENSION IF EXISTS citext CASCADE;",
            "DROP FUNCTION slugify(text) CASCADE;",
            "DROP OWNED BY legacy_app;",
            "DROP OWNED BY legacy_app CASCADE;",
        ] {
            lint_one(sql, Rule::DropCascade);
        }
        for sql in [
            "DROP TYPE \"Role\";",
            "DROP TYPE \"Role\" RESTRICT;",
            "DROP DOMAIN email;",
            "DROP EXTENSION citext;",
            "DROP FUNCTION slugify(text);",
            "DROP VIEW v CASCADE;",
            "REASSIGN OWNED BY legacy_app TO app;",
        ] {
            lint_ok(sql, Rule::DropCascade);
        }
    }

    #[test]
    fn names_the_columns_the_history_gave_the_type() {
        let history = "CREATE TYPE \"Role\" AS ENUM ('A', 'B');\n\
                       CREATE TABLE \"User\" (id int PRIMARY KEY, role \"Role\" NOT NULL);\n\
                       CREATE TABLE \"Team\" (id int PRIMARY KEY, roles \"Role\"[]);\n";
        let found = lint_after(history, "DROP TYPE \"Role\" CASCADE;", Rule::DropCascade);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .message
                .ends_with("with its data: \"Team\".\"roles\", \"User\".\"role\"."),
            "{}",
            found[0].message
        );
    }

    /// ghostfolio's 20210921151004: the columns are altered to TEXT first, then the enum is
    /// dropped with CASCADE, which then drops nothing.
    #[test]
    fn an_enum_no_column_uses_any_more_cascades_to_nothing() {
        let history = "CREATE TYPE \"Currency\" AS ENUM ('EUR', 'USD');\n\
                       CREATE TABLE \"Account\" (id int PRIMARY KEY, currency \"Currency\");\n";
        let change = "ALTER TABLE \"Account\" ALTER COLUMN \"currency\" TYPE TEXT;\n\
                      DROP TYPE \"Currency\" CASCADE;\n";
        assert!(lint_after(history, change, Rule::DropCascade).is_empty());
        let kept = "DROP TYPE \"Currency\" CASCADE;\n";
        assert_eq!(lint_after(history, kept, Rule::DropCascade).len(), 1);
    }
}
