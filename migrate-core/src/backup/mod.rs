//! Backups before migrating: taken with `pg_dump` in the same snapshot as their manifest's row
//! counts and schema fingerprint, checked at four levels, and restored so that the database is
//! exactly what it was (objects created after the backup included).

mod error;
mod hash;
mod interrupted;
mod load;
mod manifest;
mod pg_dump;
mod previous;
mod privileges;
mod provider;
mod read_only;
pub mod replay;
mod restore;
mod scope;
mod state;
mod store;
mod table_restore;
mod tools;
mod verify;

pub use error::BackupError;
pub use hash::{hash_file, Digests};
pub use interrupted::{
    recover_interrupted_restore, recover_interrupted_restore_without_target,
    refuse_interrupted_restore,
};
pub use manifest::{
    is_backup_id, BackupFormat, LedgerEntry, Manifest, ProviderPart, MANIFEST_VERSION,
    PG_DUMP_PROVIDER,
};
pub use pg_dump::{PgDumpBackup, PgDumpOptions};
pub use previous::{drop_previous_database, previous_databases, PreviousDatabase};
pub use privileges::{list as list_privileges, Privilege, RolePrivileges};
pub use provider::{
    backup_verified, backup_verified_observed, backup_verified_scoped, progress_events,
    BackupPolicy, BackupProvider,
};
pub use read_only::{is_read_only, set_read_only, ReadOnlyChange, ReadOnlyGuard};
pub(crate) use restore::losses;
pub use restore::{RestoreOptions, RestoreReport, TableLoss};
pub use scope::{
    at_risk, request_for, resolve as resolve_at_risk, table_digest, AtRisk, BackupMode, BackupPlan,
    CoveredTable, Scope, ScopeRequest, TableAtRisk,
};
pub use state::{DatabaseState, TableCount};
pub use store::{Backup, BackupStore, Retention};
pub use tools::PgTools;
pub use verify::{Check, Scratch, VerifyLevel, VerifyOptions, VerifyReport};
