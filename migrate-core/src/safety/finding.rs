//! A finding: one rule's verdict on one statement.

use super::lock::LockLevel;
use super::parse::ParsedStatement;
use super::rule::{CustomRule, RuleId, Severity, Stage};
use crate::sql::LineCol;

/// What a rule found in a statement, with everything an impact report needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule: a built-in one, or a custom analyzer's.
    pub rule: RuleId,
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
    /// A finding of a custom rule, for a custom [`SafetyAnalyzer`] to push into
    /// [`MigrationAnalysis::findings`]: at `line`:`column` (1-based; 0 counts as 1) of
    /// `migration`'s `migration.sql`, with the rule's severity and help.
    ///
    /// The rest is neutral, and its fields are public to adjust: stage 1 (additive), no lock,
    /// no table, no data loss, an empty span (renderers then show the whole line), no facts, no
    /// approval, no action. Data-aware checks ([`crate::safety::enrich`]) judge built-in
    /// findings only: a custom finding keeps its severity.
    ///
    /// [`SafetyAnalyzer`]: crate::safety::SafetyAnalyzer
    /// [`MigrationAnalysis::findings`]: crate::safety::MigrationAnalysis::findings
    #[must_use]
    pub fn custom(
        rule: &CustomRule,
        migration: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule: RuleId::Custom(rule.clone()),
            severity: rule.severity(),
            stage: Stage::Additive,
            lock: None,
            table: None,
            migration: migration.into(),
            line: line.max(1),
            column: column.max(1),
            span: 0..0,
            message: message.into(),
            help: rule.help().to_owned(),
            data_loss: false,
            blocks_reads: false,
            blocks_writes: false,
            facts: Vec::new(),
            approved_by: None,
            action: None,
        }
    }

    /// A finding of a custom rule on `statement` (from [`crate::safety::parse_script`] of the
    /// migration's script): [`Finding::custom`] at the statement's start (where an in-SQL
    /// approval directive above the statement applies), with its span.
    #[must_use]
    pub fn custom_on(
        rule: &CustomRule,
        migration: impl Into<String>,
        statement: &ParsedStatement,
        message: impl Into<String>,
    ) -> Self {
        Self {
            span: statement.span.clone(),
            ..Self::custom(
                rule,
                migration,
                statement.start.line,
                statement.start.column,
                message,
            )
        }
    }

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
