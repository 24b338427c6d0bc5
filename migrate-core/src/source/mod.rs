//! Reading a Prisma migrations directory exactly as Prisma Migrate does.
//!
//! See `shared/docs/prisma-compat.md` §2-3: each direct subdirectory holding `migration.sql` is a
//! migration named after the directory, ordered by ICU collation (what Prisma ≥ 6.6 uses), checked
//! against `migration_lock.toml`, and identified by the SHA-256 of its lossy-UTF-8 text.

mod changed;
mod checksum;
mod directory;
mod error;
mod lock_file;
mod order;
mod script;

pub use changed::changed_since;
pub use checksum::{checksum, checksum_matches};
pub use directory::{LocalMigration, MigrationSource, Migrations};
pub use error::SourceError;
pub use lock_file::{read_provider, LockFile};
pub use order::{collation_order, prisma_compare};
pub use script::Script;
