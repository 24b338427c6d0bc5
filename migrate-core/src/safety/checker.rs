//! What a rule sees: one action of one statement, the schema model, and facts about the file.

use std::collections::HashSet;

use super::catalog::Catalog;
use super::config::AnalyzerConfig;
use super::finding::Finding;
use super::ir::{Action, Name};
use super::lock::lock_of;
use super::parse::ParsedStatement;
use super::rule::Rule;

/// Facts about the migration file being analysed, up to the current statement.
#[derive(Debug, Default)]
pub(crate) struct FileFacts {
    /// Number of SQL statements in the file.
    pub statements: usize,
    /// Index of the current statement.
    pub index: usize,
    /// A `SET lock_timeout` ran earlier in the file.
    pub lock_timeout_set: bool,
    /// `missing-lock-timeout` already reported for this file.
    pub lock_timeout_reported: bool,
    /// Enum values added earlier in the file (`ALTER TYPE … ADD VALUE`).
    pub enum_values_added: Vec<String>,
    /// Constraints added `NOT VALID` earlier in the file.
    pub not_valid_added: HashSet<String>,
    /// Existing tables that some statement of the file locks `ACCESS EXCLUSIVE`.
    pub exclusively_locked: HashSet<String>,
    /// A `SET statement_timeout` ran earlier in the file.
    pub statement_timeout_set: bool,
    /// `missing-statement-timeout` already reported for this file.
    pub statement_timeout_reported: bool,
    /// A `BEGIN` of the file is open (no `COMMIT` or `ROLLBACK` since).
    pub in_explicit_transaction: bool,
    /// Indexes of the `BEGIN` statements that no later `COMMIT` or `ROLLBACK` of the file closes.
    pub unclosed_begins: HashSet<usize>,
}

/// The context of one rule check.
pub(crate) struct Checker<'a> {
    /// The action checked (`None` for a statement that was not understood).
    pub action: Option<&'a Action>,
    /// The statement.
    pub statement: &'a ParsedStatement,
    /// The whole script.
    pub script: &'a str,
    /// The schema before this statement.
    pub catalog: &'a Catalog,
    /// Facts about the file.
    pub file: &'a mut FileFacts,
    /// Tables created by migrations at or after this index are new: no rows, no readers.
    pub new_from: usize,
    pub(crate) migration: &'a str,
    pub(crate) config: &'a AnalyzerConfig,
    pub(crate) findings: &'a mut Vec<Finding>,
}

impl Checker<'_> {
    /// The statement text.
    pub fn text(&self) -> &str {
        &self.script[self.statement.span.clone()]
    }

    /// True when `table` was created by a migration that is not deployed yet (this one or a
    /// pending one): it holds no data and no application reads it. Unknown tables count as
    /// existing.
    pub fn is_new(&self, table: &Name) -> bool {
        self.catalog
            .table(table)
            .is_some_and(|t| t.created_in >= self.new_from)
    }

    /// True when `table` exists and is not new.
    pub fn is_existing(&self, table: &Name) -> bool {
        !self.is_new(table)
    }

    /// Reports a finding of `rule` on the current statement.
    pub fn report(&mut self, rule: Rule, message: impl Into<String>) {
        if self.config.is_disabled(rule) {
            return;
        }
        let lock = self.action.and_then(lock_of);
        self.findings.push(Finding {
            rule: rule.into(),
            severity: self.config.severity(rule),
            stage: rule.stage(),
            lock,
            table: self.action.and_then(Action::table).map(ToString::to_string),
            migration: self.migration.to_owned(),
            line: self.statement.start.line,
            column: self.statement.start.column,
            span: self.statement.span.clone(),
            message: message.into(),
            help: rule.help().to_owned(),
            data_loss: rule.data_loss(),
            blocks_reads: lock.is_some_and(|l| l.blocks_reads()),
            blocks_writes: lock.is_some_and(|l| l.blocks_writes()),
            facts: Vec::new(),
            approved_by: None,
            action: self.action.cloned(),
        });
    }
}
