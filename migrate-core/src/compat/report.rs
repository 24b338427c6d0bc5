//! What the backward-compatibility check found.

use std::time::Duration;

use super::capture::Capture;

/// How a statement breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// It no longer prepares (a missing column, table, function or type, an operator that no
    /// longer applies).
    Prepare,
    /// An `INSERT` omits a column that became `NOT NULL` without a default: it prepares, and
    /// fails on every execution.
    MissingRequiredColumn,
}

/// A running statement that a migration breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// The application's statement, normalized and trimmed for display.
    pub statement: String,
    /// The whole statement, as collected.
    #[serde(skip)]
    pub full_statement: String,
    /// The error, e.g. `column "legacy" does not exist`.
    pub error: String,
    /// How it breaks.
    pub kind: BreakKind,
    /// Times it ran, when known.
    pub calls: Option<i64>,
    /// Its `pg_stat_statements` query ids (for the drain check).
    #[serde(skip)]
    pub queryids: Vec<i64>,
    /// The migration responsible.
    pub migration: String,
    /// 1-based line of the migration's statement responsible.
    pub line: usize,
    /// 1-based column of that statement.
    pub column: usize,
    /// Byte span of that statement in `migration.sql`.
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
    /// That statement, trimmed for display.
    pub responsible: String,
}

/// One pending migration, as the check judged it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationVerdict {
    /// The migration.
    pub migration: String,
    /// Checked against every statement (not past the budget, applied on the copy).
    pub checked: bool,
    /// Statements it breaks.
    pub breaks: usize,
    /// 1-based lines of its SQL statements that break nothing (for the split of a mixed file).
    #[serde(skip)]
    pub compatible_lines: Vec<usize>,
    /// Its SQL statements: (line, byte span).
    #[serde(skip)]
    pub statements: Vec<(usize, std::ops::Range<usize>)>,
    /// Applying it on the copy failed: the error (later migrations are then not checked).
    pub apply_error: Option<String>,
}

/// The result of [`check`](super::check).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct CompatReport {
    /// True when the check ran (statements were collected and a copy was made).
    pub ran: bool,
    /// Why it did not run, when it did not.
    pub not_run_because: Option<String>,
    /// What was collected and what was left out.
    pub capture: Capture,
    /// Statements that did not prepare even before the pending migrations (already broken, or
    /// needing objects the copy lacks): not blamed on a migration.
    pub failing_before: Vec<(String, String)>,
    /// Statements that a pending migration breaks, in migration order.
    pub breaks: Vec<Break>,
    /// The pending migrations, in order.
    pub migrations: Vec<MigrationVerdict>,
    /// Statements left unchecked against some migration because the time budget ran out or a
    /// migration failed on the copy. Never silently skipped: counted here, said in reports.
    pub unchecked: usize,
    /// Statements of the schema dump the copy could not replay (e.g. an extension not
    /// installed here), each with its error.
    pub copy_warnings: Vec<String>,
    /// Time the whole check took.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Time spent taking and loading the schema-only copy (cluster start included).
    #[serde(serialize_with = "crate::event::millis", rename = "copy_ms")]
    pub copy_duration: Duration,
    /// Number of `PREPARE`s sent to the copy.
    pub prepares: usize,
}

impl CompatReport {
    /// A report of a check that did not run, and why.
    pub fn not_run(capture: Capture, why: impl Into<String>) -> Self {
        Self {
            not_run_because: Some(why.into()),
            capture,
            ..Self::default()
        }
    }

    /// The first pending migration that breaks a running statement, if any.
    #[must_use]
    pub fn first_breaking(&self) -> Option<&str> {
        self.migrations
            .iter()
            .find(|m| m.breaks > 0)
            .map(|m| m.migration.as_str())
    }

    /// The breaks of `migration`.
    pub fn breaks_of<'a>(&'a self, migration: &'a str) -> impl Iterator<Item = &'a Break> + 'a {
        self.breaks.iter().filter(move |b| b.migration == migration)
    }

    /// One line for people: what was checked and what was found.
    #[must_use]
    pub fn summary(&self) -> String {
        if let Some(why) = &self.not_run_because {
            return format!("backward-compatibility check not run: {why}");
        }
        let mut line = format!(
            "backward-compatibility check: {} running statement(s) from {} against {} pending \
             migration(s) in {}: {} break(s)",
            self.capture.statements.len(),
            self.capture.sources.join(" and "),
            self.migrations.len(),
            crate::event::human_duration(self.duration),
            self.breaks.len()
        );
        if self.unchecked > 0 {
            line.push_str(&format!(
                ", {} statement(s) NOT checked against every migration (time budget or a \
                 migration that failed on the copy)",
                self.unchecked
            ));
        }
        if !self.failing_before.is_empty() {
            line.push_str(&format!(
                ", {} already failing before the migrations",
                self.failing_before.len()
            ));
        }
        let ignored = self.capture.ignored_engine + self.capture.ignored_utility;
        if ignored > 0 {
            line.push_str(&format!(
                ", {ignored} ignored (the engine's own or not preparable)"
            ));
        }
        line
    }
}

/// `text` on one line, at most `max` characters, with `…` when cut.
pub(crate) fn trimmed(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
