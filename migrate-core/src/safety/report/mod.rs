//! Rendering a safety report: for people, JSON, Markdown (pull-request comments), SARIF (code
//! scanning) and GitHub workflow annotations.

mod github;
mod human;
mod json;
mod markdown;
mod sarif;

use std::str::FromStr;

use super::{ApprovalReview, SafetyReport};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Text with source excerpts and `file:line:col`.
    #[default]
    Human,
    /// One JSON object.
    Json,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "human" | "text" => Self::Human,
            "json" => Self::Json,
            "markdown" | "md" => Self::Markdown,
            "sarif" => Self::Sarif,
            "github" => Self::Github,
            other => {
                return Err(format!(
                    "format {other:?} is not human, json, markdown, sarif or github"
                ))
            }
        })
    }
}

/// What a renderer needs besides the report: where each migration's file is, and its text.
pub struct Sources<'a> {
    /// The path of a migration's `migration.sql`, as reports should show it.
    pub path: &'a dyn Fn(&str) -> String,
    /// The text of a migration's `migration.sql`.
    pub text: &'a dyn Fn(&str) -> Option<String>,
}

/// Renders `report` (with the approvals `review`) in `format`.
#[must_use]
pub fn render(
    report: &SafetyReport,
    review: &ApprovalReview,
    sources: &Sources<'_>,
    format: Format,
) -> String {
    match format {
        Format::Human => human::render(report, review, sources),
        Format::Json => json::render(report, review),
        Format::Markdown => markdown::render(report, review),
        Format::Sarif => sarif::render(report, sources).to_string(),
        Format::Github => github::render(report, sources),
    }
}

/// One line per migration with findings, before the details: statements, the strongest lock,
/// and the findings by severity.
#[must_use]
pub fn migration_table(report: &SafetyReport) -> String {
    human::migration_table(report)
}

/// The JSON form of a report (what `--format json` prints).
#[must_use]
pub fn to_json(report: &SafetyReport, review: &ApprovalReview) -> serde_json::Value {
    json::value(report, review)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::{CustomRule, DefaultAnalyzer, Finding, Severity};

    const SQL: &str = "SELECT 1;\nTRUNCATE u;\n";

    /// The default analysis of `SQL` plus one finding of a custom rule on its second line.
    fn report() -> SafetyReport {
        let rule = CustomRule::new(
            "no-truncate",
            Severity::Error,
            "Archive the rows, then delete them in batches.",
        )
        .unwrap();
        let mut analysis = DefaultAnalyzer::default().analyze_sql("m", SQL);
        analysis
            .findings
            .push(Finding::custom(&rule, "m", 2, 1, "TRUNCATE is forbidden."));
        SafetyReport {
            migrations: vec![analysis],
        }
    }

    fn rendered(format: Format) -> String {
        let text = |_: &str| Some(SQL.to_owned());
        let path = |_: &str| "m/migration.sql".to_owned();
        let sources = Sources {
            path: &path,
            text: &text,
        };
        render(&report(), &ApprovalReview::default(), &sources, format)
    }

    #[test]
    fn custom_findings_render_like_built_in_ones() {
        let human = rendered(Format::Human);
        assert!(
            human.contains(
                "error[no-truncate] m/migration.sql:2:1\n  TRUNCATE is forbidden.\n      2 | TRUNCATE u;\n        | ^^^^^^^^^^^\n  impact: stage 1\n  help: Archive the rows, then delete them in batches.\n"
            ),
            "{human}"
        );
        assert!(
            human.contains("error[truncate-table] m/migration.sql:2:1"),
            "{human}"
        );

        let json: serde_json::Value = serde_json::from_str(&rendered(Format::Json)).unwrap();
        let custom = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "no-truncate")
            .unwrap();
        assert_eq!(custom["severity"], "error");
        assert_eq!(
            custom["help"],
            "Archive the rows, then delete them in batches."
        );
        assert_eq!(json["needs_approval"], 2);

        let markdown = rendered(Format::Markdown);
        assert!(
            markdown.contains("| ⛔ | `no-truncate` | `m` | 2 |  | TRUNCATE is forbidden. |"),
            "{markdown}"
        );

        let github = rendered(Format::Github);
        assert!(
            github.contains("::error file=m/migration.sql,line=2,col=1,title=no-truncate::TRUNCATE is forbidden. Archive the rows, then delete them in batches.\n"),
            "{github}"
        );

        let sarif: serde_json::Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
        let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), crate::safety::Rule::ALL.len() + 1);
        let last = rules.last().unwrap();
        assert_eq!(last["id"], "no-truncate");
        assert_eq!(last["defaultConfiguration"]["level"], "error");
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert!(results.iter().any(|r| r["ruleId"] == "no-truncate"));
    }
}
