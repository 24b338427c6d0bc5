//! Undoing migrations: a [`RollbackStrategy`] trait with three defaults (transactional,
//! `down.sql`, restore from backup) and a [`Planner`] that ranks strategies, the built-in ones
//! or a user's own, and picks the one that loses least.

mod error;
mod planner;
mod strategy;
mod target;

pub use error::RollbackError;
pub use planner::{execute, plan, DataLoss, Planner, Preference, ProspectPlan, RollbackPlan};
pub use strategy::{
    Assessment, DownMigrationRollback, LossClass, Prospect, ProspectContext, RestoreRollback,
    RollbackContext, RollbackOutcome, RollbackStrategy, StrategyKind, TransactionalRollback,
};
pub use target::{select, Selection, Target};
