//! The rule registry: one table lists every rule once; names, defaults and dispatch derive from it.

use std::str::FromStr;

use super::checker::Checker;
use super::rules;

/// How serious a finding is. `Error` findings are destructive or high-risk: they block `deploy`
/// unless approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never blocks.
    Info,
    /// Risky (locks, performance); reported, does not block by default.
    Warning,
    /// Destructive or high-risk; needs an explicit approval.
    Error,
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Self::Info),
            "warning" | "warn" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            other => Err(format!("severity {other:?} is not info, warning or error")),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// The deployment stage of a change (expand/contract order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "u8")]
pub enum Stage {
    /// 1: additive (new tables, columns, indexes, constraints).
    Additive = 1,
    /// 2: data transformation (backfills, updates, type changes of data).
    DataTransformation = 2,
    /// 3: destructive (drops, renames, truncation).
    Destructive = 3,
    /// 4: cleanup and optimization (index maintenance, vacuum).
    Cleanup = 4,
}

impl From<Stage> for u8 {
    fn from(s: Stage) -> u8 {
        s as u8
    }
}

macro_rules! rules {
    ($( $variant:ident => $module:ident, $severity:ident, $stage:ident, $loss:literal ;)*) => {
        /// Every rule of the default analyzer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(missing_docs)] // each rule's documentation is its module's
        pub enum Rule { $($variant),* }

        impl Rule {
            /// All rules, in registry order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The kebab-case name (`drop-column`), used in reports, config and approvals.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => rules::$module::NAME),* }
            }

            /// The severity unless configured otherwise.
            #[must_use]
            pub fn default_severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity),* }
            }

            /// The deployment stage of the statements it flags.
            #[must_use]
            pub fn stage(self) -> Stage {
                match self { $(Rule::$variant => Stage::$stage),* }
            }

            /// True when what it flags can lose data.
            #[must_use]
            pub fn data_loss(self) -> bool {
                match self { $(Rule::$variant => $loss),* }
            }

            /// The safe alternative, in one sentence.
            #[must_use]
            pub fn help(self) -> &'static str {
                match self { $(Rule::$variant => rules::$module::HELP),* }
            }

            pub(crate) fn check(self, cx: &mut Checker<'_>) {
                match self { $(Rule::$variant => rules::$module::check(cx)),* }
            }
        }
    };
}

rules! {
    DropTable => drop_table, Error, Destructive, true;
    DropColumn => drop_column, Error, Destructive, true;
    DropSchema => drop_schema, Error, Destructive, true;
    DropType => drop_type, Warning, Destructive, false;
    DropView => drop_view, Warning, Destructive, false;
    DropFunction => drop_function, Warning, Destructive, false;
    DropSequence => drop_sequence, Warning, Destructive, true;
    DropDatabase => drop_database, Error, Destructive, true;
    DropCascade => drop_cascade, Error, Destructive, true;
    TruncateTable => truncate_table, Error, Destructive, true;
    DeleteWithoutWhere => delete_without_where, Error, DataTransformation, true;
    UpdateWithoutWhere => update_without_where, Warning, DataTransformation, true;
    ChangingColumnType => changing_column_type, Error, DataTransformation, true;
    EnumValueRemoval => enum_value_removal, Error, Destructive, true;
    RenamingTable => renaming_table, Error, Destructive, false;
    RenamingColumn => renaming_column, Error, Destructive, false;
    CreateIndexNonConcurrently => create_index_non_concurrently, Warning, Cleanup, false;
    DropIndexNonConcurrently => drop_index_non_concurrently, Warning, Cleanup, false;
    AddingForeignKeyWithoutNotValid => adding_foreign_key_without_not_valid, Warning, Additive, false;
    AddingCheckWithoutNotValid => adding_check_without_not_valid, Warning, Additive, false;
    ValidateInSameTransaction => validate_in_same_transaction, Warning, Additive, false;
    SettingNotNullWithoutCheck => setting_not_null_without_check, Warning, Additive, false;
    AddingUniqueConstraint => adding_unique_constraint, Warning, Additive, false;
    AddingColumnWithVolatileDefault => adding_column_with_volatile_default, Warning, Additive, false;
    AddingStoredGeneratedColumn => adding_stored_generated_column, Warning, Additive, false;
    VacuumFullOrCluster => vacuum_full_or_cluster, Error, Cleanup, false;
    RefreshWithoutConcurrently => refresh_without_concurrently, Warning, Cleanup, false;
    ReindexNonConcurrently => reindex_non_concurrently, Warning, Cleanup, false;
    RewriteByStorageChange => rewrite_by_storage_change, Warning, Cleanup, false;
    DetachPartitionNonConcurrently => detach_partition_non_concurrently, Warning, Destructive, false;
    AttachPartitionWithoutCheck => attach_partition_without_check, Warning, Additive, false;
    AlterDomainAddConstraintWithoutNotValid => alter_domain_add_constraint_without_not_valid, Warning, Additive, false;
    MissingStatementTimeout => missing_statement_timeout, Info, Additive, false;
    MissingLockTimeout => missing_lock_timeout, Info, Additive, false;
    ConcurrentlyInTransaction => concurrently_in_transaction, Error, Additive, false;
    EnumValueUsedInSameTransaction => enum_value_used_in_same_transaction, Error, DataTransformation, false;
    CommitSplitsMigration => commit_splits_migration, Warning, DataTransformation, false;
    RollbackInMigration => rollback_in_migration, Error, DataTransformation, false;
    TransactionLeftOpen => transaction_left_open, Error, DataTransformation, false;
    AddingRequiredColumnWithoutDefault => adding_required_column_without_default, Error, Additive, false;
    BackfillInDdlTransaction => backfill_in_ddl_transaction, Warning, DataTransformation, false;
    PreferJsonb => prefer_jsonb, Info, Additive, false;
    PreferBigintPrimaryKey => prefer_bigint_primary_key, Info, Additive, false;
    PreferTextOverVarchar => prefer_text_over_varchar, Info, Additive, false;
    PreferTextOverChar => prefer_text_over_char, Info, Additive, false;
    PreferTimestamptz => prefer_timestamptz, Info, Additive, false;
    IdentifierTooLong => identifier_too_long, Warning, Additive, false;
    NotUnderstood => not_understood, Warning, Additive, false;
    DynamicSql => dynamic_sql, Warning, DataTransformation, false;
    PsqlMetaCommand => psql_meta_command, Error, Additive, false;
    BreaksRunningQueries => breaks_running_queries, Error, Destructive, false;
    MixesCompatibleAndBreakingStatements => mixes_compatible_and_breaking_statements, Warning, Destructive, false;
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown rule {s:?} (see `migrate plan --list-rules`)"))
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Why a name cannot be a custom rule's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRuleName {
    /// The name is empty.
    #[error("a rule name cannot be empty")]
    Empty,
    /// The name is not kebab-case.
    #[error(
        "rule name {name:?} is not kebab-case (lowercase ASCII letters and digits in words \
         joined by single '-', starting with a letter)"
    )]
    NotKebabCase {
        /// The name.
        name: String,
    },
    /// The name is a built-in rule's.
    #[error("rule name {name:?} is a built-in rule's (see `migrate plan --list-rules`)")]
    BuiltIn {
        /// The name.
        name: String,
    },
}

/// Checks that `name` is kebab-case: words of lowercase ASCII letters and digits joined by single
/// `-`, starting with a letter. Every built-in rule name is.
pub(crate) fn check_kebab_case(name: &str) -> Result<(), InvalidRuleName> {
    if name.is_empty() {
        return Err(InvalidRuleName::Empty);
    }
    let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if well_formed {
        Ok(())
    } else {
        Err(InvalidRuleName::NotKebabCase {
            name: name.to_owned(),
        })
    }
}

/// A rule that is not built in: an organisation's own, reported by a custom [`SafetyAnalyzer`]
/// (see [`crate::safety::Finding::custom`]).
///
/// Its identity is its name: two custom rules with the same name are equal, whatever their
/// severity and help.
///
/// [`SafetyAnalyzer`]: crate::safety::SafetyAnalyzer
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CustomRule {
    name: String,
    severity: Severity,
    help: String,
}

impl CustomRule {
    /// A custom rule named `name` (kebab-case, not a built-in rule's name), with the severity of
    /// its findings unless the analyzer says otherwise, and the safe alternative in one sentence.
    ///
    /// # Errors
    ///
    /// [`InvalidRuleName`] when `name` is empty, not kebab-case, or a built-in rule's.
    pub fn new(
        name: impl Into<String>,
        severity: Severity,
        help: impl Into<String>,
    ) -> Result<Self, InvalidRuleName> {
        let name = name.into();
        check_kebab_case(&name)?;
        if name.parse::<Rule>().is_ok() {
            return Err(InvalidRuleName::BuiltIn { name });
        }
        Ok(Self {
            name,
            severity,
            help: help.into(),
        })
    }

    /// The kebab-case name, used in reports and approvals.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The severity of its findings unless the analyzer says otherwise.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The safe alternative, in one sentence.
    #[must_use]
    pub fn help(&self) -> &str {
        &self.help
    }
}

impl PartialEq for CustomRule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CustomRule {}

impl std::hash::Hash for CustomRule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl PartialOrd for CustomRule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CustomRule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(&other.name)
    }
}

impl std::fmt::Display for CustomRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl serde::Serialize for CustomRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

/// The rule of a finding: a built-in one, or an organisation's own.
///
/// Serialized, displayed and approved by its name alone, so reports do not tell them apart.
/// Built-in rules sort first, in registry order, then custom rules by name.
///
/// Deliberately exhaustive: a rule is either built in or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// A rule of the default analyzer.
    BuiltIn(Rule),
    /// A rule of a custom analyzer.
    Custom(CustomRule),
}

impl RuleId {
    /// The kebab-case name, used in reports, config and approvals.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::BuiltIn(rule) => rule.name(),
            Self::Custom(rule) => rule.name(),
        }
    }

    /// The severity of its findings unless configured otherwise.
    #[must_use]
    pub fn default_severity(&self) -> Severity {
        match self {
            Self::BuiltIn(rule) => rule.default_severity(),
            Self::Custom(rule) => rule.severity(),
        }
    }

    /// The safe alternative, in one sentence.
    #[must_use]
    pub fn help(&self) -> &str {
        match self {
            Self::BuiltIn(rule) => rule.help(),
            Self::Custom(rule) => rule.help(),
        }
    }

    /// The built-in rule, if it is one.
    #[must_use]
    pub fn built_in(&self) -> Option<Rule> {
        match self {
            Self::BuiltIn(rule) => Some(*rule),
            Self::Custom(_) => None,
        }
    }

    /// The custom rule, if it is one.
    #[must_use]
    pub fn custom(&self) -> Option<&CustomRule> {
        match self {
            Self::BuiltIn(_) => None,
            Self::Custom(rule) => Some(rule),
        }
    }
}

impl From<Rule> for RuleId {
    fn from(rule: Rule) -> Self {
        Self::BuiltIn(rule)
    }
}

impl From<CustomRule> for RuleId {
    fn from(rule: CustomRule) -> Self {
        Self::Custom(rule)
    }
}

impl PartialEq<Rule> for RuleId {
    fn eq(&self, other: &Rule) -> bool {
        self.built_in() == Some(*other)
    }
}

impl PartialEq<RuleId> for Rule {
    fn eq(&self, other: &RuleId) -> bool {
        other == self
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert_eq!(rule.name().parse::<Rule>().unwrap(), *rule);
            assert!(seen.insert(rule.name()), "duplicate name {}", rule.name());
            assert!(rule
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!(!rule.help().is_empty());
        }
    }

    #[test]
    fn built_in_names_are_kebab_case() {
        for rule in Rule::ALL {
            assert_eq!(check_kebab_case(rule.name()), Ok(()), "{rule}");
        }
    }

    #[test]
    fn custom_rule_names_are_validated() {
        let rule = CustomRule::new("no-truncate-2", Severity::Error, "archive first").unwrap();
        assert_eq!(rule.name(), "no-truncate-2");
        assert_eq!(rule.severity(), Severity::Error);
        assert_eq!(rule.help(), "archive first");
        assert_eq!(
            CustomRule::new("", Severity::Info, "h").unwrap_err(),
            InvalidRuleName::Empty
        );
        for bad in [
            "No-Truncate",
            "no_truncate",
            "no truncate",
            "-no",
            "no-",
            "no--truncate",
            "2-fast",
            "né",
        ] {
            assert!(
                matches!(
                    CustomRule::new(bad, Severity::Info, "h"),
                    Err(InvalidRuleName::NotKebabCase { ref name }) if name == bad
                ),
                "{bad:?} accepted"
            );
        }
        let err = CustomRule::new("drop-column", Severity::Info, "h").unwrap_err();
        assert_eq!(
            err,
            InvalidRuleName::BuiltIn {
                name: "drop-column".into()
            }
        );
        assert!(err.to_string().contains("built-in"), "{err}");
    }

    #[test]
    fn rule_ids_serialize_and_display_as_their_name() {
        let custom = RuleId::from(CustomRule::new("no-truncate", Severity::Error, "h").unwrap());
        assert_eq!(serde_json::to_string(&custom).unwrap(), "\"no-truncate\"");
        assert_eq!(custom.to_string(), "no-truncate");
        assert_eq!(custom.default_severity(), Severity::Error);
        assert_eq!(custom.help(), "h");
        assert_eq!(custom.built_in(), None);
        for rule in Rule::ALL {
            let id = RuleId::from(*rule);
            assert_eq!(
                serde_json::to_string(&id).unwrap(),
                serde_json::to_string(rule).unwrap()
            );
            assert_eq!(id.to_string(), rule.to_string());
            assert_eq!(id.help(), rule.help());
            assert_eq!(id.default_severity(), rule.default_severity());
            assert_eq!(id, *rule);
            assert_eq!(*rule, id);
            assert!(id < custom, "built-ins sort first");
        }
    }

    #[test]
    fn custom_rules_are_identified_by_name() {
        let a = CustomRule::new("house-rule", Severity::Error, "one").unwrap();
        let b = CustomRule::new("house-rule", Severity::Warning, "two").unwrap();
        assert_eq!(a, b);
        let set: std::collections::HashSet<RuleId> = [a.into(), b.into()].into_iter().collect();
        assert_eq!(set.len(), 1);
    }
}
