//! The comment that marks the engine's own queries on the application's tables.

/// Put in front of the engine's own reads of application tables (row counts of the data-aware
/// checks, the verification and the backup manifest). `pg_stat_statements` keeps the first text
/// of each statement, comment included, so the backward-compatibility check
/// ([`crate::compat`]) can tell these from the application's statements and ignore them.
pub const ENGINE_MARKER: &str = "/* migrate:engine */ ";
