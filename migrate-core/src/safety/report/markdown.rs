//! Markdown for a pull-request comment.

use std::fmt::Write;

use crate::safety::{ApprovalReview, SafetyReport, Severity};

pub(super) fn render(report: &SafetyReport, review: &ApprovalReview) -> String {
    let mut out = String::from("## Migration safety report\n\n");
    let findings: Vec<_> = report.findings().collect();
    if findings.is_empty() {
        let _ = writeln!(
            out,
            "No findings in {} statement(s). ✅",
            report.statement_count()
        );
        return out;
    }
    let _ = writeln!(out, "| | rule | migration | line | lock | message |");
    let _ = writeln!(out, "|---|---|---|---:|---|---|");
    for f in &findings {
        let icon = match (f.severity, &f.approved_by) {
            (Severity::Error, Some(_)) => "☑️",
            (Severity::Error, None) => "⛔",
            (Severity::Warning, _) => "⚠️",
            (Severity::Info, _) => "ℹ️",
        };
        let lock = f.lock.map(|l| l.sql_name().to_owned()).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {icon} | `{}` | `{}` | {} | {lock} | {} |",
            f.rule,
            f.migration,
            f.line,
            f.message.replace('|', "\\|")
        );
    }
    let pending = report.needing_approval().count();
    let _ = writeln!(
        out,
        "\n{} statement(s), {} finding(s), {pending} awaiting approval.",
        report.statement_count(),
        findings.len()
    );
    for item in review.stale.iter().chain(&review.invalid) {
        let _ = writeln!(out, "- ⚠️ {item}");
    }
    out
}
