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
    if let Some(&start) = starts.get(f.line - 1) {
        let end = starts.get(f.line).map_or(text.len(), |e| e - 1);
        let line = text[start..end.max(start)].trim_end();
        let _ = writeln!(out, "  {:>5} | {line}", f.line);
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
