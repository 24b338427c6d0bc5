//! Dress rehearsal: deploy a whole migrations directory from scratch on a throwaway cluster.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::embedded::{EmbeddedCluster, EmbeddedOptions};
use crate::executor::{DeployOptions, DeployReport, Event, MigrationExecutor, PgExecutor};
use crate::ledger::{self, HistoryStatus};
use crate::source::MigrationSource;
use crate::{DatabaseUrl, Error};

/// What a rehearsal found.
#[derive(Debug, Clone, serde::Serialize)]
#[must_use]
pub struct RehearsalReport {
    /// Major version of the throwaway server.
    pub server_major_version: u32,
    /// Time to start the cluster and create the database.
    pub setup: Duration,
    /// The deployment from scratch.
    pub deploy: DeployReport,
    /// The history after the deployment (should be up to date).
    pub status: HistoryStatus,
    /// Ledger rows whose checksum differs from the SHA-256 of their file.
    pub checksum_mismatches: Vec<String>,
    /// True when a second deployment found nothing to do.
    pub second_deploy_noop: bool,
}

impl RehearsalReport {
    /// True when everything applied, the history is up to date, every checksum matches, and a
    /// second deployment was a no-op.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.status.is_up_to_date()
            && self.checksum_mismatches.is_empty()
            && self.second_deploy_noop
    }
}

/// Starts a throwaway PostgreSQL cluster, deploys every migration of `dir` to a fresh database,
/// then checks that the history is up to date, that every ledger checksum equals the SHA-256 of
/// its file, and that deploying again does nothing. The cluster is removed afterwards.
///
/// # Errors
///
/// [`Error::Source`] for a bad directory, [`Error::Embedded`] when no cluster can be started,
/// and [`Error::Execute`] when a migration fails.
pub fn rehearse(
    dir: &Path,
    cluster_options: &EmbeddedOptions,
    events: &mut dyn FnMut(&Event),
) -> Result<RehearsalReport, Error> {
    let migrations = MigrationSource::new(dir).load()?;
    let t0 = Instant::now();
    let cluster = EmbeddedCluster::start_with(cluster_options)?;
    let database = cluster.create_database("rehearsal")?;
    let url: DatabaseUrl = cluster.url(&database).parse()?;
    let setup = t0.elapsed();

    let mut executor = PgExecutor::connect(&url)?;
    let options = DeployOptions::default();
    let deploy = executor.deploy(&migrations, &options, events)?;
    let again = executor.deploy(&migrations, &options, &mut |_| {})?;
    let status = executor.status(&migrations)?;
    let rows = ledger::read_rows(executor.client())?;
    let checksum_mismatches = rows
        .iter()
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
        second_deploy_noop: again.applied.is_empty(),
        deploy,
        status,
        checksum_mismatches,
    })
}
