//! Applying migrations: the [`MigrationExecutor`] trait, its PostgreSQL/Prisma default
//! [`PgExecutor`], and the plans, events and reports they exchange with callers.

mod error;
mod failure;
mod lock_policy;
mod options;
mod plan;
mod postgres;
mod report;
mod run;
mod traits;
mod watchdog;

pub use crate::event::{human_bytes, human_duration, Event};
pub use error::{ExecuteError, MigrationFailure};
pub use lock_policy::{LockClass, LockPolicy};
pub use options::{BaselineOptions, DeployOptions, ResolveAction};
pub use plan::{DeployPlan, PlannedMigration};
pub(crate) use postgres::refusal;
pub use postgres::PgExecutor;
pub use report::{AppliedMigration, DeployReport, ResolveOutcome};
pub use traits::MigrationExecutor;
