//! Backward compatibility with the running application: does the previous version's SQL still
//! work once the pending migrations are applied?
//!
//! During a rolling or blue-green release the old version of the application keeps running
//! against the new schema. [`check`] collects the statements it sends (`pg_stat_statements` on
//! the target, a `--queries` file, or both), applies the pending migrations to a schema-only
//! copy in an [`EmbeddedCluster`](crate::embedded::EmbeddedCluster), and `PREPARE`s every
//! statement after each migration: whatever no longer parses or resolves (a dropped or renamed
//! column or table, a changed type) is a [`Break`], as is an `INSERT` that omits a column that
//! became `NOT NULL` without a default (which `PREPARE` cannot see; found in the catalog).
//! Nothing runs on the target database but reads of `pg_stat_statements`.
//!
//! The breaks become `breaks-running-queries` findings of the safety gate ([`findings`]), and
//! drive the expand/contract stages of a deployment ([`ReleaseStage`]): expand applies the
//! migrations that break nothing, contract applies the rest once the old version has drained
//! ([`observe_drain`]).

mod capture;
mod check;
mod copy;
mod drain;
mod error;
mod findings;
mod options;
mod report;

pub use capture::{
    collect, parse_queries, read_queries_file, Capture, CapturedStatement, Origin,
    ENGINE_STATEMENT_MARKERS,
};
pub use check::check;
pub use drain::{observe_drain, DrainEvidence, OldSession, StillCalled};
pub use error::CompatError;
pub use findings::{expand_cut, findings};
pub use options::{CompatOptions, ReleaseStage};
pub use report::{Break, BreakKind, CompatReport, MigrationVerdict};
