//! Undoing migrations: a [`RollbackStrategy`] trait with three defaults (transactional,
//! `down.sql`, restore from backup) and a planner that picks the fastest that loses no data.

mod error;
mod planner;
mod strategy;
mod target;

pub use error::RollbackError;
pub use planner::{execute, plan, DataLoss, Preference, RollbackPlan};
pub use strategy::{
    DownMigrationRollback, RestoreRollback, RollbackContext, RollbackOutcome, RollbackStrategy,
    StrategyKind, TransactionalRollback,
};
pub use target::{select, Selection, Target};
