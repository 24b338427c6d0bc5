//! A [`Pipeline`]: the five parts, the event sinks and the options, assembled.

use std::path::PathBuf;

use super::{PipelineOptions, Step};
use crate::backup::{BackupProvider, PgDumpBackup};
use crate::connection::DatabaseUrl;
use crate::executor::{MigrationExecutor, PgExecutor};
use crate::health::HealthProbe;
use crate::monitor::{EventSink, Fanout};
use crate::rollback::{Planner, RollbackStrategy};
use crate::safety::SafetyAnalyzer;
use crate::source::MigrationSource;

/// A deployment pipeline for one database and one migrations directory, built from parts: a
/// [`MigrationExecutor`], a [`SafetyAnalyzer`], a [`BackupProvider`], the
/// [`RollbackStrategy`]s of a [`Planner`], [`HealthProbe`]s and [`EventSink`]s. Every step
/// uses them only through their traits; [`Pipeline::postgres`] sets the PostgreSQL/Prisma
/// defaults and any part can be replaced.
///
/// ```no_run
/// use migrate_core::pipeline::{Pipeline, Step};
///
/// let url = "postgresql://app:secret@db/app?schema=public".parse()?;
/// let report = Pipeline::postgres(url, "prisma/migrations")
///     .without(Step::Health)
///     .run(&mut |event| log::info!("{event}"))?;
/// log::info!("applied {:?}", report.applied);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pipeline {
    pub(super) url: DatabaseUrl,
    pub(super) source: MigrationSource,
    pub(super) options: PipelineOptions,
    pub(super) executor: super::run::SharedExecutor,
    /// `None`: the default analyzer with the options' rule configuration.
    pub(super) analyzer: Option<Box<dyn SafetyAnalyzer>>,
    pub(super) backup: Box<dyn BackupProvider>,
    pub(super) planner: Planner,
    pub(super) probes: Vec<Box<dyn HealthProbe>>,
    pub(super) sinks: Fanout,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("url", &self.url)
            .field("source", &self.source)
            .field("options", &self.options)
            .field("backup", &self.backup)
            .field("planner", &self.planner)
            .field("probes", &self.probes)
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// The PostgreSQL/Prisma defaults with default options: [`PgExecutor`],
    /// [`DefaultAnalyzer`](crate::safety::DefaultAnalyzer) (configured by the options),
    /// [`PgDumpBackup`], the built-in rollback strategies, no probe and no sink.
    #[must_use]
    pub fn postgres(url: DatabaseUrl, dir: impl Into<PathBuf>) -> Self {
        Self::new(url, dir, PipelineOptions::default())
    }

    /// The PostgreSQL/Prisma defaults with `options`.
    #[must_use]
    pub fn new(url: DatabaseUrl, dir: impl Into<PathBuf>, options: PipelineOptions) -> Self {
        Self {
            executor: std::sync::Mutex::new(Box::new(PgExecutor::new(url.clone()))),
            analyzer: None,
            url,
            source: MigrationSource::new(dir),
            options,
            backup: Box::new(PgDumpBackup::default()),
            planner: Planner::default(),
            probes: Vec::new(),
            sinks: Fanout::new(),
        }
    }

    /// Replaces the options.
    #[must_use]
    pub fn options(mut self, options: PipelineOptions) -> Self {
        self.options = options;
        self
    }

    /// The options.
    #[must_use]
    pub fn settings(&self) -> &PipelineOptions {
        &self.options
    }

    /// Switches `step` off (one of [`Step::OPTIONAL`]; others are always on). The events, the
    /// report and the journal say it was off.
    #[must_use]
    pub fn without(mut self, step: Step) -> Self {
        if Step::OPTIONAL.contains(&step) {
            self.options.off.insert(step);
        }
        self
    }

    /// Replaces the executor.
    #[must_use]
    pub fn executor(mut self, executor: Box<dyn MigrationExecutor>) -> Self {
        self.executor = std::sync::Mutex::new(executor);
        self
    }

    /// Replaces the safety analyzer (the gate still applies approvals and data facts).
    #[must_use]
    pub fn analyzer(mut self, analyzer: Box<dyn SafetyAnalyzer>) -> Self {
        self.analyzer = Some(analyzer);
        self
    }

    /// Replaces the backup provider.
    #[must_use]
    pub fn backup_provider(mut self, provider: Box<dyn BackupProvider>) -> Self {
        self.backup = provider;
        self
    }

    /// Adds a rollback strategy to the planner's, ranked with them by what it loses.
    #[must_use]
    pub fn rollback_strategy(mut self, strategy: Box<dyn RollbackStrategy>) -> Self {
        self.planner = self.planner.strategy(strategy);
        self
    }

    /// Replaces the rollback planner (and so its strategies).
    #[must_use]
    pub fn planner(mut self, planner: Planner) -> Self {
        self.planner = planner;
        self
    }

    /// Adds a health probe, run after the deploy and after a rollback.
    #[must_use]
    pub fn probe(mut self, probe: Box<dyn HealthProbe>) -> Self {
        self.probes.push(probe);
        self
    }

    /// Adds an event sink: every event of the run goes to it, after the run's callback.
    #[must_use]
    pub fn sink(mut self, sink: Box<dyn EventSink>) -> Self {
        self.sinks.push_boxed(sink);
        self
    }

    /// The database.
    #[must_use]
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The migrations directory.
    #[must_use]
    pub fn source(&self) -> &MigrationSource {
        &self.source
    }

    /// Mutable options, for builders above (the engine's).
    pub(crate) fn options_mut(&mut self) -> &mut PipelineOptions {
        &mut self.options
    }
}
