//! Helpers for rule tests: analyse a script on its own (tables it does not create count as
//! existing ones with data).

use crate::safety::{DefaultAnalyzer, Finding, Rule};

/// Findings of `rule` in `sql`.
pub(crate) fn lint(sql: &str, rule: Rule) -> Vec<Finding> {
    DefaultAnalyzer::default()
        .analyze_sql("20240101000000_test", sql)
        .findings
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

/// The single finding of `rule` in `sql`; fails when there is none. Use [`lint_ok`] to check
/// that a script is clean.
#[track_caller]
pub(crate) fn lint_one(sql: &str, rule: Rule) -> Finding {
    let mut found = lint(sql, rule);
    assert_eq!(
        found.len(),
        1,
        "expected one {rule} finding in {sql:?}, got {found:#?}"
    );
    found.remove(0)
}

/// Asserts that `rule` finds nothing in `sql`. Use [`lint_one`] to check a finding.
#[track_caller]
pub(crate) fn lint_ok(sql: &str, rule: Rule) {
    let found = lint(sql, rule);
    assert!(
        found.is_empty(),
        "expected no {rule} finding in {sql:?}, got {found:#?}"
    );
}

/// Findings of `rule` in `sql` analysed as a migration that runs after `history` was deployed
/// (tables of the history exist and hold data).
pub(crate) fn lint_after(history: &str, sql: &str, rule: Rule) -> Vec<Finding> {
    use crate::safety::{SafetyAnalyzer, Scope};
    use crate::source::{LocalMigration, Migrations};
    let migrations = Migrations::from_vec(
        "migrations",
        vec![
            LocalMigration::from_sql("20240101000000_history", history),
            LocalMigration::from_sql("20240102000000_change", sql),
        ],
    );
    let scope = Scope::pending(["20240102000000_change".to_owned()]);
    DefaultAnalyzer::default()
        .analyze(&migrations, &scope)
        .findings()
        .filter(|f| f.rule == rule)
        .cloned()
        .collect()
}
