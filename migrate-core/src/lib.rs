//! # migrate-core
//!
//! A migration-deployment engine for PostgreSQL that applies a Prisma `prisma/migrations` directory
//! exactly as `prisma migrate deploy` would: the same `_prisma_migrations` ledger, the same checksums
//! and the same advisory lock, so `prisma migrate status` and `prisma migrate deploy` keep working for
//! developers. It is stricter where Prisma is silent: an applied migration whose file changed or
//! vanished stops the deployment, a file whose own `BEGIN`/`COMMIT` splits its atomicity is reported
//! before it runs, and a file that PostgreSQL is certain to reject is refused before anything is
//! written.
//!
//! ## Embedding
//!
//! A service applies its pending migrations at start-up with one call. It is safe when many replicas
//! start at once: the advisory lock serializes them, a waiting replica waits as long as the holder
//! is working (not a fixed 10 s, see [`ledger::LockWait::WhileBusy`]), and the others find nothing
//! left to do.
//!
//! ```no_run
//! // Reads DATABASE_URL and ./prisma/migrations.
//! migrate_core::Engine::from_env()?.deploy()?;
//! # Ok::<(), migrate_core::Error>(())
//! ```
//!
//! With explicit settings and progress events:
//!
//! ```no_run
//! use migrate_core::{DatabaseUrl, Engine, Event};
//!
//! let url: DatabaseUrl = "postgresql://app:secret@db:5432/app?schema=public".parse()?;
//! let engine = Engine::new(url, "prisma/migrations");
//! let report = engine.deploy_with(&mut |event: &Event| {
//!     log::info!("{event}");
//! })?;
//! println!("applied {} migration(s)", report.applied.len());
//! # Ok::<(), migrate_core::Error>(())
//! ```
//!
//! ## Map of the crate
//!
//! | module | concept |
//! |---|---|
//! | [`source`] | reading a Prisma migrations directory: ordering, lock file, checksums, `down.sql` |
//! | [`sql`] | a psql-compatible statement splitter and what a script does to transactions |
//! | [`connection`] | `DATABASE_URL` as Prisma users write it, TLS, redaction of secrets |
//! | [`event`] | the progress events every part reports through, and who holds a lock |
//! | [`schema`] | the catalog description of a database's schema and its fingerprint |
//! | [`ledger`] | the `_prisma_migrations` table, its advisory lock, and the history diagnosis |
//! | [`journal`] | every deployment recorded in `_migrate.deployments`; recovery of killed ones |
//! | [`executor`] | the [`MigrationExecutor`] trait, deployment plans and reports |
//! | [`embedded`] | a throwaway PostgreSQL cluster started from the installed server binaries |
//! | [`backup`] | `pg_dump` backups with a manifest, verification levels 1–4, restore, read-only mode |
//! | [`compat`] | the running application's statements re-checked against the migrated schema; expand/contract |
//! | [`rollback`] | rollback strategies (transactional, `down.sql`, restore) and the planner that picks one |
//! | [`health`] | post-deployment health probes (SQL, HTTP, command) retried within a window |
//! | [`monitor`] | event sinks: NDJSON lines and a non-blocking webhook, fanned out from the engine's callback |
//! | [`pipeline`] | preflight → safety → backup → apply → verify → health, with automatic rollback |
//! | [`config`] | `migrate.toml` environments, policies and the promotion gate |
//! | [`fleet`] | one history to many databases, in waves, halting on the first failure |
//! | [`engine`] | the one-call facade used by services and the CLI |
//! | [`rehearsal`] | deploying a whole directory from scratch on a throwaway cluster |
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backup;
pub mod compat;
pub mod config;
pub mod connection;
pub mod embedded;
pub mod engine;
mod error;
pub mod event;
pub mod executor;
pub mod fleet;
pub mod health;
pub mod journal;
pub mod ledger;
pub mod monitor;
pub mod pipeline;
pub mod rehearsal;
pub mod rollback;
pub mod safety;
pub mod schema;
pub mod source;
pub mod sql;

// The README's examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

pub use backup::{BackupProvider, PgDumpBackup};
pub use connection::DatabaseUrl;
pub use engine::Engine;
pub use error::Error;
pub use event::Event;
pub use executor::{DeployOptions, DeployReport, MigrationExecutor, PgExecutor, ResolveAction};
pub use ledger::HistoryStatus;
pub use rollback::RollbackStrategy;
pub use source::{MigrationSource, Migrations};
