//! [`run_probes`]: every probe retried until it passes or the window ends.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::error_chain;
use super::{HealthError, HealthProbe, ProbeContext};
use crate::event::human_duration;

/// How long failing probes are retried, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryWindow {
    /// Time from the start of [`run_probes`] after which no new attempt starts. Each probe makes
    /// at least one attempt; an attempt in progress at the end finishes within its own timeout.
    pub window: Duration,
    /// Pause between two attempts of a failing probe.
    pub interval: Duration,
}

impl RetryWindow {
    /// One attempt, no retry.
    pub const ONCE: Self = Self {
        window: Duration::ZERO,
        interval: Duration::ZERO,
    };
}

impl Default for RetryWindow {
    /// 60 s, every 2 s: long enough for a rolling restart of the application.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            interval: Duration::from_secs(2),
        }
    }
}

/// What happened to one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeOutcome {
    /// The probe's [`name`](HealthProbe::name).
    pub name: String,
    /// Whether its last attempt passed.
    pub passed: bool,
    /// Attempts made (at least 1).
    pub attempts: u32,
    /// Time from the start of the run to its last attempt's end.
    #[serde(serialize_with = "crate::event::millis", rename = "elapsed_ms")]
    pub elapsed: Duration,
    /// The error of its last failed attempt, sources included; `None` when it passed.
    pub last_error: Option<String>,
}

/// The outcome of every probe, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct HealthReport {
    /// One outcome per probe, in the order given to [`run_probes`].
    pub probes: Vec<ProbeOutcome>,
    /// Time of the whole run.
    #[serde(serialize_with = "crate::event::millis", rename = "elapsed_ms")]
    pub elapsed: Duration,
}

impl HealthReport {
    /// Whether every probe passed (true when there are none).
    #[must_use]
    pub fn passed(&self) -> bool {
        self.probes.iter().all(|p| p.passed)
    }

    /// The probes that failed.
    pub fn failed(&self) -> impl Iterator<Item = &ProbeOutcome> {
        self.probes.iter().filter(|p| !p.passed)
    }

    /// `Ok` when every probe passed.
    ///
    /// # Errors
    ///
    /// [`HealthError::Unhealthy`] naming each failed probe and its last error.
    pub fn ensure_passed(&self) -> Result<(), HealthError> {
        if self.passed() {
            return Ok(());
        }
        Err(HealthError::Unhealthy {
            failed: self
                .failed()
                .map(|p| {
                    format!(
                        "{} ({} attempt(s)): {}",
                        p.name,
                        p.attempts,
                        p.last_error.as_deref().unwrap_or("failed")
                    )
                })
                .collect(),
            total: self.probes.len(),
        })
    }
}

/// Runs every probe concurrently (one thread each), retrying a failing one every
/// `window.interval` until it passes or `window.window` has elapsed since the start.
/// Failed attempts are logged at debug level, outcomes at info (target `migrate_core::health`).
pub fn run_probes(
    probes: &[Box<dyn HealthProbe>],
    ctx: &ProbeContext,
    window: RetryWindow,
) -> HealthReport {
    let start = Instant::now();
    let deadline = start + window.window;
    let probes = std::thread::scope(|scope| {
        let handles: Vec<_> = probes
            .iter()
            .map(|probe| {
                let run = move || run_one(probe.as_ref(), ctx, window, start, deadline);
                // Without a thread (resource limits), the probe still runs, only not in parallel.
                match std::thread::Builder::new()
                    .name("migrate-probe".into())
                    .spawn_scoped(scope, run)
                {
                    Ok(handle) => (probe, Err(handle)),
                    Err(e) => {
                        log::debug!(target: "migrate_core::health", "no thread for a probe, running it inline: {e}");
                        (probe, Ok(run()))
                    }
                }
            })
            .collect();
        handles
            .into_iter()
            .map(|(probe, outcome)| {
                outcome.or_else(|handle| handle.join()).unwrap_or_else(|_| {
                    // A panicking probe is a failed probe, not a crashed deployment.
                    ProbeOutcome {
                        name: probe.name(),
                        passed: false,
                        attempts: 1,
                        elapsed: start.elapsed(),
                        last_error: Some("the probe panicked".to_owned()),
                    }
                })
            })
            .collect()
    });
    HealthReport {
        probes,
        elapsed: start.elapsed(),
    }
}

fn run_one(
    probe: &dyn HealthProbe,
    ctx: &ProbeContext,
    window: RetryWindow,
    start: Instant,
    deadline: Instant,
) -> ProbeOutcome {
    let name = probe.name();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = probe.check(ctx);
        let elapsed = start.elapsed();
        let last_error = match result {
            Ok(()) => {
                log::info!(target: "migrate_core::health", "{name}: passed after {attempts} attempt(s) in {}", human_duration(elapsed));
                return ProbeOutcome {
                    name,
                    passed: true,
                    attempts,
                    elapsed,
                    last_error: None,
                };
            }
            Err(failure) => error_chain(&failure),
        };
        log::debug!(target: "migrate_core::health", "{name}: attempt {attempts} failed: {last_error}");
        let next = Instant::now() + window.interval;
        if next >= deadline {
            log::info!(target: "migrate_core::health", "{name}: failed after {attempts} attempt(s) in {}: {last_error}", human_duration(elapsed));
            return ProbeOutcome {
                name,
                passed: false,
                attempts,
                elapsed,
                last_error: Some(last_error),
            };
        }
        std::thread::sleep(window.interval);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::health::ProbeFailure;

    /// Fails its first `fail` attempts.
    #[derive(Debug)]
    struct Flaky {
        fail: u32,
        calls: AtomicU32,
    }

    impl HealthProbe for Flaky {
        fn name(&self) -> String {
            format!("flaky {}", self.fail)
        }
        fn check(&self, _: &ProbeContext) -> Result<(), ProbeFailure> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail {
                Err(ProbeFailure::NoDatabase)
            } else {
                Ok(())
            }
        }
    }

    fn flaky(fail: u32) -> Box<dyn HealthProbe> {
        Box::new(Flaky {
            fail,
            calls: AtomicU32::new(0),
        })
    }

    #[test]
    fn run_probes_retries_until_pass_or_window_end() {
        let window = RetryWindow {
            window: Duration::from_millis(300),
            interval: Duration::from_millis(20),
        };
        let report = run_probes(
            &[flaky(2), flaky(u32::MAX)],
            &ProbeContext::without_database(),
            window,
        );
        assert!(!report.passed());
        let [ok, bad] = &report.probes[..] else {
            panic!("two outcomes expected: {report:?}")
        };
        assert!(
            ok.passed && ok.attempts == 3 && ok.last_error.is_none(),
            "{ok:?}"
        );
        assert!(!bad.passed && bad.attempts >= 5, "{bad:?}");
        assert!(bad.elapsed < Duration::from_millis(600), "{bad:?}");
        let error = report.ensure_passed().unwrap_err().to_string();
        assert!(
            error.starts_with("1 of 2 health probe(s) failed: flaky"),
            "{error}"
        );
    }

    #[test]
    fn run_probes_once_makes_one_attempt() {
        let report = run_probes(&[flaky(1)], &ProbeContext::default(), RetryWindow::ONCE);
        assert_eq!(report.probes[0].attempts, 1);
        assert!(!report.probes[0].passed);
        assert!(run_probes(&[], &ProbeContext::default(), RetryWindow::ONCE).passed());
    }
}
