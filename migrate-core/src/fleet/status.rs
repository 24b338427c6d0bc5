//! [`Fleet::status`]: every target looked at at once, each within a timeout.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::{Fleet, FleetError, Target};
use crate::executor::{MigrationExecutor, PgExecutor};
use crate::journal::{Deployment, Drift, Journal};
use crate::source::{MigrationSource, Migrations};

/// Where one target stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetState {
    /// The target's name.
    pub name: String,
    /// `host:port/database` (and `?schema=`), never the credentials.
    pub location: String,
    /// Its wave.
    pub wave: u32,
    /// True when it answered in time.
    pub reachable: bool,
    /// Applied migrations.
    pub applied: Vec<String>,
    /// Pending migrations.
    pub pending: Vec<String>,
    /// Failed migrations (deploy refuses until resolved).
    pub failed: Vec<String>,
    /// How the schema changed since the last deployment recorded it.
    pub drift: Option<Drift>,
    /// Its last deployment, from its journal.
    pub last_deployment: Option<Deployment>,
    /// Why it could not be read (unreachable, timed out), redacted.
    pub error: Option<String>,
}

impl TargetState {
    /// Reachable, nothing pending or failed.
    #[must_use]
    pub fn is_up_to_date(&self) -> bool {
        self.reachable && self.pending.is_empty() && self.failed.is_empty()
    }
}

/// Where every target of a fleet stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetStatus {
    /// Every target, in file order.
    pub targets: Vec<TargetState>,
}

impl FleetStatus {
    /// True when every target is reachable and up to date.
    #[must_use]
    pub fn is_up_to_date(&self) -> bool {
        self.targets.iter().all(TargetState::is_up_to_date)
    }
}

type Reading = (
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Option<Drift>,
    Option<Deployment>,
);

impl Fleet {
    /// Where every target stands: applied, pending, failed, drift, last deployment. Targets
    /// are read in parallel (at least 8 at once, or [`Fleet::parallel`]), each within
    /// `timeout`: one that does not answer in time, or cannot be reached, is reported as such,
    /// and the others still are.
    ///
    /// # Errors
    ///
    /// [`FleetError::Source`] when the migrations directory cannot be read.
    pub fn status(&self, timeout: Duration) -> Result<FleetStatus, FleetError> {
        let migrations = Arc::new(MigrationSource::new(&self.dir).load()?);
        let mut states = Vec::with_capacity(self.targets.len());
        for chunk in self.targets.chunks(self.parallel.max(8)) {
            let (tx, rx) = mpsc::channel();
            for (i, target) in chunk.iter().enumerate() {
                let (tx, url, migrations) =
                    (tx.clone(), target.url.clone(), Arc::clone(&migrations));
                // Detached, not scoped: a target that hangs past its timeout must not hold the
                // fleet; its thread ends with its connection's own timeout.
                std::thread::spawn(move || {
                    let _ = tx.send((i, read(&url, &migrations)));
                });
            }
            drop(tx);
            let mut found: Vec<Option<Result<Reading, String>>> = vec![None; chunk.len()];
            let deadline = Instant::now() + timeout;
            while found.iter().any(Option::is_none) {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok((i, reading)) => found[i] = Some(reading),
                    Err(_) => break,
                }
            }
            for (target, reading) in chunk.iter().zip(found) {
                let reading = reading.unwrap_or_else(|| {
                    Err(format!(
                        "no answer within {}",
                        crate::event::human_duration(timeout)
                    ))
                });
                states.push(state(target, reading));
            }
        }
        Ok(FleetStatus { targets: states })
    }
}

fn state(target: &Target, reading: Result<Reading, String>) -> TargetState {
    let mut state = TargetState {
        name: target.name.clone(),
        location: target.location(),
        wave: target.wave,
        reachable: false,
        applied: Vec::new(),
        pending: Vec::new(),
        failed: Vec::new(),
        drift: None,
        last_deployment: None,
        error: None,
    };
    match reading {
        Ok((applied, pending, failed, drift, last)) => {
            state.reachable = true;
            state.applied = applied;
            state.pending = pending;
            state.failed = failed;
            state.drift = drift;
            state.last_deployment = last;
        }
        Err(error) => state.error = Some(error),
    }
    state
}

/// One target's ledger, drift and journal (reads only, no lock).
fn read(url: &crate::DatabaseUrl, migrations: &Migrations) -> Result<Reading, String> {
    let status = PgExecutor::connect(url)
        .and_then(|mut e| e.status(migrations))
        .map_err(|e| e.to_string())?;
    let mut client = crate::connection::connect(url).map_err(|e| e.to_string())?;
    // Advice, not a verdict: a target whose drift cannot be checked still answers.
    let drift = crate::journal::detect_drift(&mut client, &url.target())
        .ok()
        .flatten();
    let last = Journal::list(&mut client, 1)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next();
    Ok((status.applied, status.pending, status.failed, drift, last))
}
