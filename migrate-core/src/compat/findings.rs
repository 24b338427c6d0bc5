//! The check's results as safety findings, and the cut of the expand stage.

use std::collections::BTreeMap;

use super::report::{trimmed, Break, CompatReport};
use crate::safety::{AnalyzerConfig, Finding, Rule, RuleId};
use crate::source::Migrations;

/// The findings of `report`: one `breaks-running-queries` per statement of a migration that
/// breaks running statements (naming each statement, its error and call count), and one
/// `mixes-compatible-and-breaking-statements` per migration that should be split in two files.
/// Rules disabled in `config` give none; their severities are `config`'s.
#[must_use]
pub fn findings(
    report: &CompatReport,
    migrations: &Migrations,
    config: &AnalyzerConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !config.is_disabled(Rule::BreaksRunningQueries) {
        let mut by_statement: BTreeMap<(usize, usize), Vec<&Break>> = BTreeMap::new();
        let order: Vec<&str> = report
            .migrations
            .iter()
            .map(|m| m.migration.as_str())
            .collect();
        for b in &report.breaks {
            let m = order.iter().position(|n| *n == b.migration).unwrap_or(0);
            by_statement.entry((m, b.line)).or_default().push(b);
        }
        out.extend(
            by_statement
                .into_values()
                .map(|group| breaks_finding(&group, config)),
        );
    }
    if !config.is_disabled(Rule::MixesCompatibleAndBreakingStatements) {
        for verdict in &report.migrations {
            if verdict.breaks == 0 || verdict.compatible_lines.is_empty() {
                continue;
            }
            let Some(sql) = migrations
                .get(&verdict.migration)
                .and_then(|m| m.script())
                .map(|s| s.sql().to_owned())
            else {
                continue;
            };
            out.push(split_finding(report, verdict, &sql, config));
        }
    }
    out
}

fn base(rule: Rule, b: &Break, config: &AnalyzerConfig, message: String) -> Finding {
    Finding {
        rule: RuleId::BuiltIn(rule),
        severity: config.severity(rule),
        stage: rule.stage(),
        lock: None,
        table: None,
        migration: b.migration.clone(),
        line: b.line,
        column: b.column,
        span: b.span.clone(),
        message,
        help: rule.help().to_owned(),
        data_loss: rule.data_loss(),
        blocks_reads: false,
        blocks_writes: false,
        facts: Vec::new(),
        approved_by: None,
        action: None,
    }
}

fn calls(b: &Break) -> String {
    match b.calls {
        Some(n) => format!("{n} call(s)"),
        None => "calls unknown".to_owned(),
    }
}

fn breaks_finding(group: &[&Break], config: &AnalyzerConfig) -> Finding {
    let first = group[0];
    let mut message = format!(
        "`{}` breaks {} statement(s) the running application sends: `{}`: {} ({})",
        first.responsible,
        group.len(),
        first.statement,
        first.error,
        calls(first)
    );
    if group.len() > 1 {
        message.push_str(&format!(", and {} more", group.len() - 1));
    }
    let mut finding = base(Rule::BreaksRunningQueries, first, config, message);
    finding.facts = group
        .iter()
        .map(|b| format!("`{}`: {} ({})", b.statement, b.error, calls(b)))
        .collect();
    finding
}

fn split_finding(
    report: &CompatReport,
    verdict: &super::MigrationVerdict,
    sql: &str,
    config: &AnalyzerConfig,
) -> Finding {
    let name = &verdict.migration;
    let breaking: Vec<&(usize, std::ops::Range<usize>)> = verdict
        .statements
        .iter()
        .filter(|(line, _)| !verdict.compatible_lines.contains(line))
        .collect();
    let compatible: Vec<&(usize, std::ops::Range<usize>)> = verdict
        .statements
        .iter()
        .filter(|(line, _)| verdict.compatible_lines.contains(line))
        .collect();
    let lines = |sts: &[&(usize, std::ops::Range<usize>)]| {
        sts.iter()
            .map(|(l, _)| l.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let file = |sts: &[&(usize, std::ops::Range<usize>)]| {
        sts.iter()
            .map(|(_, span)| format!("{};", trimmed(&sql[span.clone()], 100)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let anchor = report
        .breaks_of(name)
        .next()
        .expect("a migration with breaks has a break");
    let message = format!(
        "{name} mixes {} compatible and {} breaking statement(s); split it into two files so \
         that expand can apply the compatible part now: keep lines {} in {name}/migration.sql, \
         move lines {} to {name}_contract/migration.sql (it sorts right after it)",
        compatible.len(),
        breaking.len(),
        lines(&compatible),
        lines(&breaking),
    );
    let mut finding = base(
        Rule::MixesCompatibleAndBreakingStatements,
        anchor,
        config,
        message,
    );
    finding.line = verdict.statements.first().map_or(1, |(l, _)| *l);
    finding.column = 1;
    finding.span = 0..0;
    finding.facts = vec![
        format!("expand, {name}/migration.sql: {}", file(&compatible)),
        format!(
            "contract, {name}_contract/migration.sql: {}",
            file(&breaking)
        ),
    ];
    finding
}

/// The pending migrations the expand stage applies: those before the first one that breaks a
/// running statement or could not be checked (time budget, failed on the copy), in order
/// (Prisma's ledger is ordered: a later migration cannot go before an earlier one). Returns them,
/// and the migration it stops before with why.
#[must_use]
pub fn expand_cut(
    report: &CompatReport,
    pending: &[String],
) -> (Vec<String>, Option<(String, String)>) {
    let stop = report
        .migrations
        .iter()
        .find(|m| m.breaks > 0 || !m.checked);
    let Some(stop) = stop else {
        return (pending.to_vec(), None);
    };
    let at = pending
        .iter()
        .position(|p| *p == stop.migration)
        .unwrap_or(pending.len());
    let why = if stop.breaks > 0 {
        let list: Vec<String> = report
            .breaks_of(&stop.migration)
            .map(|b| format!("`{}`: {} (line {})", b.statement, b.error, b.line))
            .collect();
        format!(
            "it breaks {} running statement(s): {}",
            stop.breaks,
            list.join("; ")
        )
    } else if let Some(error) = &stop.apply_error {
        format!("it failed on the schema copy ({error}), so it could not be checked")
    } else {
        "it was not checked within the time budget".to_owned()
    };
    (pending[..at].to_vec(), Some((stop.migration.clone(), why)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::{BreakKind, MigrationVerdict};

    fn verdict(name: &str, breaks: usize, checked: bool) -> MigrationVerdict {
        MigrationVerdict {
            migration: name.to_owned(),
            checked,
            breaks,
            compatible_lines: vec![1],
            statements: vec![(1, 0..10), (2, 11..40)],
            apply_error: None,
        }
    }

    fn broken(migration: &str) -> Break {
        Break {
            statement: "SELECT legacy FROM t".into(),
            full_statement: "SELECT legacy FROM t".into(),
            error: "column \"legacy\" does not exist".into(),
            kind: BreakKind::Prepare,
            calls: Some(7),
            queryids: vec![1],
            migration: migration.into(),
            line: 2,
            column: 1,
            span: 11..40,
            responsible: "ALTER TABLE t DROP COLUMN legacy".into(),
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn expand_stops_before_the_first_breaking_migration() {
        let report = CompatReport {
            ran: true,
            migrations: vec![
                verdict("a", 0, true),
                verdict("b", 1, true),
                verdict("c", 0, true),
            ],
            breaks: vec![broken("b")],
            ..CompatReport::default()
        };
        let (kept, stop) = expand_cut(&report, &names(&["a", "b", "c"]));
        assert_eq!(kept, ["a"]);
        let (name, why) = stop.unwrap();
        assert_eq!(name, "b");
        assert!(
            why.contains("column \"legacy\" does not exist (line 2)"),
            "{why}"
        );
    }

    #[test]
    fn expand_stops_before_an_unchecked_migration() {
        let report = CompatReport {
            ran: true,
            migrations: vec![verdict("a", 0, true), verdict("b", 0, false)],
            unchecked: 3,
            ..CompatReport::default()
        };
        let (kept, stop) = expand_cut(&report, &names(&["a", "b"]));
        assert_eq!(kept, ["a"]);
        assert!(stop.unwrap().1.contains("time budget"));
        let clean = CompatReport {
            migrations: vec![verdict("a", 0, true)],
            ..CompatReport::default()
        };
        assert_eq!(expand_cut(&clean, &names(&["a"])), (names(&["a"]), None));
    }

    #[test]
    fn a_finding_per_responsible_statement_and_a_split_for_a_mixed_file() {
        let report = CompatReport {
            ran: true,
            migrations: vec![verdict("m", 2, true)],
            breaks: vec![broken("m"), broken("m")],
            ..CompatReport::default()
        };
        let sql = "ALTER TABLE t ADD c int;\nALTER TABLE t DROP COLUMN legacy;";
        let migrations = Migrations::from_vec(
            "/nowhere",
            vec![crate::source::LocalMigration::from_sql("m", sql)],
        );
        let found = findings(&report, &migrations, &AnalyzerConfig::default());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].rule, Rule::BreaksRunningQueries);
        assert_eq!(found[0].facts.len(), 2);
        assert!(
            found[0].message.contains("7 call(s)"),
            "{}",
            found[0].message
        );
        assert_eq!(found[1].rule, Rule::MixesCompatibleAndBreakingStatements);
        assert!(
            found[1].message.contains("keep lines 1"),
            "{}",
            found[1].message
        );
        assert!(found[1].facts[1].contains("m_contract/migration.sql"));
        let mut quiet = AnalyzerConfig::default();
        quiet.disable(Rule::BreaksRunningQueries);
        quiet.disable(Rule::MixesCompatibleAndBreakingStatements);
        assert!(findings(&report, &migrations, &quiet).is_empty());
    }
}
