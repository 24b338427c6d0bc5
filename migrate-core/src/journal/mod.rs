//! The deployment journal: every deployment recorded (who, where from, what, outcome, timings)
//! in `_migrate.deployments`, a schema of its own so that Prisma never sees it as drift. It is
//! what `migrate history` lists, what `rollback --last-deployment` undoes, and how a deployment
//! whose process was killed is found by the next run.

mod drift;
mod error;
mod record;
mod store;

pub(crate) use drift::{detect_drift, record_schema, record_schema_latest};
pub use drift::{Drift, DriftPolicy};
pub use error::JournalError;
pub use record::{Deployment, Outcome};
pub(crate) use store::PRESENCE_KEY;
pub use store::{Decision, Journal, RecordedSchema, Recovery};
