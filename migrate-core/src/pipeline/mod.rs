//! The deployment pipeline: preflight → safety gate → backup and verification → apply →
//! post-migration verification → health probes → done; on a failure after the backup, the
//! rollback planner acts, then the probes run again. Each step runs only when the previous one
//! is verified. Every part is one of the five traits, replaceable by a user's own.

mod error;
mod options;
mod presence;
mod report;
mod run;
mod verify;

pub use crate::journal::{Drift, DriftPolicy};
pub use error::PipelineError;
pub use options::{PipelineOptions, RollbackMode, RowCountCheck};
pub use report::{PipelineReport, StepReport};
pub use run::Pipeline;
pub use verify::{verify_deployment, Verification, VerificationCheck};
