//! One file per rule: its documentation (what, why, lock, example, safe alternative), its
//! check and its tests.

mod prelude;
#[cfg(test)]
mod test_utils;

pub(crate) mod adding_check_without_not_valid;
pub(crate) mod adding_column_with_volatile_default;
pub(crate) mod adding_foreign_key_without_not_valid;
pub(crate) mod adding_required_column_without_default;
pub(crate) mod adding_stored_generated_column;
pub(crate) mod adding_unique_constraint;
pub(crate) mod alter_domain_add_constraint_without_not_valid;
pub(crate) mod attach_partition_without_check;
pub(crate) mod backfill_in_ddl_transaction;
pub(crate) mod breaks_running_queries;
pub(crate) mod changing_column_type;
pub(crate) mod commit_splits_migration;
pub(crate) mod concurrently_in_transaction;
pub(crate) mod create_index_non_concurrently;
pub(crate) mod delete_without_where;
pub(crate) mod detach_partition_non_concurrently;
pub(crate) mod drop_cascade;
pub(crate) mod drop_column;
pub(crate) mod drop_database;
pub(crate) mod drop_function;
pub(crate) mod drop_index_non_concurrently;
pub(crate) mod drop_schema;
pub(crate) mod drop_sequence;
pub(crate) mod drop_table;
pub(crate) mod drop_type;
pub(crate) mod drop_view;
pub(crate) mod dynamic_sql;
pub(crate) mod enum_value_removal;
pub(crate) mod enum_value_used_in_same_transaction;
pub(crate) mod identifier_too_long;
pub(crate) mod missing_lock_timeout;
pub(crate) mod missing_statement_timeout;
pub(crate) mod mixes_compatible_and_breaking_statements;
pub(crate) mod not_understood;
pub(crate) mod prefer_bigint_primary_key;
pub(crate) mod prefer_jsonb;
pub(crate) mod prefer_text_over_char;
pub(crate) mod prefer_text_over_varchar;
pub(crate) mod prefer_timestamptz;
pub(crate) mod psql_meta_command;
pub(crate) mod refresh_without_concurrently;
pub(crate) mod reindex_non_concurrently;
pub(crate) mod renaming_column;
pub(crate) mod renaming_table;
pub(crate) mod rewrite_by_storage_change;
pub(crate) mod rollback_in_migration;
pub(crate) mod setting_not_null_without_check;
pub(crate) mod transaction_left_open;
pub(crate) mod truncate_table;
pub(crate) mod update_without_where;
pub(crate) mod vacuum_full_or_cluster;
pub(crate) mod validate_in_same_transaction;
