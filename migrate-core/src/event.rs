//! Progress events of a deployment: the ground floor every part reports through, so that the
//! parts below the executor (backups, health probes, sinks) speak the same language as it.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// Something that happened during a deployment, in order. Consumers (the CLI, a service's
/// logger, the pipeline's sinks) render them; the library never prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The migration lock is held by another session; we wait.
    LockWaiting {
        /// The session holding it, when visible.
        holder: Option<LockHolder>,
    },
    /// The migration lock is ours.
    LockAcquired {
        /// How long it took.
        #[serde(serialize_with = "millis", rename = "waited_ms")]
        waited: Duration,
    },
    /// `_prisma_migrations` was created.
    LedgerCreated,
    /// A deployment whose process died was found and recovered.
    Recovered {
        /// Its journal id.
        deployment: String,
        /// Migrations it was running, rolled back by PostgreSQL: applied again by this run.
        resumed: Vec<String>,
        /// Migrations it was running whose effect was complete: recorded as applied.
        completed: Vec<String>,
        /// Migrations it was running whose files commit part of themselves: still failed.
        unresolved: Vec<String>,
    },
    /// A pipeline step changed state.
    Step {
        /// The step (`preflight`, `backup`, `done`…).
        step: String,
        /// `passed`, `failed`, `skipped`.
        status: String,
        /// What it found or did.
        detail: String,
    },
    /// The pre-deploy backup is being written.
    BackupProgress {
        /// Bytes the dump has produced so far.
        bytes: u64,
        /// Since the backup started.
        #[serde(serialize_with = "millis", rename = "elapsed_ms")]
        elapsed: Duration,
    },
    /// The pre-deploy backup was taken and verified.
    BackupCreated {
        /// Its id.
        id: String,
        /// Its size.
        bytes: u64,
        /// The verification level it passed.
        level: u8,
    },
    /// A verification check or a health probe result.
    Check {
        /// `verify`, `health`, `health after rollback`.
        step: String,
        /// The check or probe.
        name: String,
        /// Whether it passed.
        passed: bool,
        /// What was found.
        detail: String,
    },
    /// A rollback starts (or, in report-only mode, would start).
    RollbackStarted {
        /// The strategy chosen by the planner.
        strategy: String,
        /// The migrations to undo.
        migrations: Vec<String>,
        /// What will be lost (JSON).
        data_loss: String,
        /// False in report-only mode.
        automatic: bool,
    },
    /// A rollback finished.
    RollbackFinished {
        /// The strategy used.
        strategy: String,
        /// The migrations undone.
        migrations: Vec<String>,
        /// How long it took.
        #[serde(serialize_with = "millis", rename = "duration_ms")]
        duration: Duration,
    },
    /// A step failed.
    Failed {
        /// The step.
        step: String,
        /// The error's first line.
        error: String,
    },
    /// The safety gate reviewed the pending migrations.
    SafetyReviewed {
        /// Findings of every severity.
        findings: usize,
        /// Destructive or high-risk findings, all approved (or the deployment stops).
        approved: usize,
    },
    /// The backward-compatibility check of the safety gate ran: the running application's
    /// statements against the pending migrations.
    CompatChecked {
        /// Statements checked.
        statements: usize,
        /// Statements a pending migration breaks.
        breaks: usize,
        /// Statements not checked against every migration (time budget, failed copy).
        unchecked: usize,
        /// The whole result, in one line.
        summary: String,
    },
    /// Pending migrations were found; this is what will run.
    Planned {
        /// Names of the migrations to apply, in order.
        pending: Vec<String>,
        /// Migrations already applied.
        already_applied: usize,
    },
    /// Something the user should know that does not stop the deployment.
    Warning {
        /// The migration concerned, if any.
        migration: Option<String>,
        /// What to know.
        message: String,
    },
    /// A migration starts.
    MigrationStarted {
        /// Its name.
        name: String,
        /// 1-based position among the pending migrations.
        index: usize,
        /// Number of pending migrations.
        total: usize,
    },
    /// A migration waits for a lock held by another session.
    LockWait {
        /// The migration.
        migration: String,
        /// The session holding the lock (pid, application, query, age).
        blocker: LockHolder,
        /// How long the migration has waited so far.
        #[serde(serialize_with = "millis", rename = "waited_ms")]
        waited: Duration,
    },
    /// The watchdog cancelled a migration that kept application sessions waiting.
    WatchdogCancelled {
        /// The migration.
        migration: String,
        /// Sessions queued behind it.
        blocked_sessions: i64,
        /// The longest of their waits.
        #[serde(serialize_with = "millis", rename = "longest_wait_ms")]
        longest_wait: Duration,
    },
    /// A migration is tried again after a lock timeout or a watchdog cancel.
    Retry {
        /// The migration.
        migration: String,
        /// The attempt about to start (2 for the first retry).
        attempt: u32,
        /// The delay before it.
        #[serde(serialize_with = "millis", rename = "delay_ms")]
        delay: Duration,
        /// Why.
        reason: String,
    },
    /// Progress of a long statement (an index build).
    StatementProgress {
        /// The migration.
        migration: String,
        /// The phase reported by PostgreSQL.
        phase: String,
        /// Blocks done.
        done: i64,
        /// Blocks in total.
        total: i64,
    },
    /// A migration was applied and recorded.
    MigrationApplied {
        /// Its name.
        name: String,
        /// How long the script took.
        #[serde(serialize_with = "millis", rename = "duration_ms")]
        duration: Duration,
    },
    /// A migration failed; its row records the error.
    MigrationFailed {
        /// Its name.
        name: String,
        /// The database error.
        error: String,
    },
    /// An event of one target of a fleet, tagged with the target's name (the sinks of a fleet
    /// see every target's events this way, in the order they happened).
    Target {
        /// The target's name in the targets file.
        target: String,
        /// What happened there.
        #[serde(rename = "target_event")]
        event: Box<Event>,
    },
    /// A wave of a fleet deployment ended: its one summary (the webhook's message per wave).
    WaveFinished {
        /// The wave's number.
        wave: u32,
        /// Targets of the wave.
        targets: usize,
        /// Targets that were deployed or already up to date.
        succeeded: usize,
        /// Targets whose deployment failed or was refused.
        failed: Vec<String>,
        /// Targets not started (a failure or a stop halted the wave).
        not_started: usize,
        /// How long the wave took.
        #[serde(serialize_with = "millis", rename = "duration_ms")]
        duration: Duration,
        /// False when a failure or a stop means no later wave starts.
        continuing: bool,
    },
    /// The deployment ended successfully.
    Finished {
        /// Number of migrations applied.
        applied: usize,
        /// Total time, lock wait included.
        #[serde(serialize_with = "millis", rename = "duration_ms")]
        duration: Duration,
    },
}

/// Names as a person reads them: `a, b, c`, or `none`.
pub(crate) fn names<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most `shown` names, then how many more: a history of 820 migrations is not one line of
/// 30 kB (which also filled a reader's pipe before the deployment's own lines).
pub(crate) fn names_brief<S: AsRef<str>>(names: &[S], shown: usize) -> String {
    if names.len() <= shown {
        return self::names(names);
    }
    format!(
        "{} and {} more",
        self::names(&names[..shown]),
        names.len() - shown
    )
}

/// Serializes a duration as milliseconds (to the microsecond), the one shape of every duration
/// in the JSON output (fields named `…_ms`).
pub(crate) fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(ms(*d))
}

/// `d` in milliseconds, to the microsecond.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl Event {
    /// Whether this is a periodic progress report (backup bytes, index build blocks) rather
    /// than a milestone or a failure.
    #[must_use]
    pub fn is_progress(&self) -> bool {
        match self {
            Self::Target { event, .. } => event.is_progress(),
            _ => matches!(
                self,
                Self::BackupProgress { .. } | Self::StatementProgress { .. }
            ),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LockWaiting { holder: Some(h) } => {
                write!(f, "waiting for the migration lock, held by {h}")?;
                if h.application_name.starts_with("migrate") && h.state == "active" {
                    // Our own deployment, or the backend of one whose process died: PostgreSQL
                    // notices the lost client within a second and frees the lock.
                    f.write_str(
                        " (a deployment; if its process died, the server ends it within a second)",
                    )?;
                }
                Ok(())
            }
            Self::LockWaiting { holder: None } => f.write_str("waiting for the migration lock"),
            Self::LockAcquired { waited } => {
                write!(
                    f,
                    "migration lock acquired after {}",
                    human_duration(*waited)
                )
            }
            Self::LedgerCreated => f.write_str("created _prisma_migrations"),
            Self::Step {
                step,
                status,
                detail,
            } => write!(f, "{step}: {status} ({detail})"),
            Self::BackupProgress { bytes, elapsed } => {
                let secs = elapsed.as_secs_f64().max(0.001);
                write!(
                    f,
                    "backup: {} written in {} ({}/s)",
                    human_bytes(*bytes),
                    human_duration(*elapsed),
                    // Whole bytes per second: the fraction says nothing.
                    human_bytes((*bytes as f64 / secs) as u64)
                )
            }
            Self::BackupCreated { id, bytes, level } => {
                write!(
                    f,
                    "backup {id} taken ({bytes} bytes), verified at level {level}"
                )
            }
            Self::Check {
                step,
                name,
                passed,
                detail,
            } => write!(
                f,
                "{step}: {} {name}: {detail}",
                if *passed { "ok" } else { "FAILED" }
            ),
            Self::RollbackStarted {
                strategy,
                migrations,
                data_loss,
                automatic,
            } => write!(
                f,
                "{} {} by {strategy}; data lost: {data_loss}",
                if *automatic {
                    "rolling back"
                } else {
                    "would roll back (report only)"
                },
                migrations.join(", ")
            ),
            Self::RollbackFinished {
                strategy,
                migrations,
                duration,
            } => write!(
                f,
                "rolled back {} by {strategy} in {}",
                migrations.join(", "),
                human_duration(*duration)
            ),
            Self::Failed { step, error } => write!(f, "{step} failed: {error}"),
            Self::Recovered {
                deployment,
                resumed,
                completed,
                unresolved,
            } => write!(
                f,
                "deployment {deployment} was interrupted (its process died): resuming {}, \
                 found complete {}{}",
                names(resumed),
                names(completed),
                if unresolved.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", unresolved {} (need `migrate resolve`)",
                        names(unresolved)
                    )
                }
            ),
            Self::CompatChecked { summary, .. } => f.write_str(summary),
            Self::SafetyReviewed { findings, approved } => write!(
                f,
                "safety review: {findings} finding(s), {approved} approved destructive change(s)"
            ),
            Self::Planned {
                pending,
                already_applied,
            } => write!(
                f,
                "{} pending migration(s), {already_applied} already applied",
                pending.len()
            ),
            Self::Warning {
                migration: Some(m),
                message,
            } => write!(f, "warning: {m}: {message}"),
            Self::Warning {
                migration: None,
                message,
            } => write!(f, "warning: {message}"),
            Self::LockWait {
                migration,
                blocker,
                waited,
            } => write!(
                f,
                "{migration} waits for a lock held by {blocker} (waited {})",
                human_duration(*waited)
            ),
            Self::WatchdogCancelled {
                migration,
                blocked_sessions,
                longest_wait,
            } => write!(
                f,
                "watchdog cancelled {migration}: {blocked_sessions} session(s) queued behind it, \
                 the longest for {}",
                human_duration(*longest_wait)
            ),
            Self::Retry {
                migration,
                attempt,
                delay,
                reason,
            } => write!(
                f,
                "retrying {migration} (attempt {attempt}) in {}: {reason}",
                human_duration(*delay)
            ),
            Self::StatementProgress {
                migration,
                phase,
                done,
                total,
            } => write!(f, "{migration}: {phase} {done}/{total} blocks"),
            Self::MigrationStarted { name, index, total } => {
                write!(f, "[{index}/{total}] applying {name}")
            }
            Self::MigrationApplied { name, duration } => {
                write!(f, "applied {name} in {}", human_duration(*duration))
            }
            Self::MigrationFailed { name, error } => write!(f, "migration {name} failed: {error}"),
            Self::Target { target, event } => write!(f, "[{target}] {event}"),
            Self::WaveFinished {
                wave,
                targets,
                succeeded,
                failed,
                not_started,
                duration,
                continuing,
            } => {
                write!(
                    f,
                    "wave {wave} finished in {}: {succeeded}/{targets} target(s) up to date",
                    human_duration(*duration)
                )?;
                if !failed.is_empty() {
                    write!(f, ", failed: {}", names(failed))?;
                }
                if *not_started > 0 {
                    write!(f, ", {not_started} not started")?;
                }
                if !continuing {
                    f.write_str("; no later wave starts")?;
                }
                Ok(())
            }
            Self::Finished { applied, duration } => {
                write!(
                    f,
                    "{applied} migration(s) applied in {}",
                    human_duration(*duration)
                )
            }
        }
    }
}

/// Formats a duration for people: `850ms`, `12.3s`, `4m05s`.
#[must_use]
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

/// A byte count for people: `512 B`, `3.4 MB`, `1.2 GB` (powers of 1000, as disks are sold).
#[must_use]
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The session holding the migration lock, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LockHolder {
    /// Backend process id.
    pub pid: i32,
    /// `application_name` of the session.
    pub application_name: String,
    /// The last query of the session.
    pub query: String,
    /// `active`, `idle`, `idle in transaction`, …
    pub state: String,
    /// Seconds since that session's current state began.
    pub state_seconds: f64,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut query: String = self.query.split_whitespace().collect::<Vec<_>>().join(" ");
        if query.chars().count() > 120 {
            query = query.chars().take(117).collect::<String>() + "...";
        }
        write!(
            f,
            "pid {} (application {:?}, {} for {:.0}s, query {:?})",
            self.pid, self.application_name, self.state, self.state_seconds, query
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_backup_progress_read_well() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(20_480_000), "20.5 MB");
        assert_eq!(human_bytes(1_105_000_000), "1.1 GB");
        let event = Event::BackupProgress {
            bytes: 50_000_000,
            elapsed: Duration::from_secs(5),
        };
        assert_eq!(
            event.to_string(),
            format!(
                "backup: 50.0 MB written in {} (10.0 MB/s)",
                human_duration(Duration::from_secs(5))
            )
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "backup_progress");
        assert_eq!(json["elapsed_ms"], 5000.0);
    }
}
