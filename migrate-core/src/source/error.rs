//! Errors of reading a migrations directory.

use std::path::PathBuf;

/// What can go wrong while reading a Prisma migrations directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The migrations directory does not exist or is not a directory.
    #[error("migrations directory {} not found (set --migrations-dir or run from the project root)", path.display())]
    NotFound {
        /// The directory that was looked for.
        path: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What was being read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A migration directory name is not valid UTF-8, so it cannot be a ledger `migration_name`.
    #[error("migration directory name {} is not valid UTF-8; rename it", path.display())]
    NonUtf8Name {
        /// The offending directory.
        path: PathBuf,
    },
    /// A migration directory name is longer than the ledger's `migration_name VARCHAR(255)`.
    #[error("migration directory name {name:?} is {len} bytes long; the ledger holds at most 255")]
    NameTooLong {
        /// The name.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// `migration_lock.toml` names another provider than PostgreSQL (Prisma's P3019).
    #[error(
        "{} says provider {found:?}, but this engine deploys to PostgreSQL (P3019); \
         the line must read exactly `provider = \"postgresql\"`", path.display()
    )]
    ProviderMismatch {
        /// The lock file.
        path: PathBuf,
        /// The provider value as Prisma parses it.
        found: String,
    },
    /// Byte order and Prisma's collation order of the directory names disagree, so the order in
    /// which migrations run would depend on the Prisma version.
    #[error(
        "migration order is ambiguous in {}: {first:?} sorts before {second:?} in Prisma's \
         collation order (Prisma >= 6.6) but after it in byte order (Prisma < 6.6); rename one of \
         them so that both orders agree", dir.display()
    )]
    AmbiguousOrder {
        /// The migrations directory.
        dir: PathBuf,
        /// The name that comes first in collation order.
        first: String,
        /// The name that comes first in byte order.
        second: String,
    },
    /// `git` could not list the changed migrations.
    #[error("cannot list migrations changed since {rev:?} with git: {message}")]
    Git {
        /// The revision given.
        rev: String,
        /// What git said.
        message: String,
    },
}
