//! The safety gate of a deployment: analyse what is about to run, apply approvals, and refuse
//! until every destructive or high-risk finding is approved.

use std::time::Duration;

use super::{
    enrich, AnalyzerConfig, ApprovalError, ApprovalReview, Approvals, DefaultAnalyzer, RunApproval,
    SafetyAnalyzer, SafetyReport, Scope,
};
use crate::source::Migrations;

/// How `deploy` reviews pending migrations before running them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SafetyGate {
    /// Rule severities and switches.
    pub config: AnalyzerConfig,
    /// One-run approvals (`--approve`, interactive confirmations).
    pub approvals: Vec<RunApproval>,
    /// Refuse to deploy unapproved `error` findings. By default, on.
    ///
    /// ### Warning
    ///
    /// Off, destructive migrations run without review.
    pub enforce: bool,
    /// Time budget for data-aware checks against the target database; `None` turns them off.
    /// By default, 10 s.
    pub data_budget: Option<Duration>,
}

impl Default for SafetyGate {
    fn default() -> Self {
        Self {
            config: AnalyzerConfig::default(),
            approvals: Vec::new(),
            enforce: true,
            data_budget: Some(Duration::from_secs(10)),
        }
    }
}

/// A safety review: the report with approvals applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct SafetyReview {
    /// The analysis.
    pub report: SafetyReport,
    /// Unused, stale and invalid approvals.
    pub approvals: ApprovalReview,
}

impl SafetyReview {
    /// True when nothing blocks the deployment.
    #[must_use]
    pub fn is_approved(&self) -> bool {
        self.report.needing_approval().next().is_none()
    }
}

/// What can stop a deployment at the safety gate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SafetyError {
    /// Destructive or high-risk findings are not approved.
    #[error(
        "{} destructive or high-risk finding(s) need approval before deploy: {}; review them with \
         `migrate plan`, then approve with --approve MIGRATION[:RULE], a `-- migrate:approve RULE \
         reason: …` line above the statement, or an entry in migrate-approvals.toml{} (nothing was \
         applied)", .findings.len(), .findings.join("; "), ignored_said(.ignored)
    )]
    Unapproved {
        /// `migration:line rule` of each.
        findings: Vec<String>,
        /// Approvals that were there but could not count, each with why (edited after review,
        /// no reason, unknown rule).
        ignored: Vec<String>,
    },
    /// A one-run approval names a migration the directory does not have (a typo would
    /// otherwise approve nothing and be noticed only when the gate refuses).
    #[error(
        "--approve names {} not in {}: {} (nothing was changed)",
        if .names.len() == 1 { "a migration" } else { "migrations" },
        .dir.display(),
        .names.join(", ")
    )]
    UnknownMigration {
        /// The names given that match no migration directory.
        names: Vec<String>,
        /// The migrations directory.
        dir: std::path::PathBuf,
    },
    /// The approvals are unreadable.
    #[error(transparent)]
    Approvals(#[from] ApprovalError),
}

/// Puts each finding in its migration's analysis (creating one for a migration the scope did
/// not analyse), in line order.
fn add_findings(report: &mut SafetyReport, migrations: &Migrations, extra: Vec<super::Finding>) {
    for finding in extra {
        let analysis = match report
            .migrations
            .iter()
            .position(|m| m.migration == finding.migration)
        {
            Some(i) => &mut report.migrations[i],
            None => {
                report.migrations.push(super::MigrationAnalysis {
                    migration: finding.migration.clone(),
                    checksum: migrations
                        .get(&finding.migration)
                        .and_then(|m| m.script())
                        .map(|s| s.checksum().to_owned())
                        .unwrap_or_default(),
                    statements: Vec::new(),
                    findings: Vec::new(),
                });
                report.migrations.last_mut().expect("pushed above")
            }
        };
        analysis.findings.push(finding);
        analysis.findings.sort_by_key(|f| (f.line, f.column));
    }
}

fn ignored_said(ignored: &[String]) -> String {
    if ignored.is_empty() {
        String::new()
    } else {
        format!("; approvals ignored: {}", ignored.join("; "))
    }
}

impl SafetyGate {
    /// Analyses `scope` of `migrations`, adds live facts when a session on the target database
    /// is given (with the URL's `?schema=`), and applies the approvals.
    ///
    /// # Errors
    ///
    /// As [`review_by`](Self::review_by).
    pub fn review(
        &self,
        migrations: &Migrations,
        scope: &Scope,
        live: Option<(&mut postgres::Client, Option<&str>)>,
    ) -> Result<SafetyReview, SafetyError> {
        let analyzer = DefaultAnalyzer::new(self.config.clone());
        self.review_by(&analyzer, migrations, scope, live)
    }

    /// As [`review`](Self::review), with `analyzer` instead of the default one (this gate's
    /// `config` is then the analyzer's business).
    ///
    /// # Errors
    ///
    /// [`SafetyError::UnknownMigration`] when a one-run approval names a migration that is not
    /// in the directory, [`SafetyError::Approvals`] for an unreadable approvals file.
    pub fn review_by(
        &self,
        analyzer: &dyn SafetyAnalyzer,
        migrations: &Migrations,
        scope: &Scope,
        live: Option<(&mut postgres::Client, Option<&str>)>,
    ) -> Result<SafetyReview, SafetyError> {
        self.review_with(analyzer, migrations, scope, live, Vec::new())
    }

    /// As [`review_by`](Self::review_by), adding `extra` findings (made elsewhere, e.g. the
    /// backward-compatibility check of [`crate::compat`]) to their migrations' analyses before
    /// the approvals apply, so that they are approved like any other.
    ///
    /// # Errors
    ///
    /// As [`review_by`](Self::review_by).
    pub fn review_with(
        &self,
        analyzer: &dyn SafetyAnalyzer,
        migrations: &Migrations,
        scope: &Scope,
        live: Option<(&mut postgres::Client, Option<&str>)>,
        extra: Vec<super::Finding>,
    ) -> Result<SafetyReview, SafetyError> {
        let mut names: Vec<String> = Vec::new();
        for approval in &self.approvals {
            if migrations.get(&approval.migration).is_none() && !names.contains(&approval.migration)
            {
                names.push(approval.migration.clone());
            }
        }
        if !names.is_empty() {
            return Err(SafetyError::UnknownMigration {
                names,
                dir: migrations.dir().to_owned(),
            });
        }
        let mut report = analyzer.analyze(migrations, scope);
        if let (Some((client, schema)), Some(budget)) = (live, self.data_budget) {
            enrich(
                &mut report,
                migrations,
                &scope.continuing,
                client,
                schema,
                budget,
            );
        }
        add_findings(&mut report, migrations, extra);
        let approvals = self.approvals_for(migrations.dir())?;
        let review = approvals.apply(&mut report, &|name| {
            migrations
                .get(name)
                .and_then(|m| m.script())
                .map(|s| s.text().to_owned())
        });
        Ok(SafetyReview {
            report,
            approvals: review,
        })
    }

    /// Loads the approvals file of `dir` and adds this gate's one-run approvals.
    ///
    /// # Errors
    ///
    /// [`SafetyError::Approvals`] for an unreadable approvals file.
    pub fn approvals_for(&self, dir: &std::path::Path) -> Result<Approvals, SafetyError> {
        let mut approvals = Approvals::load(dir)?;
        approvals.add_run(self.approvals.iter().cloned());
        Ok(approvals)
    }
}

impl SafetyReview {
    /// The error to refuse a deployment with, when something is unapproved.
    #[must_use]
    pub fn refusal(&self) -> Option<SafetyError> {
        let findings: Vec<String> = self
            .report
            .needing_approval()
            .map(|f| format!("{}:{} {}", f.migration, f.line, f.rule))
            .collect();
        let ignored: Vec<String> = self
            .approvals
            .stale
            .iter()
            .chain(&self.approvals.invalid)
            .cloned()
            .collect();
        (!findings.is_empty()).then_some(SafetyError::Unapproved { findings, ignored })
    }
}
