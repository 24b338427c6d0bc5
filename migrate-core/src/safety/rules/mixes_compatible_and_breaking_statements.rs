//! ## What it does
//! Flags a migration file in which some statements break the running application's statements
//! and others do not (found by the backward-compatibility check, [`crate::compat`]).
//!
//! ## Why is this bad?
//! The expand stage applies whole files in order: such a file blocks its compatible part until
//! the contract stage. Prisma's ledger records one row per file, so the split has to be made in
//! the files.
//!
//! ## Example
//! ```sql
//! ALTER TABLE "User" ADD COLUMN "fullName" TEXT;   -- compatible
//! ALTER TABLE "User" DROP COLUMN "name";           -- breaks the old version
//! ```
//! ## Use instead
//! Two files: the compatible statements in this migration, the breaking ones in a migration
//! that sorts after it (the finding names the lines of each).

use super::prelude::*;

pub(crate) const NAME: &str = "mixes-compatible-and-breaking-statements";
pub(crate) const HELP: &str = "Split the file: compatible statements now (expand), breaking ones \
in a later migration (contract).";

/// Nothing to see in the file alone: the findings come from [`crate::compat::findings`].
pub(crate) fn check(_: &mut Checker<'_>) {}
