//! The [`HealthProbe`] trait and what a probe may use.

use std::fmt;

use super::ProbeFailure;
use crate::connection::DatabaseUrl;

/// One check that the deployed system is healthy: a query, an HTTP endpoint, a command.
///
/// A probe makes one attempt per [`check`](HealthProbe::check); retrying within a window is
/// [`run_probes`](super::run_probes)'s job, so implementations stay small.
pub trait HealthProbe: Send + Sync + fmt::Debug {
    /// A short description for reports and logs (`http GET http://…/healthz`). It must not
    /// contain secrets.
    fn name(&self) -> String;

    /// Makes one attempt, bounded in time by the probe's own timeout.
    ///
    /// # Errors
    ///
    /// [`ProbeFailure`] saying why the system is not (yet) healthy.
    fn check(&self, ctx: &ProbeContext) -> Result<(), ProbeFailure>;
}

/// What probes may use: the database that was just migrated.
#[derive(Debug, Clone, Default)]
pub struct ProbeContext {
    database_url: Option<DatabaseUrl>,
}

impl ProbeContext {
    /// A context whose SQL probes connect to `url`.
    #[must_use]
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            database_url: Some(url),
        }
    }

    /// A context without a database: SQL probes fail with [`ProbeFailure::NoDatabase`].
    #[must_use]
    pub fn without_database() -> Self {
        Self::default()
    }

    /// The database to probe, if any.
    #[must_use]
    pub fn database_url(&self) -> Option<&DatabaseUrl> {
        self.database_url.as_ref()
    }
}
