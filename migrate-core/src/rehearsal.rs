//! Dress rehearsal: on a throwaway cluster (empty, or loaded from a production backup), profile
//! every pending migration statement by statement with the locks it really takes, drill the
//! automatic rollback, then deploy for real through the whole pipeline and check the result.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use postgres::Client;

use crate::backup::{
    Backup, BackupProvider, DatabaseState, PgDumpBackup, PgDumpOptions, RestoreOptions,
};
use crate::embedded::{EmbeddedCluster, EmbeddedOptions};
use crate::event::Event;
use crate::executor::{DeployOptions, MigrationExecutor, PgExecutor};
use crate::health::{HealthProbe, ProbeContext, ProbeFailure};
use crate::ledger::{self, HistoryStatus};
use crate::pipeline::{Pipeline, PipelineOptions, PipelineReport, RowCountCheck};
use crate::source::{MigrationSource, Migrations};
use crate::sql::{quote_ident, TransactionShape};
use crate::{DatabaseUrl, Error};

/// What to rehearse with.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RehearsalOptions {
    /// The throwaway cluster.
    pub cluster: EmbeddedOptions,
    /// Load this backup first (production data), instead of starting empty.
    pub from_backup: Option<PathBuf>,
    /// Skip the rollback drill.
    pub skip_drill: bool,
}

/// One statement, profiled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatementProfile {
    /// 1-based line in `migration.sql`.
    pub line: usize,
    /// How long it ran.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Table locks held right after it, as `relation: MODE`.
    pub locks: Vec<String>,
}

/// One migration, profiled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationProfile {
    /// The migration.
    pub name: String,
    /// Its whole duration.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Its statements (empty when it must run as one, e.g. `CREATE INDEX CONCURRENTLY`).
    pub statements: Vec<StatementProfile>,
}

/// The rollback drill.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Drill {
    /// The strategy the planner chose.
    pub strategy: Option<String>,
    /// Time to roll back.
    #[serde(serialize_with = "crate::event::millis", rename = "rollback_ms")]
    pub rollback: Duration,
    /// True when schema and row counts came back to the pre-deployment state.
    pub state_restored: bool,
}

/// What a rehearsal found.
#[derive(Debug, Clone, serde::Serialize)]
#[must_use]
pub struct RehearsalReport {
    /// Major version of the throwaway server.
    pub server_major_version: u32,
    /// Time to start the cluster, create the database and load the backup.
    #[serde(serialize_with = "crate::event::millis", rename = "setup_ms")]
    pub setup: Duration,
    /// Per-migration and per-statement timings and locks.
    pub profile: Vec<MigrationProfile>,
    /// The forced rollback drill.
    pub drill: Option<Drill>,
    /// The real deployment through the pipeline.
    pub pipeline: PipelineReport,
    /// The history afterwards (should be up to date).
    pub status: HistoryStatus,
    /// Ledger rows whose checksum differs from the SHA-256 of their file.
    pub checksum_mismatches: Vec<String>,
    /// True when a second deployment found nothing to do.
    pub second_deploy_noop: bool,
}

impl RehearsalReport {
    /// True when everything applied, the drill restored the state, the history is up to date,
    /// every checksum matches, and a second deployment was a no-op.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.status.is_up_to_date()
            && self.checksum_mismatches.is_empty()
            && self.second_deploy_noop
            && self.drill.as_ref().is_none_or(|d| d.state_restored)
    }

    /// The applied migrations with their durations, slowest first.
    #[must_use]
    pub fn slowest(&self) -> Vec<&MigrationProfile> {
        let mut all: Vec<&MigrationProfile> = self.profile.iter().collect();
        all.sort_by_key(|m| std::cmp::Reverse(m.duration));
        all
    }
}

/// A probe that always fails: it forces the rollback drill.
#[derive(Debug)]
struct ForcedFailure;

impl HealthProbe for ForcedFailure {
    fn name(&self) -> String {
        "rollback drill (forced failure)".to_owned()
    }
    fn check(&self, _: &ProbeContext) -> Result<(), ProbeFailure> {
        Err(ProbeFailure::Forced)
    }
}

/// Runs the dress rehearsal of `dir`.
///
/// # Errors
///
/// [`Error::Source`] for a bad directory, [`Error::Embedded`] when no cluster can be started,
/// backup errors when `from_backup` cannot be loaded, and the pipeline's errors when the real
/// deployment fails.
pub fn rehearse(
    dir: &Path,
    options: &RehearsalOptions,
    events: &mut (dyn FnMut(&Event) + Send),
) -> Result<RehearsalReport, Error> {
    let migrations = MigrationSource::new(dir).load()?;
    let t0 = Instant::now();
    let cluster = EmbeddedCluster::start_with(&options.cluster)?;
    let base = cluster.create_database("rehearsal")?;
    let url: DatabaseUrl = cluster.url(&base).parse()?;
    let provider = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(cluster.bin_dir().to_owned()),
        ..PgDumpOptions::default()
    });
    if let Some(manifest) = &options.from_backup {
        let backup = Backup::open(manifest)?;
        let _restored = provider.restore(&backup, &url, &RestoreOptions::default())?;
    }
    let setup = t0.elapsed();

    // Profile on a copy, statement by statement.
    let pending = PgExecutor::connect(&url)?.status(&migrations)?.pending;
    let copy = format!("{base}_profile");
    cluster
        .connect("postgres")?
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&copy),
            quote_ident(&base)
        ))
        .map_err(|source| crate::connection::ConnectError::Session {
            target: copy.clone(),
            source,
        })?;
    let profile = profile(&mut cluster.connect(&copy)?, &migrations, &pending);

    let backups = tempfile::tempdir().map_err(|e| crate::backup::BackupError::Io {
        action: "create",
        path: std::env::temp_dir(),
        source: e,
    })?;
    // A rehearsal reports findings, it does not block on them.
    let safety = crate::safety::SafetyGate {
        enforce: false,
        data_budget: Some(Duration::from_secs(5)),
        ..crate::safety::SafetyGate::default()
    };
    let pipeline_options = PipelineOptions {
        backup_dir: backups.path().to_owned(),
        safety,
        row_counts: RowCountCheck::Strict,
        health_window: crate::health::RetryWindow::ONCE,
        ..PipelineOptions::default()
    };

    let drill = if options.skip_drill || pending.is_empty() {
        None
    } else {
        let before = state(&url)?;
        let drill = Pipeline::new(url.clone(), dir, pipeline_options.clone())
            .backup_provider(Box::new(provider.clone()))
            .probe(Box::new(ForcedFailure))
            .run(events)
            .err()
            .map(|e| e.report().clone());
        let after = state(&url)?;
        drill.map(|report| Drill {
            strategy: report.rollback.as_ref().map(|r| r.strategy.to_string()),
            rollback: report
                .rollback
                .as_ref()
                .map_or(Duration::ZERO, |r| r.duration),
            state_restored: same_state(&before, &after),
        })
    };

    let pipeline = Pipeline::new(url.clone(), dir, pipeline_options)
        .backup_provider(Box::new(provider))
        .run(events)?;

    let mut executor = PgExecutor::connect(&url)?;
    let again = executor.deploy(&migrations, &DeployOptions::default(), &mut |_| {})?;
    let status = executor.status(&migrations)?;
    let rows = ledger::read_rows(executor.client()?)?;
    let checksum_mismatches = rows
        .iter()
        .filter(|row| row.state() == ledger::RowState::Applied)
        .filter(|row| {
            migrations
                .get(&row.migration_name)
                .and_then(|m| m.script())
                .is_none_or(|script| script.checksum() != row.checksum)
        })
        .map(|row| row.migration_name.clone())
        .collect();
    drop(executor);
    let server_major_version = cluster.server_major_version();
    cluster.stop()?;
    Ok(RehearsalReport {
        server_major_version,
        setup,
        profile,
        drill,
        pipeline,
        second_deploy_noop: again.applied.is_empty(),
        status,
        checksum_mismatches,
    })
}

fn state(url: &DatabaseUrl) -> Result<DatabaseState, Error> {
    let mut client = crate::connection::connect(url)?;
    Ok(DatabaseState::capture(&mut client, "rehearsal")?)
}

/// Schema and row counts equal, the ledger aside (a rolled-back attempt keeps its row).
fn same_state(a: &DatabaseState, b: &DatabaseState) -> bool {
    let rows = |s: &DatabaseState| -> Vec<(String, String, i64)> {
        s.tables
            .iter()
            .filter(|t| t.table != "_prisma_migrations")
            .map(|t| (t.schema.clone(), t.table.clone(), t.rows))
            .collect()
    };
    a.schema_fingerprint == b.schema_fingerprint && rows(a) == rows(b)
}

/// Applies `pending` on `client` statement by statement inside one transaction per migration
/// (when the file allows it), timing each statement and reading the table locks it holds.
fn profile(
    client: &mut Client,
    migrations: &Migrations,
    pending: &[String],
) -> Vec<MigrationProfile> {
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .map(|r| r.get(0))
        .unwrap_or_default();
    let mut out = Vec::new();
    for name in pending {
        let Some(script) = migrations.get(name).and_then(|m| m.script()) else {
            continue;
        };
        let sql = script.sql();
        let shape = TransactionShape::of(sql);
        let t = Instant::now();
        let mut statements = Vec::new();
        if shape.non_transactional.is_empty() && shape.splits.is_empty() {
            let _ = client.batch_execute("BEGIN");
            for st in crate::sql::split(sql) {
                let s0 = Instant::now();
                if client.batch_execute(st.text(sql)).is_err() {
                    break;
                }
                let duration = s0.elapsed();
                let locks = client
                    .query(
                        "SELECT coalesce(c.relname::text, l.locktype) || ': ' || l.mode FROM pg_locks l \
                         LEFT JOIN pg_class c ON c.oid = l.relation \
                         WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted \
                           AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')) \
                           AND c.relkind IN ('r', 'p') ORDER BY 1",
                        &[&pid],
                    )
                    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
                    .unwrap_or_default();
                statements.push(StatementProfile {
                    line: st.start.line,
                    duration,
                    locks,
                });
            }
            let _ = client.batch_execute("COMMIT");
        } else {
            let _ = client.batch_execute(sql);
        }
        out.push(MigrationProfile {
            name: name.clone(),
            duration: t.elapsed(),
            statements,
        });
    }
    out
}
