//! ## What it does
//! Flags `EXECUTE` inside a `DO` block: SQL built as a string at run time.
//!
//! ## Why is this bad?
//! What it runs, which locks it takes and what it deletes are known only when it runs, so no
//! rule can see it (`EXECUTE 'TRUNCATE "Post"'` empties a table). The static SQL of the same
//! block is analysed like any other statement, with its position inside the block.
//!
//! ## Example
//! ```sql
//! DO $$ BEGIN EXECUTE 'TRUNCATE "Post"'; END $$;
//! ```
//! ## Use instead
//! Write the statements out in the migration, so that they are analysed; otherwise review the
//! string by hand. `migrate deploy` takes a full backup before it runs.

use super::prelude::*;

pub(crate) const NAME: &str = "dynamic-sql";
pub(crate) const HELP: &str = "Write the statements out so they can be analysed, or review the \
dynamic SQL by hand; a full backup is taken before deploying.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DynamicSql) = cx.action {
        cx.report(
            Rule::DynamicSql,
            "EXECUTE runs SQL built at run time: it cannot be analysed; a full backup is taken \
             before deploying.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint, lint_ok, lint_one};

    #[test]
    fn flags_execute_in_do_blocks_and_analyses_their_static_sql() {
        let f = lint_one(
            "CREATE TABLE \"Post\" (id int);\nSELECT 1;\nDO $$ BEGIN\n  EXECUTE 'TRUNCATE \"Post\"';\nEND $$;",
            Rule::DynamicSql,
        );
        assert_eq!(f.line, 4, "the EXECUTE's own line");
        lint_ok("DO $$ BEGIN PERFORM 1; END $$;", Rule::DynamicSql);
        let deletes = lint(
            "DO $$ BEGIN\n  IF true THEN\n    DELETE FROM \"Post\";\n  END IF;\nEND $$;",
            Rule::DeleteWithoutWhere,
        );
        assert_eq!(deletes.len(), 1, "static SQL inside the block is analysed");
        assert_eq!((deletes[0].line, deletes[0].column), (3, 5));
    }

    #[test]
    fn functions_the_migration_creates_and_calls_are_analysed() {
        let sql = "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $fn$\nBEGIN\n  \
                   DELETE FROM \"Post\";\n  EXECUTE 'DROP TABLE ' || 'x';\nEND\n$fn$;\n\
                   SELECT purge();\n";
        let deletes = lint(sql, Rule::DeleteWithoutWhere);
        assert_eq!(
            deletes.len(),
            1,
            "the body of a called function is analysed"
        );
        assert_eq!((deletes[0].line, deletes[0].column), (3, 3));
        assert_eq!(lint_one(sql, Rule::DynamicSql).line, 4);
        // Created but never called in the migration: nothing of its body runs now.
        lint_ok(
            "CREATE OR REPLACE FUNCTION \"purge\"() RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN DELETE FROM \"Post\"; END $$;",
            Rule::DeleteWithoutWhere,
        );
    }

    #[test]
    fn comments_do_not_hide_statements_and_execute_in_loops_is_dynamic() {
        let sql = "DO $$ BEGIN\n  -- don't keep old rows\n  DELETE FROM \"Post\";\n  \
                   FOR r IN EXECUTE 'SELECT 1' LOOP NULL; END LOOP;\nEND $$;";
        let deletes = lint(sql, Rule::DeleteWithoutWhere);
        assert_eq!(
            deletes.len(),
            1,
            "an apostrophe in a comment opens no string"
        );
        assert_eq!(deletes[0].line, 3);
        assert_eq!(lint_one(sql, Rule::DynamicSql).line, 4);
    }
}
