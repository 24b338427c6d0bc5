//! The crate's error: one variant per module error.

/// Any error of the engine. Each module has its own error type; this one wraps them all, so a
/// caller can use `?` everywhere and still match on the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the migrations directory failed.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The database URL is invalid or the connection failed.
    #[error(transparent)]
    Connect(#[from] crate::connection::ConnectError),
    /// The ledger or its lock failed.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The configuration is invalid or an environment cannot be used.
    #[error(transparent)]
    Config(crate::config::ConfigError),
    /// The safety gate refused the deployment.
    #[error(transparent)]
    Safety(#[from] crate::safety::SafetyError),
    /// A pipeline step failed after the database was changed (a refusal before that is its
    /// cause, see the `From` conversion).
    #[error(transparent)]
    Pipeline(Box<crate::pipeline::PipelineError>),
    /// Planning, deploying or resolving failed.
    #[error(transparent)]
    Execute(#[from] crate::executor::ExecuteError),
    /// The deployment journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The embedded PostgreSQL cluster failed.
    #[error(transparent)]
    Embedded(#[from] crate::embedded::EmbeddedError),
    /// Taking, verifying or restoring a backup failed.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// Planning or running a rollback failed.
    #[error(transparent)]
    Rollback(#[from] crate::rollback::RollbackError),
    /// A health probe is misconfigured or the system stayed unhealthy.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
    /// An event sink could not be set up.
    #[error(transparent)]
    Monitor(#[from] crate::monitor::MonitorError),
    /// A fleet could not start (targets file, migrations, approvals).
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    /// The schema could not be described.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// The backward-compatibility check failed, or a release stage refused.
    #[error(transparent)]
    Compat(#[from] crate::compat::CompatError),
}

impl From<crate::pipeline::PipelineError> for Error {
    /// A refusal before anything changed is its cause ([`Error::Source`], [`Error::Safety`],
    /// [`Error::Backup`]…); a failure after the database changed is [`Error::Pipeline`].
    fn from(e: crate::pipeline::PipelineError) -> Self {
        match e {
            crate::pipeline::PipelineError::Refused { source, .. } => (*source).into(),
            other => Self::Pipeline(Box::new(other)),
        }
    }
}

/// A step's cause, as the variant of the part that failed.
impl From<crate::pipeline::StepError> for Error {
    fn from(e: crate::pipeline::StepError) -> Self {
        use crate::pipeline::StepError as S;
        match e {
            S::Source(e) => e.into(),
            S::Connect(e) => e.into(),
            S::Ledger(e) => e.into(),
            S::Journal(e) => e.into(),
            S::Safety(e) => e.into(),
            S::Execute(e) => e.into(),
            S::Backup(e) => e.into(),
            S::Rollback(e) => e.into(),
            S::Health(e) => e.into(),
            S::Schema(e) => e.into(),
            S::Compat(e) => e.into(),
            S::Promotion(message) => crate::config::ConfigError::Promotion(message).into(),
        }
    }
}

/// A setting that named another part's problem is that part's error.
impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Self {
        use crate::config::ConfigError as C;
        match e {
            C::Connect(e) => e.into(),
            C::Safety(e) => e.into(),
            C::Health(e) => e.into(),
            other => Self::Config(other),
        }
    }
}
