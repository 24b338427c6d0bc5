//! `--format json`.

use serde_json::{json, Value};

use crate::safety::{ApprovalReview, SafetyReport, Via};

pub(super) fn render(report: &SafetyReport, review: &ApprovalReview) -> Value {
    let by_via = |via: Via| {
        report
            .migrations
            .iter()
            .flat_map(|m| &m.statements)
            .filter(|s| s.via == via)
            .count()
    };
    json!({
        "statements": report.statement_count(),
        "parsed": by_via(Via::Parser),
        "fallback": by_via(Via::Fallback),
        "unrecognized": report.unrecognized_count(),
        "findings": report.findings().collect::<Vec<_>>(),
        "needs_approval": report.needing_approval().count(),
        "migrations": report.migrations.iter().map(|m| json!({
            "migration": m.migration,
            "checksum": m.checksum,
            "statements": m.statements,
        })).collect::<Vec<_>>(),
        "approvals": review,
    })
}
