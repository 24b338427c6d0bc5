//! Fleets: one migrations directory deployed to many databases (a database per tenant, per
//! region, a schema per tenant), in waves, halting on the first failure.
//!
//! A targets file lists the databases ([`TargetsFile`]); a [`Fleet`] deploys the pending
//! migrations to each through a [`Pipeline`](crate::pipeline::Pipeline) of its own (journal,
//! backup, verification, health checks, rollback), wave by wave, at most
//! [`Fleet::parallel`] targets at once, and returns a [`FleetReport`]. [`Fleet::status`] looks
//! at every target at once, each within a timeout.

mod error;
mod report;
mod run;
mod status;
mod targets;

pub use error::FleetError;
pub use report::{FleetReport, TargetReport, TargetStatus};
pub use run::{Fleet, StopFlag};
pub use status::{FleetStatus, TargetState};
pub use targets::{Target, TargetsFile};
