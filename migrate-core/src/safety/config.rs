//! Which rules run, and how serious each is.

use std::collections::{HashMap, HashSet};

use super::rule::{Rule, Severity};

/// Analyzer settings: severity overrides and disabled rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzerConfig {
    severities: HashMap<Rule, Severity>,
    disabled: HashSet<Rule>,
}

impl AnalyzerConfig {
    /// Sets a rule's severity.
    pub fn set_severity(&mut self, rule: Rule, severity: Severity) -> &mut Self {
        self.severities.insert(rule, severity);
        self
    }

    /// Turns a rule off.
    pub fn disable(&mut self, rule: Rule) -> &mut Self {
        self.disabled.insert(rule);
        self
    }

    /// The severity in force for `rule`.
    #[must_use]
    pub fn severity(&self, rule: Rule) -> Severity {
        self.severities
            .get(&rule)
            .copied()
            .unwrap_or_else(|| rule.default_severity())
    }

    /// True when `rule` is off.
    #[must_use]
    pub fn is_disabled(&self, rule: Rule) -> bool {
        self.disabled.contains(&rule)
    }
}
