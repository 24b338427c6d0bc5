//! Running the pipeline.

use std::time::Instant;

use super::verify::{file_assertions, touched_tables, untouched_counts, verify_deployment};
use super::{PipelineError, PipelineOptions, PipelineReport, RollbackMode};
use crate::backup::{backup_verified, BackupProvider, BackupStore, PgDumpBackup, RestoreOptions};
use crate::config::{check_promotion, check_same_schema};
use crate::connection::DatabaseUrl;
use crate::engine::connect_creating;
use crate::executor::{Event, ExecuteError, MigrationExecutor, PgExecutor};
use crate::health::{run_probes, HealthProbe, ProbeContext};
use crate::journal::{Journal, Outcome};
use crate::rollback::{self, Selection};
use crate::safety::Scope;
use crate::source::{MigrationSource, Migrations};
use crate::Error;

/// A deployment pipeline for one database and one migrations directory.
///
/// ```no_run
/// use migrate_core::pipeline::{Pipeline, PipelineOptions};
///
/// let url = "postgresql://app:secret@db/app?schema=public".parse()?;
/// let report = Pipeline::new(url, "prisma/migrations", PipelineOptions::default())
///     .run(&mut |event| log::info!("{event}"))?;
/// log::info!("applied {:?}", report.applied);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Pipeline {
    url: DatabaseUrl,
    source: MigrationSource,
    options: PipelineOptions,
    backup: Box<dyn BackupProvider>,
    probes: Vec<Box<dyn HealthProbe>>,
}

impl Pipeline {
    /// A pipeline with the default parts (`pg_dump` backups, no health probe).
    #[must_use]
    pub fn new(
        url: DatabaseUrl,
        dir: impl Into<std::path::PathBuf>,
        options: PipelineOptions,
    ) -> Self {
        Self {
            url,
            source: MigrationSource::new(dir),
            options,
            backup: Box::new(PgDumpBackup::default()),
            probes: Vec::new(),
        }
    }

    /// Replaces the backup provider.
    #[must_use]
    pub fn backup_provider(mut self, provider: Box<dyn BackupProvider>) -> Self {
        self.backup = provider;
        self
    }

    /// Adds a health probe, run after the deploy and after a rollback.
    #[must_use]
    pub fn probe(mut self, probe: Box<dyn HealthProbe>) -> Self {
        self.probes.push(probe);
        self
    }

    /// Runs every step, reporting through `events`.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Refused`] when a step before the apply fails (nothing changed), and
    /// [`PipelineError::Failed`] when the apply, the verification or the probes fail (the
    /// report says what the rollback did).
    pub fn run(&self, events: &mut dyn FnMut(&Event)) -> Result<PipelineReport, PipelineError> {
        let started = Instant::now();
        let mut report = PipelineReport::default();

        // 1. Preflight: the directory, the server, the history.
        let t = Instant::now();
        let mut preflight = || -> Result<(Migrations, PgExecutor), Error> {
            let migrations = self.source.load()?;
            let mut client = connect_creating(&self.url)?;
            // A restore killed half-way leaves the database read-only: undo that first (this
            // session started read-only too, so it is replaced).
            let undone = crate::backup::recover_interrupted_restore(&mut client, &self.url)?;
            if !undone.is_empty() {
                for message in undone {
                    events(&Event::Warning {
                        migration: None,
                        message,
                    });
                }
                client = connect_creating(&self.url)?;
            }
            Ok((
                migrations,
                PgExecutor::from_client(client, self.url.schema()).with_monitor(self.url.clone()),
            ))
        };
        let (migrations, mut executor) = match preflight() {
            Ok(ok) => ok,
            Err(e) => return Err(refused("preflight", e, &mut report, t, events)),
        };
        // Recover a deployment whose process died, and refuse a non-empty schema without a
        // ledger (P3005), before anything is planned or backed up.
        let ready = executor
            .recover(&migrations, &self.options.deploy, events)
            .and_then(|()| Ok(crate::ledger::check_adoptable(executor.client())?));
        if let Err(e) = ready {
            return Err(refused("preflight", e.into(), &mut report, t, events));
        }
        let plan = match executor.plan(&migrations, &self.options.deploy) {
            Ok(plan) => plan,
            Err(e) => return Err(refused("preflight", e.into(), &mut report, t, events)),
        };
        if !plan.is_deployable() {
            let e = crate::executor::refusal(&migrations, &plan);
            return Err(refused("preflight", e.into(), &mut report, t, events));
        }
        let pending: Vec<String> = plan.migrations.iter().map(|m| m.name.clone()).collect();
        if let Some((from, from_url)) = &self.options.promote_from {
            if let Err(e) = check_promotion(from, from_url, &migrations, &pending) {
                return Err(refused("promotion gate", e, &mut report, t, events));
            }
        }
        report.step(
            "preflight",
            "passed",
            format!("{} pending", pending.len()),
            t.elapsed(),
        );
        step_event(
            events,
            "preflight",
            "passed",
            &format!("{} pending migration(s)", pending.len()),
        );
        if pending.is_empty() {
            report.duration = started.elapsed();
            return Ok(report);
        }

        // 2. Safety gate.
        let t = Instant::now();
        let review = self.options.safety.review(
            &migrations,
            &Scope::pending(pending.clone()),
            Some((executor.client(), self.url.schema())),
        );
        match review {
            Ok(review) => {
                events(&Event::SafetyReviewed {
                    findings: review.report.findings().count(),
                    approved: review
                        .report
                        .findings()
                        .filter(|f| f.approved_by.is_some())
                        .count(),
                });
                if let Some(refusal) = review.refusal().filter(|_| self.options.safety.enforce) {
                    return Err(refused("safety", refusal.into(), &mut report, t, events));
                }
                report.step(
                    "safety",
                    "passed",
                    format!("{} finding(s)", review.report.findings().count()),
                    t.elapsed(),
                );
            }
            Err(e) => return Err(refused("safety", e.into(), &mut report, t, events)),
        }

        // 3. Backup, verified before anything changes.
        let t = Instant::now();
        // Without a backup directory, the rollback planner sees an empty store (down scripts or
        // transactions only); a missing directory lists as empty.
        let store = BackupStore::new(
            self.options
                .backup_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("migrate-no-backups")),
        );
        if self.options.backup_dir.is_some() {
            match backup_verified(
                self.backup.as_ref(),
                &self.url,
                &store,
                self.options.backup_verify,
            ) {
                Ok((backup, verify)) => {
                    events(&Event::BackupCreated {
                        id: backup.id().to_owned(),
                        bytes: backup.manifest.digests.bytes,
                        level: verify.level,
                    });
                    report.backup_id = Some(backup.id().to_owned());
                    report.step(
                        "backup",
                        "passed",
                        format!("{} verified at L{}", backup.id(), verify.level),
                        t.elapsed(),
                    );
                }
                Err(e) => return Err(refused("backup", e.into(), &mut report, t, events)),
            }
        } else {
            report.step(
                "backup",
                "skipped",
                "no backup directory (dangerous)",
                t.elapsed(),
            );
            step_event(events, "backup", "skipped", "deploying without a backup");
        }

        // 4. Apply.
        let t = Instant::now();
        let touched = touched_tables(&migrations, &pending);
        let before = untouched_counts(executor.client(), &touched).ok();
        let applied = executor.deploy(&migrations, &self.options.deploy, events);
        let failure = match applied {
            Ok(deploy) => {
                report.applied = deploy.applied.iter().map(|a| a.name.clone()).collect();
                report.deployment_id.clone_from(&deploy.deployment_id);
                report.step(
                    "apply",
                    "passed",
                    format!("{} applied", report.applied.len()),
                    t.elapsed(),
                );
                report.deploy = Some(deploy);
                None
            }
            Err(e) => {
                report.applied = e.applied_before().to_vec();
                if let ExecuteError::MigrationFailed(f) = &e {
                    report.deployment_id.clone_from(&f.deployment_id);
                }
                report.step("apply", "failed", e.to_string(), t.elapsed());
                Some(("apply", e.to_string(), failed_migration(&e)))
            }
        };
        if let (Some(id), Some(backup)) = (&report.deployment_id, &report.backup_id) {
            let _ = Journal::attach_backup(executor.client(), id, backup);
        }

        // 5. Verification, 6. health: only when the apply passed.
        let failure = failure
            .or_else(|| {
                let t = Instant::now();
                let mut assertions = self
                    .options
                    .assertions
                    .iter()
                    .enumerate()
                    .map(|(i, sql)| (format!("#{}", i + 1), sql.clone()))
                    .collect::<Vec<_>>();
                assertions.extend(file_assertions(&migrations, &report.applied));
                let verified = verify_deployment(
                    executor.client(),
                    &migrations,
                    &report.applied,
                    before.as_ref(),
                    self.options.row_counts,
                    &assertions,
                )
                .map(|mut v| {
                    if let Some((from, from_url)) = &self.options.promote_from {
                        v.checks.push(same_schema_check(from, from_url, &self.url));
                    }
                    v
                });
                match verified {
                    Ok(v) => {
                        let passed = v.passed();
                        for c in &v.checks {
                            events(&Event::Check {
                                step: "verify".into(),
                                name: c.name.clone(),
                                passed: c.passed || c.warning,
                                detail: c.detail.clone(),
                            });
                        }
                        let failures = v.failures();
                        report.step(
                            "verify",
                            if passed { "passed" } else { "failed" },
                            failures.join("; "),
                            t.elapsed(),
                        );
                        report.verification = Some(v);
                        (!passed).then(|| ("verify", failures.join("; "), None))
                    }
                    Err(e) => Some(("verify", e.to_string(), None)),
                }
            })
            .or_else(|| {
                let health = self.health(events, "health")?;
                let failed: Vec<String> = health
                    .probes
                    .iter()
                    .filter(|p| !p.passed)
                    .map(|p| format!("{}: {}", p.name, p.last_error.clone().unwrap_or_default()))
                    .collect();
                report.step(
                    "health",
                    if failed.is_empty() {
                        "passed"
                    } else {
                        "failed"
                    },
                    failed.join("; "),
                    health.elapsed,
                );
                report.health = Some(health);
                (!failed.is_empty()).then(|| ("health", failed.join("; "), None))
            });

        let Some((step, message, failed_name)) = failure else {
            report.duration = started.elapsed();
            step_event(
                events,
                "done",
                "passed",
                &format!("{} migration(s) deployed", report.applied.len()),
            );
            return Ok(report);
        };
        events(&Event::Failed {
            step: step.to_owned(),
            error: first_line(&message),
        });
        self.roll_back(&migrations, &store, failed_name, &mut report, events);
        report.duration = started.elapsed();
        Err(PipelineError::Failed {
            step,
            message,
            report: Box::new(report),
        })
    }

    fn health(
        &self,
        events: &mut dyn FnMut(&Event),
        step: &str,
    ) -> Option<crate::health::HealthReport> {
        if self.probes.is_empty() {
            return None;
        }
        std::thread::sleep(self.options.health_delay);
        let health = run_probes(
            &self.probes,
            &ProbeContext::new(self.url.clone()),
            self.options.health_window,
        );
        for p in &health.probes {
            events(&Event::Check {
                step: step.to_owned(),
                name: p.name.clone(),
                passed: p.passed,
                detail: p
                    .last_error
                    .clone()
                    .unwrap_or_else(|| format!("passed after {} attempt(s)", p.attempts)),
            });
        }
        Some(health)
    }

    /// Undoes what this run applied (and records the failed attempt), as the planner decides.
    fn roll_back(
        &self,
        migrations: &Migrations,
        store: &BackupStore,
        failed: Option<String>,
        report: &mut PipelineReport,
        events: &mut dyn FnMut(&Event),
    ) {
        let t = Instant::now();
        let mut names = report.applied.clone();
        names.extend(failed);
        if names.is_empty() {
            report.step("rollback", "skipped", "nothing to undo", t.elapsed());
            return;
        }
        let plan = rollback::plan(
            &self.url,
            migrations,
            &Selection::Migrations(names.clone()),
            store,
            self.backup.as_ref(),
            self.options.rollback_preference,
        );
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                report.step(
                    "rollback",
                    "failed",
                    format!("no rollback possible: {e}"),
                    t.elapsed(),
                );
                events(&Event::Failed {
                    step: "rollback".into(),
                    error: e.to_string(),
                });
                return;
            }
        };
        events(&Event::RollbackStarted {
            strategy: plan.strategy.to_string(),
            migrations: names.clone(),
            data_loss: serde_json::to_value(&plan.data_loss)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            automatic: self.options.rollback == RollbackMode::Automatic,
        });
        if self.options.rollback == RollbackMode::ReportOnly {
            report.step(
                "rollback",
                "skipped",
                format!("would roll back by {}: {}", plan.strategy, plan.reason),
                t.elapsed(),
            );
            return;
        }
        // A restore rewinds the journal too: keep this deployment's entry to put it back.
        let entry = report.deployment_id.as_ref().and_then(|id| {
            let mut client = crate::connection::connect(&self.url).ok()?;
            Journal::get(&mut client, id).ok().flatten()
        });
        match rollback::execute(
            &plan,
            &self.url,
            self.backup.as_ref(),
            self.options.deploy.lock_wait,
            &RestoreOptions::default(),
        ) {
            Ok(outcome) => {
                if let (Some(entry), Ok(mut client)) =
                    (&entry, crate::connection::connect(&self.url))
                {
                    let _ = Journal::put(&mut client, entry);
                }
                events(&Event::RollbackFinished {
                    strategy: outcome.strategy.to_string(),
                    migrations: outcome.rolled_back.clone(),
                    duration: outcome.duration,
                });
                report.step(
                    "rollback",
                    "passed",
                    format!("{} by {}", outcome.rolled_back.join(", "), outcome.strategy),
                    t.elapsed(),
                );
                let note = format!(
                    "rolled back by {} in {:.1}s",
                    outcome.strategy,
                    outcome.duration.as_secs_f64()
                );
                report.rollback = Some(outcome);
                if let (Some(id), Ok(mut client)) =
                    (&report.deployment_id, crate::connection::connect(&self.url))
                {
                    let _ = Journal::set_outcome(&mut client, id, Outcome::RolledBack, &note);
                }
                report.health_after_rollback = self.health(events, "health after rollback");
            }
            Err(e) => {
                report.step("rollback", "failed", e.to_string(), t.elapsed());
                events(&Event::Failed {
                    step: "rollback".into(),
                    error: e.to_string(),
                });
            }
        }
    }
}

fn failed_migration(e: &ExecuteError) -> Option<String> {
    match e {
        ExecuteError::MigrationFailed(f) => Some(f.name.clone()),
        _ => None,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn step_event(events: &mut dyn FnMut(&Event), step: &str, status: &str, detail: &str) {
    events(&Event::Step {
        step: step.to_owned(),
        status: status.to_owned(),
        detail: detail.to_owned(),
    });
}

fn refused(
    step: &'static str,
    source: Error,
    report: &mut PipelineReport,
    t: Instant,
    events: &mut dyn FnMut(&Event),
) -> PipelineError {
    report.step(step, "failed", source.to_string(), t.elapsed());
    events(&Event::Failed {
        step: step.to_owned(),
        error: first_line(&source.to_string()),
    });
    PipelineError::Refused {
        step,
        source: Box::new(source),
        report: Box::new(std::mem::take(report)),
    }
}

/// Drift detection against the predecessor environment, when both are at the same ledger point.
fn same_schema_check(
    from: &str,
    from_url: &DatabaseUrl,
    url: &DatabaseUrl,
) -> super::VerificationCheck {
    let (passed, detail) = match check_same_schema(from_url, url) {
        Ok(Some((same, detail))) => (same, detail),
        Ok(None) => (
            true,
            format!("{from} is at another ledger point: not compared"),
        ),
        Err(e) => (false, format!("cannot compare with {from}: {e}")),
    };
    super::VerificationCheck {
        name: format!("same schema as {from}"),
        passed,
        warning: false,
        detail,
    }
}
