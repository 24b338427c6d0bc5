//! How a deployment is configured: what was given (flags), the environment variables,
//! `migrate.toml` and its environment, and the defaults, resolved with that precedence into
//! the pipeline's options. The CLI and [`Engine::from_env`](crate::Engine::from_env) both use
//! it, so they cannot disagree.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, ConfigFile, DotEnv, Environment, VarSource, CONFIG_FILE};
use crate::backup::VerifyLevel;
use crate::connection::{ConnectError, DatabaseUrl};
use crate::health::{CommandProbe, HealthProbe, HttpProbe, SqlProbe};
use crate::journal::DriftPolicy;
use crate::ledger::LockWait;
use crate::pipeline::{PipelineOptions, RollbackMode, Step};
use crate::safety::RunApproval;
use crate::source::MigrationSource;

/// What the deployer gave explicitly (command-line flags, or an embedder's code): each
/// `None`, empty or `false` field falls back to the environment variable, then to
/// `migrate.toml` (its environment's setting, then its top level), then to the default.
///
/// An environment variable is read from the process environment, else from `./.env`, else from
/// `./prisma/.env`, as the Prisma CLI reads them ([`DotEnv`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeploySettings {
    /// The database URL; else `DATABASE_URL`, else the environment's URL.
    pub database_url: Option<String>,
    /// The migrations directory; else `MIGRATE_MIGRATIONS_DIR`, else the file's, else
    /// `prisma/migrations`.
    pub migrations_dir: Option<PathBuf>,
    /// The configuration file; else `MIGRATE_CONFIG`, else `migrate.toml` (optional then).
    pub config: Option<PathBuf>,
    /// The environment of the file to use; else `MIGRATE_ENV`.
    pub environment: Option<String>,
    /// How long to wait for the migration lock; else [`LockWait::WHILE_BUSY`] (no lock when
    /// `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set).
    pub lock_wait: Option<LockWait>,
    /// Deploy although applied migrations' files changed.
    pub accept_modified: bool,
    /// Deploy although applied migrations are missing locally.
    pub accept_missing: bool,
    /// One-run approvals, `MIGRATION[:RULE]`.
    pub approvals: Vec<String>,
    /// Steps switched off (the file's `backup = false`, `approval_required = false` and
    /// `auto_rollback = false` add theirs).
    pub off: Vec<Step>,
    /// Only report what a rollback would do.
    pub report_only_rollback: bool,
    /// Where backups go; else `MIGRATE_BACKUP_DIR`, the environment's, the file's, `backups`.
    pub backup_dir: Option<PathBuf>,
    /// The backup's verification level (1–4); else the environment's, else 2.
    pub verify_level: Option<u8>,
    /// Which backup (full, scoped, auto); else the environment's, else auto.
    pub backup_mode: Option<crate::backup::BackupMode>,
    /// What to do on drift; else the environment's, else warn.
    pub on_drift: Option<DriftPolicy>,
    /// How long failing probes are retried, in seconds; else the environment's health window.
    pub health_window: Option<f64>,
    /// Health probes given as flags: URLs, SQL queries, commands.
    pub health_urls: Vec<String>,
    /// SQL probes.
    pub health_sql: Vec<String>,
    /// Command probes.
    pub health_commands: Vec<String>,
    /// The webhook URL; else the variable the environment names.
    pub webhook: Option<String>,
    /// Deploy without the predecessor environment's promotion gate.
    pub skip_promotion_gate: bool,
    /// A file of the running application's captured statements, for the backward-compatibility
    /// check (read besides `pg_stat_statements`).
    pub queries: Option<PathBuf>,
    /// The release stage: all pending migrations (default), expand, or contract.
    pub stage: crate::compat::ReleaseStage,
    /// The old version's `application_name`; else the environment's `old_app`, else the file's.
    pub old_app: Option<String>,
    /// How long contract watches the breaking statements' call counts, in seconds; else 5.
    pub drain_window: Option<f64>,
    /// Time budget of the backward-compatibility check, in seconds; else 120.
    pub compat_budget: Option<f64>,
    /// Skip the backward-compatibility check (by default it runs).
    pub skip_compat_check: bool,
}

/// A deployment, configured.
#[derive(Debug)]
#[non_exhaustive]
pub struct Resolved {
    /// The database.
    pub url: DatabaseUrl,
    /// The `.env` file the URL came from, when it came from one (to say so, as Prisma does).
    pub url_file: Option<PathBuf>,
    /// The migrations directory.
    pub dir: PathBuf,
    /// The environment of `migrate.toml` used, if any.
    pub environment: Option<String>,
    /// The pipeline's options.
    pub options: PipelineOptions,
    /// The health probes, from flags then the environment.
    pub probes: Vec<Box<dyn HealthProbe>>,
    /// Where to post events, if anywhere.
    pub webhook: Option<String>,
}

/// A fleet deployment, configured: everything but the databases, which the targets file gives.
#[derive(Debug)]
#[non_exhaustive]
pub struct ResolvedFleet {
    /// The migrations directory.
    pub dir: PathBuf,
    /// The environment of `migrate.toml` used, if any.
    pub environment: Option<String>,
    /// The pipeline's options, for every target (each target's backups go to a directory of
    /// its own under `options.backup_dir`).
    pub options: PipelineOptions,
    /// The health probes, from flags then the environment.
    pub probes: Vec<Box<dyn HealthProbe>>,
    /// Where to post the wave summaries, if anywhere.
    pub webhook: Option<String>,
    /// The environment's targets file, when it names one.
    pub targets: Option<PathBuf>,
}

impl DeploySettings {
    /// Nothing given: everything from the environment variables, the file and the defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the precedence: flag > environment variable > file > default.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an invalid file or unknown environment; its `Connect` variant when no
    /// URL is given anywhere or it is invalid, `Safety` for an invalid approval, `Health` for an
    /// invalid probe (each becomes the matching [`Error`](crate::Error) variant).
    pub fn resolve(&self) -> Result<Resolved, ConfigError> {
        let dotenv = DotEnv::load()?;
        let var = |name: &str| dotenv.value(name);
        let path = match &self.config {
            Some(path) => path.clone(),
            None => {
                var("MIGRATE_CONFIG")?.map_or_else(|| PathBuf::from(CONFIG_FILE), PathBuf::from)
            }
        };
        let file = ConfigFile::load(&path)?;
        let name = match &self.environment {
            Some(name) => Some(name.clone()),
            None => var("MIGRATE_ENV")?,
        };
        let env = match (&name, &file) {
            (Some(name), Some(file)) => file.environment(name, &path)?.clone(),
            (Some(name), None) => {
                return Err(ConfigError::UnknownEnvironment {
                    name: name.clone(),
                    path,
                    known: Vec::new(),
                })
            }
            (None, _) => Environment::default(),
        };
        // As before `.env` files: the flag, then the process's DATABASE_URL, then the named
        // environment's variable (from the process or a `.env` file). A `.env` file's
        // DATABASE_URL never overrides a named environment's own variable: a developer's file
        // must not redirect `--env production`.
        let given = self.database_url.clone().or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
        });
        let (url, source) = match (given, &name) {
            (Some(given), _) => (given, VarSource::Process),
            (None, Some(name)) => env.url_in(name, &dotenv)?,
            (None, None) => dotenv.var("DATABASE_URL")?.ok_or(ConnectError::Missing)?,
        };
        let url = url.parse()?;
        let url_file = match source {
            VarSource::File(path) => Some(path),
            _ => None,
        };
        let dir = match &self.migrations_dir {
            Some(dir) => Some(dir.clone()),
            None => var("MIGRATE_MIGRATIONS_DIR")?.map(PathBuf::from),
        }
        .or_else(|| file.as_ref().and_then(|f| f.migrations_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(MigrationSource::DEFAULT_DIR));
        let backup_dir = match &self.backup_dir {
            Some(dir) => Some(dir.clone()),
            None => var("MIGRATE_BACKUP_DIR")?.map(PathBuf::from),
        }
        .or_else(|| env.backup_dir.clone())
        .or_else(|| file.as_ref().and_then(|f| f.backup_dir.clone()));
        let mut options = self.options(&env, backup_dir)?;
        let retention = env
            .retention
            .or_else(|| file.as_ref().and_then(|f| f.retention));
        options.retention = retention.map(|r| r.retention()).transpose()?;
        options.deploy.environment.clone_from(&name);
        options.stage = self.stage;
        options.compat.queries_file.clone_from(&self.queries);
        options.compat.enabled = !self.skip_compat_check;
        options.compat.old_app = self
            .old_app
            .clone()
            .or_else(|| env.old_app.clone())
            .or_else(|| file.as_ref().and_then(|f| f.old_app.clone()));
        if let Some(secs) = self.compat_budget {
            options.compat.budget =
                std::time::Duration::try_from_secs_f64(secs).map_err(|_| ConfigError::Setting {
                    name: "--compat-budget",
                    reason: format!("{secs} is not a number of seconds"),
                })?;
        }
        if let Some(secs) = self.drain_window {
            options.compat.drain_window =
                std::time::Duration::try_from_secs_f64(secs).map_err(|_| ConfigError::Setting {
                    name: "--drain-window",
                    reason: format!("{secs} is not a number of seconds"),
                })?;
        }
        if let (Some(name), Some(file), false) = (&name, &file, self.skip_promotion_gate) {
            if let (true, Some(from)) = (env.gated(), &env.promote_from) {
                let from_env = file.environment(from, &path)?;
                let (from_url, _) = from_env.url_in(from, &dotenv)?;
                options.promote_from = Some((from.clone(), from_url.parse()?));
                log::info!(target: "migrate_core::config", "promotion gate: {name} requires {from} first");
            }
        }
        let mut probes = self.probes()?;
        probes.extend(env.health.build_probes()?);
        let webhook = match (&self.webhook, &env.webhook_env) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(var)) => dotenv.value(var)?,
            (None, None) => None,
        };
        Ok(Resolved {
            url,
            url_file,
            dir,
            environment: name,
            options,
            probes,
            webhook,
        })
    }

    /// The precedence of [`DeploySettings::resolve`] for a fleet: no database URL (each target
    /// has its own) and no promotion gate (it compares two single databases).
    ///
    /// # Errors
    ///
    /// As [`DeploySettings::resolve`], without the URL's.
    pub fn resolve_fleet(&self) -> Result<ResolvedFleet, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let path = self
            .config
            .clone()
            .or_else(|| var("MIGRATE_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
        let file = ConfigFile::load(&path)?;
        let name = self.environment.clone().or_else(|| var("MIGRATE_ENV"));
        let env = match (&name, &file) {
            (Some(name), Some(file)) => file.environment(name, &path)?.clone(),
            (Some(name), None) => {
                return Err(ConfigError::UnknownEnvironment {
                    name: name.clone(),
                    path,
                    known: Vec::new(),
                })
            }
            (None, _) => Environment::default(),
        };
        let dir = self
            .migrations_dir
            .clone()
            .or_else(|| var("MIGRATE_MIGRATIONS_DIR").map(PathBuf::from))
            .or_else(|| file.as_ref().and_then(|f| f.migrations_dir.clone()))
            .unwrap_or_else(|| PathBuf::from(MigrationSource::DEFAULT_DIR));
        let backup_dir = self
            .backup_dir
            .clone()
            .or_else(|| var("MIGRATE_BACKUP_DIR").map(PathBuf::from))
            .or_else(|| env.backup_dir.clone())
            .or_else(|| file.as_ref().and_then(|f| f.backup_dir.clone()));
        let mut options = self.options(&env, backup_dir)?;
        options.deploy.environment.clone_from(&name);
        let mut probes = self.probes()?;
        probes.extend(env.health.build_probes()?);
        let webhook = self.webhook.clone().or_else(|| {
            env.webhook_env
                .as_ref()
                .and_then(|v| std::env::var(v).ok())
                .filter(|v| !v.is_empty())
        });
        Ok(ResolvedFleet {
            dir,
            environment: name,
            options,
            probes,
            webhook,
            targets: env.targets.clone(),
        })
    }

    fn options(
        &self,
        env: &Environment,
        backup_dir: Option<PathBuf>,
    ) -> Result<PipelineOptions, ConfigError> {
        let mut options = PipelineOptions::default();
        let mut deploy = options
            .deploy
            .accept_modified(self.accept_modified)
            .accept_missing_locally(self.accept_missing);
        if let Some(wait) = self
            .lock_wait
            .filter(|_| LockWait::from_env() != LockWait::Skip)
        {
            deploy = deploy.lock_wait(wait);
        }
        if let Some(ms) = env.lock_timeout_ms {
            deploy.locks.exclusive_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(retries) = env.retries {
            deploy.locks.retries = retries;
        }
        options.deploy = deploy;
        for approval in &self.approvals {
            let approval = approval.parse::<RunApproval>();
            options
                .safety
                .approvals
                .push(approval.map_err(crate::safety::SafetyError::from)?);
        }
        options.off.extend(self.off.iter().copied());
        let file_off = [
            (env.approval_required == Some(false), Step::Safety),
            (env.backup == Some(false), Step::Backup),
        ];
        options
            .off
            .extend(file_off.iter().filter(|(off, _)| *off).map(|(_, s)| *s));
        // The gate still reviews with its approval off: it reports, it does not refuse.
        if options.off.remove(&Step::Safety) {
            options.safety.enforce = false;
        }
        if let Some(dir) = backup_dir {
            options.backup_dir = dir;
        }
        if let Some(level) = self.verify_level.or(env.backup_verify_level) {
            options.backup_verify = level.to_string().parse::<VerifyLevel>().map_err(|reason| {
                ConfigError::Setting {
                    name: "verify level",
                    reason,
                }
            })?;
        }
        if let Some(policy) = self.on_drift.or(env.on_drift) {
            options.drift = policy;
        }
        if let Some(mode) = self.backup_mode.or(env.backup_mode) {
            options.backup_mode = mode;
        }
        if self.report_only_rollback || env.auto_rollback == Some(false) {
            options.rollback = RollbackMode::ReportOnly;
        }
        options.health_window = env.health.retry_window()?;
        if let Some(secs) = self.health_window {
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(ConfigError::Setting {
                    name: "health window",
                    reason: format!("must be a number of seconds >= 0, got {secs}"),
                });
            }
            options.health_window.window = Duration::from_secs_f64(secs);
        }
        Ok(options)
    }

    fn probes(&self) -> Result<Vec<Box<dyn HealthProbe>>, ConfigError> {
        let mut probes: Vec<Box<dyn HealthProbe>> = Vec::new();
        for url in &self.health_urls {
            probes.push(Box::new(HttpProbe::from_flag(url)?));
        }
        for sql in &self.health_sql {
            probes.push(Box::new(SqlProbe::from_flag(sql)?));
        }
        for cmd in &self.health_commands {
            probes.push(Box::new(CommandProbe::from_flag(cmd)?));
        }
        Ok(probes)
    }
}
