//! Safety analysis of migrations: what each statement does, which locks it takes, what data it
//! can lose, and whether it needs an explicit approval.
//!
//! The front end splits a script like psql ([`crate::sql::split`]), parses each statement with
//! `sqlparser` and falls back to a token classifier for the rest, producing [`ir::Action`]s. The
//! [`DefaultAnalyzer`] folds the whole history into a [`Catalog`] so that each rule (one file
//! each under `rules/`) knows whether a table is new, what a column's old type was, or whether a
//! validated `CHECK (col IS NOT NULL)` exists.

mod analyzer;
mod approval;
mod catalog;
mod checker;
mod config;
mod data;
mod fallback;
mod finding;
mod gate;
pub mod ir;
mod lock;
mod lower;
mod parse;
pub mod report;
mod rule;
mod rules;
mod timeline;

pub use analyzer::{
    DefaultAnalyzer, MigrationAnalysis, NewTables, SafetyAnalyzer, SafetyReport, Scope,
    StatementImpact,
};
pub use approval::{
    ApprovalError, ApprovalReview, Approvals, FileApproval, RunApproval, APPROVALS_FILE,
};
pub use catalog::{Catalog, ColumnInfo, TableInfo};
pub use config::AnalyzerConfig;
pub use data::enrich;
pub use finding::Finding;
pub use gate::{SafetyError, SafetyGate, SafetyReview};
pub use lock::{lock_of, LockLevel};
pub use parse::{parse_script, ParsedStatement, Via};
pub use rule::{CustomRule, InvalidRuleName, Rule, RuleId, Severity, Stage};
