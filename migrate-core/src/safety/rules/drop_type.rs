//! ## What it does
//! Flags `DROP TYPE`.
//!
//! ## Why is this bad?
//! Columns of that type block the drop (or are dropped with `CASCADE`, losing their data).
//! Prisma drops the old enum after an enum rebuild, which is fine once no column uses it.
//!
//! ## Example
//! ```sql
//! DROP TYPE "Role";
//! ```
//! ## Use instead
//! Make sure no column, function or view uses the type; never use `CASCADE`.

use super::prelude::*;

pub(crate) const NAME: &str = "drop-type";
pub(crate) const HELP: &str = "Make sure no column uses the type any more, and never drop it with \
CASCADE.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    if let Some(Action::DropType { names, .. }) = cx.action {
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        cx.report(
            Rule::DropType,
            format!(
                "Dropping type {} fails or cascades if columns use it.",
                names.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_drop_type() {
        lint_one("DROP TYPE \"Role\";", Rule::DropType);
        lint_ok("CREATE TYPE \"Role\" AS ENUM ('A');", Rule::DropType);
    }
}
