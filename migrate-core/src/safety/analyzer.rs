//! The `SafetyAnalyzer` trait and the default analyzer.

use std::collections::HashSet;

use super::catalog::Catalog;
use super::checker::{Checker, FileFacts};
use super::config::AnalyzerConfig;
use super::finding::Finding;
use super::ir::{Action, TransactionControl};
use super::lock::{lock_of, LockLevel};
use super::parse::{parse_script, ParsedStatement, Via};
use super::rule::{Rule, Severity, Stage};
use crate::source::Migrations;

/// Which migrations to analyse, and which tables count as new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The migrations to analyse; `None` for all. Others are folded into the schema model only.
    pub targets: Option<HashSet<String>>,
    /// How "new table" is decided.
    pub new_tables: NewTables,
    /// The migrations already applied by an interrupted deployment that this one continues
    /// (its process died), in order. They are not analysed again. With a live database, what
    /// they created counts as created by this deployment while it holds no row, as when they
    /// were reviewed; offline, it is an existing table like any other.
    pub continuing: Vec<String>,
}

/// When a table counts as new (no rows, no readers: locks and rewrites on it are harmless).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewTables {
    /// Created by the same migration (each migration judged as if it were the only one pending).
    #[default]
    SameMigration,
    /// Created by any analysed migration up to this one (they are all pending together).
    SinceFirstTarget,
}

impl Scope {
    /// Every migration, each judged on its own.
    #[must_use]
    pub fn all() -> Self {
        Self::default()
    }

    /// The pending migrations of a deployment, judged together.
    #[must_use]
    pub fn pending(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            targets: Some(names.into_iter().collect()),
            new_tables: NewTables::SinceFirstTarget,
            continuing: Vec::new(),
        }
    }

    /// The same scope, continuing the interrupted deployment that applied `applied`.
    #[must_use]
    pub fn continuing(mut self, applied: Vec<String>) -> Self {
        self.continuing = applied;
        self
    }
}

/// One statement as the impact report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementImpact {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// How it was understood.
    pub via: Via,
    /// What it does (`ALTER TABLE … DROP COLUMN` …), one entry per action.
    pub actions: Vec<String>,
    /// Its deployment stage: the latest stage of its findings, else 1 (additive).
    pub stage: Stage,
    /// The strongest table lock it takes.
    pub lock: Option<LockLevel>,
    /// The table of that lock.
    pub table: Option<String>,
}

/// The analysis of one migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationAnalysis {
    /// The migration name.
    pub migration: String,
    /// Its checksum (approvals bind to it).
    pub checksum: String,
    /// Its statements.
    pub statements: Vec<StatementImpact>,
    /// What the rules found.
    pub findings: Vec<Finding>,
}

/// The analysis of a set of migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct SafetyReport {
    /// One entry per analysed migration, in order.
    pub migrations: Vec<MigrationAnalysis>,
}

impl SafetyReport {
    /// All findings.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.migrations.iter().flat_map(|m| &m.findings)
    }

    /// Number of statements analysed.
    #[must_use]
    pub fn statement_count(&self) -> usize {
        self.migrations.iter().map(|m| m.statements.len()).sum()
    }

    /// Number of statements neither parser understood.
    #[must_use]
    pub fn unrecognized_count(&self) -> usize {
        self.migrations
            .iter()
            .flat_map(|m| &m.statements)
            .filter(|s| matches!(s.via, Via::NotUnderstood))
            .count()
    }

    /// The highest severity found.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings().map(|f| f.severity).max()
    }

    /// Findings that block deploy until approved.
    pub fn needing_approval(&self) -> impl Iterator<Item = &Finding> {
        self.findings().filter(|f| f.needs_approval())
    }
}

/// Analyses migrations for destructive operations and dangerous locks.
///
/// The default is [`DefaultAnalyzer`]; implement this trait to add an organisation's own rules
/// or to wrap the default one: a [`CustomRule`]'s findings ([`Finding::custom`]) are rendered
/// and approved like built-in ones.
///
/// Analyzers are shared across threads (a deployment holds one as `Box<dyn SafetyAnalyzer>`),
/// hence `Send + Sync`.
///
/// [`CustomRule`]: crate::safety::CustomRule
pub trait SafetyAnalyzer: Send + Sync + std::fmt::Debug {
    /// Analyses the migrations of `scope`, in order, with the schema built from the others.
    fn analyze(&self, migrations: &Migrations, scope: &Scope) -> SafetyReport;
}

/// The built-in rules (see [`Rule`]) over a schema model folded from the whole history.
#[derive(Debug, Clone, Default)]
pub struct DefaultAnalyzer {
    config: AnalyzerConfig,
}

impl DefaultAnalyzer {
    /// An analyzer with `config`.
    #[must_use]
    pub fn new(config: AnalyzerConfig) -> Self {
        Self { config }
    }

    /// Analyses one script on its own (no history): for editors, tests and fuzzing.
    pub fn analyze_sql(&self, name: &str, sql: &str) -> MigrationAnalysis {
        let mut catalog = Catalog::default();
        let file = File {
            name,
            checksum: "",
            script: sql,
            statements: &parse_script(sql),
        };
        self.analyze_one(&file, &mut catalog, 0, 0)
    }

    fn analyze_one(
        &self,
        file_in: &File<'_>,
        catalog: &mut Catalog,
        index: usize,
        new_from: usize,
    ) -> MigrationAnalysis {
        let File {
            name,
            checksum,
            script,
            statements,
        } = *file_in;
        let mut file = FileFacts {
            statements: statements
                .iter()
                .filter(|s| s.via != Via::MetaCommand)
                .count(),
            exclusively_locked: exclusively_locked(statements, catalog, new_from),
            unclosed_begins: unclosed_begins(statements),
            ..FileFacts::default()
        };
        let mut findings = Vec::new();
        let mut impacts = Vec::with_capacity(statements.len());
        for (i, statement) in statements.iter().enumerate() {
            file.index = i;
            let before = findings.len();
            let actions: Vec<Option<&Action>> = if statement.actions.is_empty() {
                vec![None]
            } else {
                statement.actions.iter().map(Some).collect()
            };
            for action in actions {
                for rule in Rule::ALL {
                    let mut cx = Checker {
                        action,
                        statement,
                        script,
                        catalog,
                        file: &mut file,
                        new_from,
                        migration: name,
                        config: &self.config,
                        findings: &mut findings,
                    };
                    rule.check(&mut cx);
                }
                if let Some(action) = action {
                    remember(&mut file, action);
                    catalog.apply(action, index);
                }
            }
            impacts.push(impact(statement, &findings[before..]));
        }
        MigrationAnalysis {
            migration: name.to_owned(),
            checksum: checksum.to_owned(),
            statements: impacts,
            findings,
        }
    }
}

/// One migration file, parsed.
#[derive(Clone, Copy)]
struct File<'a> {
    name: &'a str,
    checksum: &'a str,
    script: &'a str,
    statements: &'a [ParsedStatement],
}

impl SafetyAnalyzer for DefaultAnalyzer {
    fn analyze(&self, migrations: &Migrations, scope: &Scope) -> SafetyReport {
        let mut catalog = Catalog::default();
        let mut report = SafetyReport::default();
        let mut first_target = None;
        // Parsing is most of the work and each file parses on its own: in parallel, then the
        // schema model folds the files in order.
        let all: Vec<_> = migrations.iter().collect();
        let parsed: Vec<Option<Vec<ParsedStatement>>> = {
            use rayon::prelude::*;
            all.par_iter()
                .map(|m| m.script().map(|s| parse_script(s.sql())))
                .collect()
        };
        for (index, (migration, statements)) in all.iter().zip(parsed).enumerate() {
            let (Some(script), Some(statements)) = (migration.script(), statements) else {
                continue;
            };
            let target = scope
                .targets
                .as_ref()
                .is_none_or(|t| t.contains(migration.name()));
            if !target {
                for statement in &statements {
                    for action in &statement.actions {
                        catalog.apply(action, index);
                    }
                }
                continue;
            }
            let first = *first_target.get_or_insert(index);
            let new_from = match scope.new_tables {
                NewTables::SameMigration => index,
                NewTables::SinceFirstTarget => first,
            };
            let file = File {
                name: migration.name(),
                checksum: script.checksum(),
                script: script.sql(),
                statements: &statements,
            };
            report
                .migrations
                .push(self.analyze_one(&file, &mut catalog, index, new_from));
        }
        report
    }
}

/// Updates the file facts after a statement's action ran.
fn remember(file: &mut FileFacts, action: &Action) {
    match action {
        Action::Set { name, .. } if name == "lock_timeout" => file.lock_timeout_set = true,
        Action::Set { name, .. } if name == "statement_timeout" => {
            file.statement_timeout_set = true;
        }
        Action::Transaction { control } => match control {
            TransactionControl::Begin => file.in_explicit_transaction = true,
            TransactionControl::Commit | TransactionControl::Rollback => {
                file.in_explicit_transaction = false;
            }
            TransactionControl::Other => {}
        },
        Action::AddEnumValue { value, .. } => file.enum_values_added.push(value.clone()),
        Action::AddConstraint {
            constraint,
            not_valid: true,
            ..
        } => {
            if let Some(name) = constraint.name() {
                file.not_valid_added.insert(name.to_owned());
            }
        }
        _ => {}
    }
}

/// The statements that open a transaction (`BEGIN`) which no later statement of the file closes.
fn unclosed_begins(statements: &[ParsedStatement]) -> HashSet<usize> {
    let mut open = None;
    for (i, statement) in statements.iter().enumerate() {
        for action in &statement.actions {
            match action {
                Action::Transaction {
                    control: TransactionControl::Begin,
                } => open = open.or(Some(i)),
                Action::Transaction {
                    control: TransactionControl::Commit | TransactionControl::Rollback,
                } => open = None,
                _ => {}
            }
        }
    }
    open.into_iter().collect()
}

/// Existing tables locked `ACCESS EXCLUSIVE` anywhere in the file.
fn exclusively_locked(
    statements: &[ParsedStatement],
    catalog: &Catalog,
    new_from: usize,
) -> HashSet<String> {
    statements
        .iter()
        .flat_map(|s| &s.actions)
        .filter(|a| lock_of(a) == Some(LockLevel::AccessExclusive))
        .filter_map(Action::table)
        .filter(|t| {
            catalog
                .table(t)
                .is_none_or(|info| info.created_in < new_from)
        })
        .map(|t| t.name.clone())
        .collect()
}

fn impact(statement: &ParsedStatement, findings: &[Finding]) -> StatementImpact {
    let strongest = statement
        .actions
        .iter()
        .filter_map(|a| lock_of(a).map(|l| (l, a.table())))
        .max_by_key(|(l, _)| *l);
    StatementImpact {
        line: statement.start.line,
        column: statement.start.column,
        via: statement.via,
        actions: statement.actions.iter().map(describe).collect(),
        stage: findings
            .iter()
            .map(|f| f.stage)
            .max()
            .unwrap_or(Stage::Additive),
        lock: strongest.map(|(l, _)| l),
        table: strongest.and_then(|(_, t)| t.map(ToString::to_string)),
    }
}

/// A short description of an action, e.g. `drop_column "User"."age"`.
fn describe(action: &Action) -> String {
    let json = serde_json::to_value(action).unwrap_or_default();
    let kind = json["action"].as_str().unwrap_or("other").to_owned();
    match action.table() {
        Some(t) => format!("{kind} {t}"),
        None => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn analysis_never_panics_and_findings_point_into_the_file(
            sql in r#"(CREATE|DROP|ALTER|TABLE|INDEX|COLUMN|TYPE|"t"|t|;|\(|\)|,|'x'|\$\$|--|\n| |CONCURRENTLY|NOT NULL|DEFAULT|ADD|SET|UPDATE|DELETE|FROM|WHERE|COMMIT|BEGIN){0,40}"#
        ) {
            let analysis = DefaultAnalyzer::default().analyze_sql("m", &sql);
            let lines = sql.split('\n').count();
            for f in &analysis.findings {
                proptest::prop_assert!(f.line >= 1 && f.line <= lines);
                proptest::prop_assert!(f.span.end <= sql.len());
            }
        }
    }
}
