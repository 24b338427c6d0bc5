//! ## What it does
//! Flags a migration statement after which a statement that the running application sends no
//! longer works: it no longer `PREPARE`s (a dropped or renamed column or table, a changed type),
//! or it is an `INSERT` that omits a column that became `NOT NULL` without a default.
//!
//! Found by the backward-compatibility check ([`crate::compat`]), not by reading the file: the
//! application's statements come from `pg_stat_statements` or a `--queries` file, and are
//! prepared against a schema-only copy with the pending migrations applied.
//!
//! ## Why is this bad?
//! During a rolling or blue-green release the previous version keeps running against the new
//! schema; every one of these statements fails for it until it is gone.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";  -- the old version selects "name"
//! ```
//! ## Use instead
//! Expand, then contract: add the new column (or table) now and keep the old one, deploy the
//! new version of the application, and drop or rename in a later migration once the old version
//! has drained (`migrate deploy --stage expand`, then `--stage contract`).

use super::prelude::*;

pub(crate) const NAME: &str = "breaks-running-queries";
pub(crate) const HELP: &str = "Keep what the running version uses until it has drained: \
deploy with --stage expand now and --stage contract after the new version replaced it.";

/// Nothing to see in the file alone: the findings come from [`crate::compat::findings`].
pub(crate) fn check(_: &mut Checker<'_>) {}
