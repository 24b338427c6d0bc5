//! How the backward-compatibility check and the release stages run.

use std::path::PathBuf;
use std::time::Duration;

use crate::embedded::EmbeddedOptions;

/// Which part of the pending migrations a deployment applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseStage {
    /// Every pending migration; breaks of running statements are findings needing approval.
    #[default]
    All,
    /// The pending migrations, in order, up to the first one that breaks a running statement.
    Expand,
    /// The rest, once the old version of the application has drained.
    Contract,
}

impl ReleaseStage {
    /// The name used on the command line and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Expand => "expand",
            Self::Contract => "contract",
        }
    }
}

impl std::fmt::Display for ReleaseStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ReleaseStage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Self::All),
            "expand" => Ok(Self::Expand),
            "contract" => Ok(Self::Contract),
            other => Err(format!("stage {other:?} is not expand or contract")),
        }
    }
}

/// How the backward-compatibility check collects statements and how long it may take.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CompatOptions {
    /// Run the check at all. By default, on: it runs whenever statements are collected.
    pub enabled: bool,
    /// Read `pg_stat_statements` of the target database when the extension is installed there.
    /// By default, on.
    pub pg_stat_statements: bool,
    /// A file of captured statements, read in addition. By default, none.
    pub queries_file: Option<PathBuf>,
    /// Time budget of the check (copy, apply, `PREPARE`s). Statements not checked in time are
    /// counted in [`CompatReport::unchecked`](super::CompatReport::unchecked). By default, 120 s.
    pub budget: Duration,
    /// The disposable cluster holding the copy.
    pub cluster: EmbeddedOptions,
    /// The old version's `application_name`, for the drain check of the contract stage.
    pub old_app: Option<String>,
    /// How long the breaking statements' call counts are watched before contract. By default,
    /// 5 s.
    pub drain_window: Duration,
}

impl Default for CompatOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            pg_stat_statements: true,
            queries_file: None,
            budget: Duration::from_secs(120),
            cluster: EmbeddedOptions::default(),
            old_app: None,
            drain_window: Duration::from_secs(5),
        }
    }
}
