//! SARIF 2.1.0, for code-scanning tools.

use serde_json::{json, Value};

use super::Sources;
use crate::safety::{Rule, RuleId, SafetyReport, Severity};

pub(super) fn render(report: &SafetyReport, sources: &Sources<'_>) -> Value {
    // Every built-in rule, then the custom rules of the findings, each once, by name.
    let mut custom: Vec<&RuleId> = report
        .findings()
        .map(|f| &f.rule)
        .filter(|r| r.custom().is_some())
        .collect();
    custom.sort();
    custom.dedup();
    let built_in = Rule::ALL
        .iter()
        .map(|r| (r.name(), r.help(), r.default_severity()));
    let rules: Vec<Value> = built_in
        .chain(
            custom
                .into_iter()
                .map(|r| (r.name(), r.help(), r.default_severity())),
        )
        .map(|(name, help, severity)| {
            json!({
                "id": name,
                "shortDescription": { "text": name },
                "help": { "text": help },
                "defaultConfiguration": { "level": level(severity) },
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
