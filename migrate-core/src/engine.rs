//! The one-call facade: what a service runs at start-up and what the CLI wires.

use std::path::PathBuf;

use crate::backup::BackupProvider;
use crate::connection::DatabaseUrl;
use crate::executor::{
    BaselineOptions, DeployOptions, DeployPlan, Event, MigrationExecutor, PgExecutor,
    ResolveAction, ResolveOutcome,
};
use crate::health::HealthProbe;
use crate::ledger::{HistoryStatus, LockWait};
use crate::monitor::{EventSink, WebhookOptions, WebhookSink};
use crate::pipeline::{Pipeline, PipelineOptions, PipelineReport, Step};
use crate::rollback::RollbackStrategy;
use crate::safety::{SafetyAnalyzer, SafetyGate, SafetyReview, Scope};
use crate::source::{MigrationSource, Migrations};
use crate::Error;

/// A database and a migrations directory, deployed through the one [`Pipeline`]: the same
/// backup, safety gate, verification, health checks and automatic rollback as the CLI.
///
/// ```no_run
/// migrate_core::Engine::from_env()?.deploy()?;
/// # Ok::<(), migrate_core::Error>(())
/// ```
///
/// Any part can be replaced, and any optional step switched off by name:
///
/// ```no_run
/// use migrate_core::pipeline::Step;
/// use migrate_core::health::SqlProbe;
///
/// let engine = migrate_core::Engine::from_env()?
///     .without(Step::Backup) // said as "backup off" in the events and the journal
///     .probe(Box::new(SqlProbe::new("SELECT count(*) > 0 FROM \"User\"", None)?));
/// let report = engine.deploy()?;
/// log::info!("applied {:?}", report.applied);
/// # Ok::<(), migrate_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    pipeline: Pipeline,
}

impl From<Pipeline> for Engine {
    fn from(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }
}

impl Engine {
    /// An engine for `url` and the migrations in `dir`, with the default pipeline and options
    /// (see [`PipelineOptions`]); backups go to `backups` in the working directory.
    #[must_use]
    pub fn new(url: DatabaseUrl, dir: impl Into<PathBuf>) -> Self {
        Self::with_options(url, dir, PipelineOptions::default())
    }

    /// An engine with `options`.
    #[must_use]
    pub fn with_options(
        url: DatabaseUrl,
        dir: impl Into<PathBuf>,
        options: PipelineOptions,
    ) -> Self {
        Self {
            pipeline: Pipeline::new(url, dir, options),
        }
    }

    /// An engine configured like the CLI from the environment: `DATABASE_URL`, the migrations in
    /// `MIGRATE_MIGRATIONS_DIR` or else `prisma/migrations`, `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK`,
    /// and `migrate.toml` in the working directory when there is one (its `MIGRATE_ENV`
    /// environment, if set). Each variable is read from the process environment, else from
    /// `./.env`, else from `./prisma/.env`, as the Prisma CLI reads them
    /// ([`DotEnv`](crate::config::DotEnv)).
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when `DATABASE_URL` is missing or invalid, [`Error::Config`] for an
    /// invalid `migrate.toml`.
    pub fn from_env() -> Result<Self, Error> {
        let resolved = crate::config::DeploySettings::new().resolve()?;
        let mut engine = Self::with_options(resolved.url, resolved.dir, resolved.options)
            .probes(resolved.probes);
        if let Some(url) = resolved.webhook {
            let sink = WebhookSink::new(url, WebhookOptions::default())?;
            engine = engine.sink(Box::new(sink));
        }
        Ok(engine)
    }

    fn map(mut self, f: impl FnOnce(Pipeline) -> Pipeline) -> Self {
        self.pipeline = f(self.pipeline);
        self
    }

    /// Sets how long to wait for the migration lock. By default, [`LockWait::WHILE_BUSY`] (or
    /// no lock when `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set).
    #[must_use]
    pub fn lock_wait(mut self, wait: LockWait) -> Self {
        let options = self.pipeline.options_mut();
        options.deploy = options.deploy.clone().lock_wait(wait);
        self
    }

    /// Sets the safety gate (rules, one-run approvals, enforcement, data-aware budget). By
    /// default, enforced with the approvals file of the migrations directory.
    #[must_use]
    pub fn safety(mut self, gate: SafetyGate) -> Self {
        self.pipeline.options_mut().safety = gate;
        self
    }

    /// Sets the backward-compatibility check (statement sources, time budget, old version).
    /// By default, on whenever statements are collected.
    #[must_use]
    pub fn compat(mut self, options: crate::compat::CompatOptions) -> Self {
        self.pipeline.options_mut().compat = options;
        self
    }

    /// Sets the executor options (lock wait, lock policy, history overrides) of every
    /// deployment. By default, [`Engine::deploy_options`] of a new engine.
    #[must_use]
    pub fn with_deploy_options(mut self, options: DeployOptions) -> Self {
        self.pipeline.options_mut().deploy = options;
        self
    }

    /// Sets where backups go. By default, `backups`.
    #[must_use]
    pub fn backup_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.pipeline.options_mut().backup_dir = dir.into();
        self
    }

    /// Switches an optional step off; see [`Pipeline::without`].
    #[must_use]
    pub fn without(self, step: Step) -> Self {
        self.map(|p| p.without(step))
    }

    /// Replaces the executor; see [`Pipeline::executor`].
    #[must_use]
    pub fn executor(self, executor: Box<dyn MigrationExecutor>) -> Self {
        self.map(|p| p.executor(executor))
    }

    /// Replaces the safety analyzer; see [`Pipeline::analyzer`].
    #[must_use]
    pub fn analyzer(self, analyzer: Box<dyn SafetyAnalyzer>) -> Self {
        self.map(|p| p.analyzer(analyzer))
    }

    /// Replaces the backup provider; see [`Pipeline::backup_provider`].
    #[must_use]
    pub fn backup_provider(self, provider: Box<dyn BackupProvider>) -> Self {
        self.map(|p| p.backup_provider(provider))
    }

    /// Adds a rollback strategy; see [`Pipeline::rollback_strategy`].
    #[must_use]
    pub fn rollback_strategy(self, strategy: Box<dyn RollbackStrategy>) -> Self {
        self.map(|p| p.rollback_strategy(strategy))
    }

    /// Adds a health probe; see [`Pipeline::probe`].
    #[must_use]
    pub fn probe(self, probe: Box<dyn HealthProbe>) -> Self {
        self.map(|p| p.probe(probe))
    }

    fn probes(self, probes: Vec<Box<dyn HealthProbe>>) -> Self {
        probes.into_iter().fold(self, Self::probe)
    }

    /// Adds an event sink; see [`Pipeline::sink`].
    #[must_use]
    pub fn sink(self, sink: Box<dyn EventSink>) -> Self {
        self.map(|p| p.sink(sink))
    }

    /// The pipeline every deployment of this engine runs.
    #[must_use]
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The database URL.
    #[must_use]
    pub fn url(&self) -> &DatabaseUrl {
        self.pipeline.url()
    }

    /// The migrations directory.
    #[must_use]
    pub fn source(&self) -> &MigrationSource {
        self.pipeline.source()
    }

    /// Reads the migrations directory.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when it cannot be read or is inconsistent.
    pub fn migrations(&self) -> Result<Migrations, Error> {
        Ok(self.source().load()?)
    }

    /// Deploys every pending migration through the pipeline, logging its events (target
    /// `migrate_core::deploy`); see [`Engine::deploy_with`]. Safe to call from inside an async
    /// runtime (the work moves off its threads); in async code, prefer `deploy_async`.
    ///
    /// # Errors
    ///
    /// See [`Engine::deploy_with`].
    pub fn deploy(&self) -> Result<PipelineReport, Error> {
        self.deploy_with(&mut |event| {
            log::info!(target: "migrate_core::deploy", "{event}");
        })
    }

    /// Deploys every pending migration like `prisma migrate deploy` (creating the database when
    /// it does not exist), through the pipeline: safety gate, verified backup, apply,
    /// verification, health probes, automatic rollback. Reports progress through `events`.
    ///
    /// # Errors
    ///
    /// A refusal before anything changed is its cause: [`Error::Source`], [`Error::Connect`],
    /// [`Error::Execute`] (the history forbids deploying), [`Error::Safety`] (unapproved
    /// findings), [`Error::Backup`]…; a failure after the database changed is
    /// [`Error::Pipeline`], whose report says what the rollback did.
    pub fn deploy_with(
        &self,
        events: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<PipelineReport, Error> {
        Ok(self.pipeline.run(events)?)
    }

    /// [`Engine::deploy`] for async services: the blocking deployment runs on tokio's blocking
    /// threads, never on the runtime's workers.
    ///
    /// ```no_run
    /// # async fn start() -> Result<(), migrate_core::Error> {
    /// migrate_core::Engine::from_env()?.deploy_async().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// See [`Engine::deploy_with`].
    ///
    /// # Panics
    ///
    /// When the deployment panicked (the panic is resumed here).
    #[cfg(feature = "tokio")]
    pub async fn deploy_async(self) -> Result<PipelineReport, Error> {
        tokio::task::spawn_blocking(move || self.deploy())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// The options every deployment of this engine uses.
    #[must_use]
    pub fn deploy_options(&self) -> DeployOptions {
        self.pipeline.settings().deploy.clone()
    }

    /// The review a deployment's safety gate is about to make: the pending migrations, with
    /// live data facts from the database (created first when it does not exist, as `deploy`
    /// would). For showing the unapproved findings before deploying (the CLI's prompt): the
    /// same analysis and facts as the gate, never a different one.
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Connect`], a read failure, or [`Error::Safety`] for bad
    /// approvals.
    pub fn review_pending(&self) -> Result<SafetyReview, Error> {
        Ok(self.pipeline.review_pending()?)
    }

    /// Analyses migrations for safety and applies approvals: the pending ones when the database
    /// is reachable (with live data facts), otherwise every migration on its own.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] for a bad directory, [`Error::Safety`] for bad approvals.
    pub fn review(
        &self,
        scope: Scope,
        client: Option<&mut postgres::Client>,
    ) -> Result<SafetyReview, Error> {
        let migrations = self.migrations()?;
        let live = client.map(|c| (c, self.url().schema()));
        Ok(self.pipeline.review(&migrations, &scope, live)?)
    }

    /// As [`review`](Self::review), with the backward-compatibility check of `pending` (see
    /// [`crate::compat::check`], configured by the options' `compat`): its findings are in the
    /// review, approved like any other, and its report is returned beside it.
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Compat`] (an unreadable queries file, no cluster or
    /// `pg_dump` for the copy), or unreadable approvals.
    pub fn review_compat(
        &self,
        scope: Scope,
        pending: &[String],
        client: &mut postgres::Client,
    ) -> Result<(SafetyReview, crate::compat::CompatReport), Error> {
        let migrations = self.migrations()?;
        let options = self.pipeline.settings();
        let report =
            crate::compat::check(self.url(), client, &migrations, pending, &options.compat)?;
        let extra = crate::compat::findings(&report, &migrations, &options.safety.config);
        let live = Some((client, self.url().schema()));
        let review = self
            .pipeline
            .review_with(&migrations, &scope, live, extra)?;
        Ok((review, report))
    }

    /// What a deployment would do now, without writing.
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Connect`], or a read failure.
    pub fn plan(&self, options: &DeployOptions) -> Result<DeployPlan, Error> {
        let migrations = self.migrations()?;
        Ok(self.session()?.plan(&migrations, options)?)
    }

    /// What a scoped backup taken now would cover: the tables the pending migrations put at
    /// risk (`migrate backup create --scope pending`).
    ///
    /// # Errors
    ///
    /// As [`plan`](Self::plan), and [`BackupError::ScopeUnbounded`](crate::backup::BackupError::ScopeUnbounded)
    /// when the analyzer cannot bound the pending migrations.
    pub fn pending_scope(&self) -> Result<crate::backup::ScopeRequest, Error> {
        let migrations = self.migrations()?;
        let plan = self.plan(&self.deploy_options())?;
        let pending: Vec<String> = plan.migrations.iter().map(|m| m.name.clone()).collect();
        let (request, _) =
            crate::backup::request_for(&migrations, &pending, crate::backup::BackupMode::Scoped)?;
        Ok(request.unwrap_or_default())
    }

    /// Where each migration stands (reads only, no lock).
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Connect`], or a read failure.
    pub fn status(&self) -> Result<HistoryStatus, Error> {
        let migrations = self.migrations()?;
        Ok(self.session()?.status(&migrations)?)
    }

    /// How the schema changed since the last deployment recorded it (by hand, by another tool);
    /// `None` when it did not, or when no deployment recorded one yet.
    ///
    /// # Errors
    ///
    /// Connection and catalog failures.
    pub fn drift(&self) -> Result<Option<crate::journal::Drift>, Error> {
        let mut client = crate::connection::connect(self.url())?;
        Ok(crate::journal::detect_drift(
            &mut client,
            &self.url().target(),
        )?)
    }

    /// Records a migration as applied or rolled back without running it
    /// (`prisma migrate resolve`).
    ///
    /// # Errors
    ///
    /// Prisma's P3008/P3011/P3012/P3017 as [`Error::Execute`], and connection failures.
    pub fn resolve(&self, action: &ResolveAction) -> Result<ResolveOutcome, Error> {
        let migrations = self.migrations()?;
        let wait = self.deploy_options().lock_wait;
        Ok(self.session()?.resolve(&migrations, action, wait)?)
    }

    /// Marks migrations applied without running them, for a database that already has their
    /// schema. Returns the names marked.
    ///
    /// # Errors
    ///
    /// [`Error::Execute`] for an unknown `up_to` or failed migrations, and connection failures.
    pub fn baseline(&self, options: &BaselineOptions) -> Result<Vec<String>, Error> {
        let migrations = self.migrations()?;
        Ok(self.session()?.baseline(&migrations, options)?)
    }

    fn session(&self) -> Result<PgExecutor, Error> {
        Ok(PgExecutor::connect(self.url())?)
    }
}
