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
    MissingLockTimeout => missing_lock_timeout, Info, Additive, false;
    ConcurrentlyInTransaction => concurrently_in_transaction, Error, Additive, false;
    EnumValueUsedInSameTransaction => enum_value_used_in_same_transaction, Error, DataTransformation, false;
    CommitSplitsMigration => commit_splits_migration, Warning, DataTransformation, false;
    AddingRequiredColumnWithoutDefault => adding_required_column_without_default, Error, Additive, false;
    BackfillInDdlTransaction => backfill_in_ddl_transaction, Warning, DataTransformation, false;
    PreferJsonb => prefer_jsonb, Info, Additive, false;
    PreferBigintPrimaryKey => prefer_bigint_primary_key, Info, Additive, false;
    PreferTextOverVarchar => prefer_text_over_varchar, Info, Additive, false;
    IdentifierTooLong => identifier_too_long, Warning, Additive, false;
    NotUnderstood => not_understood, Warning, Additive, false;
    DynamicSql => dynamic_sql, Warning, DataTransformation, false;
    PsqlMetaCommand => psql_meta_command, Error, Additive, false;
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
}
