//! GitHub Actions workflow commands: annotations on the pull request's files.

use std::fmt::Write;

use super::Sources;
use crate::safety::{SafetyReport, Severity};

pub(super) fn render(report: &SafetyReport, sources: &Sources<'_>) -> String {
    let mut out = String::new();
    for f in report.findings() {
        let command = match f.severity {
            Severity::Error if f.approved_by.is_none() => "error",
            Severity::Error | Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            escape_property(&(sources.path)(&f.migration)),
            f.line,
            f.column,
            escape_property(f.rule.name()),
            escape_data(&format!("{} {}", f.message, f.help)),
        );
    }
    out
}

// GitHub's escaping rules for workflow command data and properties.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
