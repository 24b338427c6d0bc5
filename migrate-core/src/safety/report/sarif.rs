//! SARIF 2.1.0, for code-scanning tools.

use serde_json::{json, Value};

use super::Sources;
use crate::safety::{Rule, SafetyReport, Severity};

pub(super) fn render(report: &SafetyReport, sources: &Sources<'_>) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.name(),
                "shortDescription": { "text": r.name() },
                "help": { "text": r.help() },
                "defaultConfiguration": { "level": level(r.default_severity()) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings()
        .map(|f| {
            json!({
                "ruleId": f.rule.name(),
                "level": level(f.severity),
                "message": { "text": format!("{} {}", f.message, f.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": (sources.path)(&f.migration) },
                        "region": { "startLine": f.line, "startColumn": f.column },
                    }
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "migrate", "informationUri": "https://example.invalid/migrate", "rules": rules } },
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
