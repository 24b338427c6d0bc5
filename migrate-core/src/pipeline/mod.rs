//! The deployment pipeline: preflight → safety gate → backup and verification → apply →
//! post-migration verification → health probes → done; on a failure after the backup, the
//! rollback planner acts, then the probes run again. Each step runs only when the previous one
//! is verified.
//!
//! A [`Pipeline`] is built from parts, each one of the five traits ([`MigrationExecutor`],
//! [`SafetyAnalyzer`], [`BackupProvider`], [`RollbackStrategy`], [`HealthProbe`]) plus event
//! sinks; the steps use them only through their traits. The steps live in `steps/`, one file
//! each; a [`Step`] names each in reports, events and the journal.
//!
//! [`MigrationExecutor`]: crate::MigrationExecutor
//! [`SafetyAnalyzer`]: crate::safety::SafetyAnalyzer
//! [`BackupProvider`]: crate::BackupProvider
//! [`RollbackStrategy`]: crate::RollbackStrategy
//! [`HealthProbe`]: crate::health::HealthProbe

mod error;
mod options;
mod parts;
mod presence;
mod promotion;
mod recorder;
mod report;
mod run;
mod step;
mod steps;
mod verify;

pub use crate::journal::{Drift, DriftPolicy};
pub use error::{PipelineError, StepError};
pub use options::{PipelineOptions, RollbackMode, RowCountCheck};
pub use parts::Pipeline;
pub use promotion::{check_promotion, check_same_schema, Promotion};
pub use report::{PipelineReport, StepReport};
pub use step::{Step, StepStatus};
pub use verify::{verify_deployment, Verification, VerificationCheck};
