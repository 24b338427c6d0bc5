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
        Format::Json => json::render(report, review).to_string(),
        Format::Markdown => markdown::render(report, review),
        Format::Sarif => sarif::render(report, sources).to_string(),
        Format::Github => github::render(report, sources),
    }
}

/// The JSON form of a report (what `--format json` prints).
#[must_use]
pub fn to_json(report: &SafetyReport, review: &ApprovalReview) -> serde_json::Value {
    json::render(report, review)
}
