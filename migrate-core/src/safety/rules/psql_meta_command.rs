//! ## What it does
//! Flags psql meta-commands (`\i`, `\set`, `\connect`…) in a migration file.
//!
//! ## Why is this bad?
//! They are commands of the psql client, not SQL: the server rejects the file with a syntax
//! error.
//!
//! ## Example
//! ```sql
//! \set ON_ERROR_STOP on
//! ```
//! ## Use instead
//! Remove them; inline the SQL an `\i` would include.

use super::prelude::*;
use crate::safety::Via;

pub(crate) const NAME: &str = "psql-meta-command";
pub(crate) const HELP: &str = "Remove psql meta-commands; inline included SQL.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if cx.statement.via == Via::MetaCommand {
        let text = cx.text().to_owned();
        cx.report(
            Rule::PsqlMetaCommand,
            format!("`{text}` is a psql command: the server rejects it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_meta_commands() {
        assert_eq!(
            lint_one("SELECT 1;\n\\set x 1\n", Rule::PsqlMetaCommand).line,
            2
        );
        lint_ok("SELECT '\\set';", Rule::PsqlMetaCommand);
    }
}
