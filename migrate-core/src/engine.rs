//! The one-call facade: what a service runs at start-up and what the CLI wires.

use std::path::PathBuf;

use postgres::error::SqlState;

use crate::connection::{connect, ConnectError, DatabaseUrl};
use crate::executor::{
    BaselineOptions, DeployOptions, DeployPlan, DeployReport, Event, LockPolicy, MigrationExecutor,
    PgExecutor, ResolveAction, ResolveOutcome,
};
use crate::ledger::{HistoryStatus, LockWait};
use crate::safety::{SafetyGate, SafetyReview, Scope};
use crate::source::{MigrationSource, Migrations};
use crate::sql::quote_ident;
use crate::Error;

/// A database and a migrations directory: everything needed to deploy.
///
/// ```no_run
/// migrate_core::Engine::from_env()?.deploy()?;
/// # Ok::<(), migrate_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    url: DatabaseUrl,
    source: MigrationSource,
    lock_wait: LockWait,
    safety: SafetyGate,
}

impl Engine {
    /// An engine for `url` and the migrations in `dir`.
    #[must_use]
    pub fn new(url: DatabaseUrl, dir: impl Into<PathBuf>) -> Self {
        Self {
            url,
            source: MigrationSource::new(dir),
            lock_wait: match LockWait::from_env() {
                LockWait::Skip => LockWait::Skip,
                // Replicas start together: wait out a long migration, not Prisma's 10 s.
                _ => LockWait::WHILE_BUSY,
            },
            safety: SafetyGate::default(),
        }
    }

    /// An engine configured like Prisma from the environment: `DATABASE_URL`, the migrations in
    /// `MIGRATE_MIGRATIONS_DIR` or else `prisma/migrations`, and
    /// `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK`.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when `DATABASE_URL` is missing or invalid.
    pub fn from_env() -> Result<Self, Error> {
        let dir = std::env::var_os("MIGRATE_MIGRATIONS_DIR").map_or_else(
            || PathBuf::from(MigrationSource::DEFAULT_DIR),
            PathBuf::from,
        );
        Ok(Self::new(DatabaseUrl::from_env()?, dir))
    }

    /// Sets how long to wait for the migration lock. By default, [`LockWait::WHILE_BUSY`] (or
    /// no lock when `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set).
    #[must_use]
    pub fn lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Sets the safety gate (rules, one-run approvals, enforcement, data-aware budget). By
    /// default, enforced with the approvals file of the migrations directory.
    #[must_use]
    pub fn safety(mut self, gate: SafetyGate) -> Self {
        self.safety = gate;
        self
    }

    /// The database URL.
    #[must_use]
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The migrations directory.
    #[must_use]
    pub fn source(&self) -> &MigrationSource {
        &self.source
    }

    /// Reads the migrations directory.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when it cannot be read or is inconsistent.
    pub fn migrations(&self) -> Result<Migrations, Error> {
        Ok(self.source.load()?)
    }

    /// Applies every pending migration, with default options; see [`Engine::deploy_with`].
    ///
    /// # Errors
    ///
    /// See [`Engine::deploy_with`].
    pub fn deploy(&self) -> Result<DeployReport, Error> {
        self.deploy_with(&self.deploy_options(), &mut |event| {
            log::info!(target: "migrate_core::deploy", "{event}");
        })
    }

    /// The default deploy options of this engine: its migration-lock wait, and the recommended
    /// lock policy (short `lock_timeout` with retries, watchdog) so that a migration never keeps
    /// the application waiting behind it.
    #[must_use]
    pub fn deploy_options(&self) -> DeployOptions {
        DeployOptions::default()
            .lock_wait(self.lock_wait)
            .locks(LockPolicy::recommended())
    }

    /// Applies every pending migration like `prisma migrate deploy`, creating the database when
    /// it does not exist (as Prisma does), and reports progress through `events`.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] for a bad directory (checked before connecting), [`Error::Connect`],
    /// and [`Error::Execute`] when the history forbids deploying or a migration fails.
    pub fn deploy_with(
        &self,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<DeployReport, Error> {
        let migrations = self.migrations()?;
        let mut client = connect_creating(&self.url)?;
        // A half-done restore is an operator's to finish or give up, not a replica's.
        crate::backup::refuse_interrupted_restore(&mut client, &self.url)?;
        let mut executor =
            PgExecutor::from_client(client, self.url.schema()).with_monitor(self.url.clone());
        // The gate runs before anything is written: a refused deployment changes nothing.
        // History problems (failed, modified, certain failures) are reported first, by deploy.
        let plan = executor.plan(&migrations, options)?;
        let pending: Vec<String> = plan.migrations.iter().map(|m| m.name.clone()).collect();
        if plan.is_deployable() && !pending.is_empty() {
            let review = self.review_with(
                &migrations,
                Scope::pending(pending),
                Some(executor.client()),
            )?;
            let approved = review
                .report
                .findings()
                .filter(|f| f.approved_by.is_some())
                .count();
            events(&Event::SafetyReviewed {
                findings: review.report.findings().count(),
                approved,
            });
            if let Some(refusal) = review.refusal().filter(|_| self.safety.enforce) {
                return Err(refusal.into());
            }
        }
        Ok(executor.deploy(&migrations, options, events)?)
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
        self.review_with(&migrations, scope, client)
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
        let migrations = self.migrations()?;
        let client = connect_creating(&self.url)?;
        let mut executor = PgExecutor::from_client(client, self.url.schema());
        let pending: Vec<String> = executor
            .plan(&migrations, &self.deploy_options())?
            .migrations
            .into_iter()
            .map(|m| m.name)
            .collect();
        self.review_with(
            &migrations,
            Scope::pending(pending),
            Some(executor.client()),
        )
    }

    fn review_with(
        &self,
        migrations: &Migrations,
        scope: Scope,
        client: Option<&mut postgres::Client>,
    ) -> Result<SafetyReview, Error> {
        let live = client.map(|c| (c, self.url.schema()));
        Ok(self.safety.review(migrations, &scope, live)?)
    }

    /// What a deployment would do now, without writing.
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Connect`], or a read failure.
    pub fn plan(&self, options: &DeployOptions) -> Result<DeployPlan, Error> {
        let migrations = self.migrations()?;
        Ok(self.executor()?.plan(&migrations, options)?)
    }

    /// Where each migration stands (reads only, no lock).
    ///
    /// # Errors
    ///
    /// [`Error::Source`], [`Error::Connect`], or a read failure.
    pub fn status(&self) -> Result<HistoryStatus, Error> {
        let migrations = self.migrations()?;
        Ok(self.executor()?.status(&migrations)?)
    }

    /// How the schema changed since the last deployment recorded it (by hand, by another tool);
    /// `None` when it did not, or when no deployment recorded one yet.
    ///
    /// # Errors
    ///
    /// Connection and catalog failures.
    pub fn drift(&self) -> Result<Option<crate::journal::Drift>, Error> {
        let mut client = crate::connection::connect(&self.url)?;
        crate::journal::detect_drift(&mut client, &self.url.target())
    }

    /// Records a migration as applied or rolled back without running it
    /// (`prisma migrate resolve`).
    ///
    /// # Errors
    ///
    /// Prisma's P3008/P3011/P3012/P3017 as [`Error::Execute`], and connection failures.
    pub fn resolve(&self, action: &ResolveAction) -> Result<ResolveOutcome, Error> {
        let migrations = self.migrations()?;
        Ok(self
            .executor()?
            .resolve(&migrations, action, self.lock_wait)?)
    }

    /// Marks migrations applied without running them, for a database that already has their
    /// schema. Returns the names marked.
    ///
    /// # Errors
    ///
    /// [`Error::Execute`] for an unknown `up_to` or failed migrations, and connection failures.
    pub fn baseline(&self, options: &BaselineOptions) -> Result<Vec<String>, Error> {
        let migrations = self.migrations()?;
        Ok(self.executor()?.baseline(&migrations, options)?)
    }

    fn executor(&self) -> Result<PgExecutor, Error> {
        Ok(PgExecutor::connect(&self.url)?)
    }
}

/// Connects to `url`, creating the database first when it does not exist (as Prisma's deploy
/// does).
pub(crate) fn connect_creating(url: &DatabaseUrl) -> Result<postgres::Client, Error> {
    match connect(url) {
        Err(ConnectError::Connect { source, .. })
            if source.code() == Some(&SqlState::INVALID_CATALOG_NAME) =>
        {
            create_database(url)?;
            Ok(connect(url)?)
        }
        other => Ok(other?),
    }
}

fn create_database(url: &DatabaseUrl) -> Result<(), Error> {
    let admin = url.with_database("postgres");
    let mut client = connect(&admin)?;
    let sql = format!("CREATE DATABASE {}", quote_ident(url.database()));
    match client.batch_execute(&sql) {
        // Another replica created it first.
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(()),
        Err(source) => Err(ConnectError::Session {
            target: admin.target(),
            source,
        }
        .into()),
        Ok(()) => {
            log::info!(target: "migrate_core::deploy", "created database {}", url.database());
            Ok(())
        }
    }
}
