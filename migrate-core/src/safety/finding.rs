//! A finding: one rule's verdict on one statement.

use super::lock::LockLevel;
use super::rule::{Rule, Severity, Stage};
use crate::sql::LineCol;

/// What a rule found in a statement, with everything an impact report needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Its severity (configured, then adjusted by live data when data-aware).
    pub severity: Severity,
    /// The statement's deployment stage.
    pub stage: Stage,
    /// The table lock the statement takes, if any.
    pub lock: Option<LockLevel>,
    /// The table concerned, if any.
    pub table: Option<String>,
    /// The migration (directory name).
    pub migration: String,
    /// 1-based line of the statement.
    pub line: usize,
    /// 1-based column of the statement.
    pub column: usize,
    /// Byte span of the statement in `migration.sql`.
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The safe alternative.
    pub help: String,
    /// True when the statement can lose data.
    pub data_loss: bool,
    /// True when the application's reads wait while it runs.
    pub blocks_reads: bool,
    /// True when the application's writes wait while it runs.
    pub blocks_writes: bool,
    /// Live facts from the database (row counts, sizes), when analysed with a database.
    pub facts: Vec<String>,
    /// The approval that covers it, if any.
    pub approved_by: Option<String>,
    /// The action flagged (for data-aware checks).
    #[serde(skip)]
    pub action: Option<super::ir::Action>,
}

impl Finding {
    /// Where it is, `line:column`.
    #[must_use]
    pub fn at(&self) -> LineCol {
        LineCol {
            line: self.line,
            column: self.column,
        }
    }

    /// True when it needs an approval before deploy (an `Error` not yet approved).
    #[must_use]
    pub fn needs_approval(&self) -> bool {
        self.severity == Severity::Error && self.approved_by.is_none()
    }
}
