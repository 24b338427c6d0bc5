//! Text for people: each finding with its source line, lock, stage and the safe alternative.

use std::fmt::Write;

use super::Sources;
use crate::safety::{ApprovalReview, Finding, SafetyReport, Severity, Via};

pub(super) fn render(
    report: &SafetyReport,
    review: &ApprovalReview,
    sources: &Sources<'_>,
) -> String {
    let mut out = String::new();
    for analysis in &report.migrations {
        if analysis.findings.is_empty() {
            continue;
        }
        let text = (sources.text)(&analysis.migration).unwrap_or_default();
        // One pass over the file gives every line start: excerpts stay linear in file size.
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let path = (sources.path)(&analysis.migration);
        for f in &analysis.findings {
            finding(&mut out, f, &path, &text, &starts);
        }
    }
    summary(&mut out, report, review);
    out
}

fn finding(out: &mut String, f: &Finding, path: &str, text: &str, starts: &[usize]) {
    let _ = writeln!(
        out,
        "{}[{}] {path}:{}:{}",
        f.severity, f.rule, f.line, f.column
    );
    let _ = writeln!(out, "  {}", f.message);
    if starts.get(f.line - 1).is_some() {
        // The statement's line that names what the finding is about, else its first line.
        let line_of = |n: usize| -> &str {
            let start = starts[n - 1];
            let end = starts.get(n).map_or(text.len(), |e| e - 1);
            text[start..end.max(start)].trim_end()
        };
        let last = starts
            .partition_point(|&s| s < f.span.end)
            .clamp(f.line, starts.len());
        let shown = (f.line..=last)
            .find_map(|n| {
                let from = if n == f.line { f.column } else { 1 };
                focus(line_of(n), from, f).map(|caret| (n, caret))
            })
            .unwrap_or_else(|| {
                let rest = line_of(f.line).chars().count() + 1;
                (f.line, (f.column - 1, rest.saturating_sub(f.column).max(1)))
            });
        let (n, (at, width)) = shown;
        let _ = writeln!(out, "  {n:>5} | {}", line_of(n));
        let _ = writeln!(out, "        | {}{}", " ".repeat(at), "^".repeat(width));
    }
    let mut impact = Vec::new();
    if let Some(lock) = f.lock {
        let blocks = match (f.blocks_reads, f.blocks_writes) {
            (true, _) => "blocks reads and writes",
            (false, true) => "blocks writes",
            _ => "blocks no reads or writes",
        };
        let on = f
            .table
            .as_deref()
            .map(|t| format!(" on {t}"))
            .unwrap_or_default();
        impact.push(format!("lock {lock}{on} ({blocks})"));
    }
    impact.push(format!("stage {}", f.stage as u8));
    if f.data_loss {
        impact.push("can lose data".into());
    }
    let _ = writeln!(out, "  impact: {}", impact.join(" · "));
    for fact in &f.facts {
        let _ = writeln!(out, "  data: {fact}");
    }
    let _ = writeln!(out, "  help: {}", f.help);
    if let Some(by) = &f.approved_by {
        let _ = writeln!(out, "  approved: {by}");
    }
    out.push('\n');
}

/// Where the identifier the finding is about (the column, constraint, index or table) stands
/// on `line`, at or after character `from` (1-based): (offset, width) in characters.
fn focus(line: &str, from: usize, f: &Finding) -> Option<(usize, usize)> {
    let ident = f.action.as_ref().and_then(|a| a.focus())?;
    let skip = from.saturating_sub(1);
    let rest: String = line.chars().skip(skip).collect();
    // Quoted as written, or bare (PostgreSQL folds bare names to lower case).
    let quoted = format!("\"{}\"", ident.replace('"', "\"\""));
    let found = rest
        .find(&quoted)
        .map(|i| (i, quoted.chars().count()))
        .or_else(|| {
            // Only on ASCII text, where lower-casing keeps byte offsets; as a whole word.
            if !rest.is_ascii() {
                return None;
            }
            let lower = rest.to_ascii_lowercase();
            let word = |c: char| c.is_alphanumeric() || c == '_';
            lower
                .match_indices(ident)
                .find(|(i, _)| {
                    lower[..*i].chars().next_back().is_none_or(|c| !word(c))
                        && lower[i + ident.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !word(c))
                })
                .map(|(i, _)| (i, ident.chars().count()))
        })?;
    Some((skip + rest[..found.0].chars().count(), found.1))
}

pub(super) fn migration_table(report: &SafetyReport) -> String {
    let mut out = String::new();
    if report.findings().next().is_none() {
        return out;
    }
    let width = report
        .migrations
        .iter()
        .map(|m| m.migration.chars().count())
        .max()
        .unwrap_or(0)
        .max("migration".len());
    let _ = writeln!(
        out,
        "{:<width$}  {:>10}  {:<22}  {:>6}  {:>8}  {:>4}",
        "migration", "statements", "strongest lock", "errors", "warnings", "info"
    );
    let mut quiet = 0;
    for m in &report.migrations {
        if m.findings.is_empty() {
            quiet += 1;
            continue;
        }
        let count = |s: Severity| m.findings.iter().filter(|f| f.severity == s).count();
        let lock = m
            .statements
            .iter()
            .filter_map(|s| s.lock)
            .max()
            .map_or_else(|| "-".to_owned(), |l| l.to_string());
        let _ = writeln!(
            out,
            "{:<width$}  {:>10}  {:<22}  {:>6}  {:>8}  {:>4}",
            m.migration,
            m.statements.len(),
            lock,
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
        );
    }
    if quiet > 0 {
        let _ = writeln!(out, "({quiet} more migration(s) without findings)");
    }
    out
}

fn summary(out: &mut String, report: &SafetyReport, review: &ApprovalReview) {
    let count = |s: Severity| report.findings().filter(|f| f.severity == s).count();
    let fallback = report
        .migrations
        .iter()
        .flat_map(|m| &m.statements)
        .filter(|s| s.via == Via::Fallback)
        .count();
    let _ = writeln!(
        out,
        "{} migration(s), {} statement(s) ({fallback} by keyword fallback, {} not understood): {} error(s), {} warning(s), {} info",
        report.migrations.len(),
        report.statement_count(),
        report.unrecognized_count(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let pending = report.needing_approval().count();
    if pending > 0 {
        let _ = writeln!(out, "{pending} finding(s) need approval before deploy (--approve MIGRATION[:RULE], a `-- migrate:approve RULE reason: …` directive, or migrate-approvals.toml)");
    }
    for (title, items) in [
        ("stale approval", &review.stale),
        ("unused approval", &review.unused),
        ("invalid directive", &review.invalid),
    ] {
        for item in items {
            let _ = writeln!(out, "{title}: {item}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::DefaultAnalyzer;

    fn rendered(sql: &str) -> String {
        let report = SafetyReport {
            migrations: vec![DefaultAnalyzer::default().analyze_sql("m", sql)],
        };
        let text = |_: &str| Some(sql.to_owned());
        let path = |_: &str| "m/migration.sql".to_owned();
        render(
            &report,
            &ApprovalReview::default(),
            &Sources {
                path: &path,
                text: &text,
            },
        )
    }

    #[test]
    fn carets_point_at_what_the_finding_is_about_even_on_a_later_line() {
        let out = rendered(
            "ALTER TABLE \"User\" DROP COLUMN \"legacy\",\n  ALTER COLUMN email SET NOT NULL;\n",
        );
        assert!(
            out.contains(
                "      1 | ALTER TABLE \"User\" DROP COLUMN \"legacy\",\n        |                                ^^^^^^^^\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "      2 |   ALTER COLUMN email SET NOT NULL;\n        |                ^^^^^\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn without_a_name_on_the_line_the_whole_statement_line_is_underlined() {
        let out = rendered("SELECT 1;\nVACUUM FULL;\n");
        assert!(
            out.contains("      2 | VACUUM FULL;\n        | ^^^^^^^^^^^^\n"),
            "{out}"
        );
    }
}
