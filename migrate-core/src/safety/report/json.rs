//! `--format json`.
//!
//! The report is serialized straight from borrowed structs: on a history of 820 migrations the
//! output is over a megabyte, and building a `serde_json::Value` tree first doubled the cost of
//! `plan --format json`.

use serde::Serialize;

use crate::safety::{
    ApprovalReview, Finding, MigrationAnalysis, SafetyReport, StatementImpact, Via,
};

/// The document's fields, in alphabetical order (the order of the former `json!` map).
#[derive(Serialize)]
struct Document<'a> {
    approvals: &'a ApprovalReview,
    fallback: usize,
    findings: Vec<&'a Finding>,
    migrations: Vec<Migration<'a>>,
    needs_approval: usize,
    parsed: usize,
    statements: usize,
    unrecognized: usize,
}

#[derive(Serialize)]
struct Migration<'a> {
    checksum: &'a str,
    migration: &'a str,
    statements: &'a [StatementImpact],
}

fn document<'a>(report: &'a SafetyReport, review: &'a ApprovalReview) -> Document<'a> {
    let by_via = |via: Via| {
        report
            .migrations
            .iter()
            .flat_map(|m| &m.statements)
            .filter(|s| s.via == via)
            .count()
    };
    Document {
        approvals: review,
        fallback: by_via(Via::Fallback),
        findings: report.findings().collect(),
        migrations: report
            .migrations
            .iter()
            .map(|m: &MigrationAnalysis| Migration {
                checksum: &m.checksum,
                migration: &m.migration,
                statements: &m.statements,
            })
            .collect(),
        needs_approval: report.needing_approval().count(),
        parsed: by_via(Via::Parser),
        statements: report.statement_count(),
        unrecognized: report.unrecognized_count(),
    }
}

/// The report as JSON text.
pub(super) fn render(report: &SafetyReport, review: &ApprovalReview) -> String {
    serde_json::to_string(&document(report, review)).expect("a report serializes")
}

/// The report as a JSON value, for callers that add fields to it.
pub(super) fn value(report: &SafetyReport, review: &ApprovalReview) -> serde_json::Value {
    serde_json::to_value(document(report, review)).expect("a report serializes")
}
