//! Running the pipeline.

use std::time::Instant;

use super::presence::Presence;
use super::verify::{file_assertions, touched_tables, untouched_counts, verify_deployment};
use super::DriftPolicy;
use super::{PipelineError, PipelineOptions, PipelineReport, RollbackMode};
use crate::backup::{
    backup_verified_observed, progress_events, BackupProvider, BackupStore, PgDumpBackup,
    RestoreOptions,
};
use crate::config::{check_promotion, check_same_schema};
use crate::connection::DatabaseUrl;
use crate::engine::connect_creating;
use crate::executor::{Event, ExecuteError, MigrationExecutor, PgExecutor};
use crate::health::{run_probes, HealthProbe, ProbeContext};
use crate::journal::{Deployment, Journal, Outcome};
use crate::rollback::{self, Selection, StrategyKind};
use crate::safety::Scope;
use crate::source::{MigrationSource, Migrations};
use crate::Error;

/// A failed step: its name, the message, and the migration that failed, if one did.
type Failure = (&'static str, String, Option<String>);

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
    /// [`PipelineError::Refused`] when a step before the apply fails (nothing changed),
    /// [`PipelineError::Drift`] when the schema drifted and the policy refuses, and
    /// [`PipelineError::Failed`] when the apply, the verification or the probes fail (the
    /// report says what the rollback did), or when finishing a dead pipeline's job rolled it
    /// back.
    pub fn run(&self, events: &mut dyn FnMut(&Event)) -> Result<PipelineReport, PipelineError> {
        let started = Instant::now();
        let mut report = PipelineReport::default();

        // 1. Preflight: the directory, the server, the history.
        let t = Instant::now();
        let mut preflight = || -> Result<(Migrations, PgExecutor, Presence), Error> {
            let migrations = self.source.load()?;
            let mut client = match connect_creating(&self.url) {
                Ok(client) => client,
                // A restore killed while the database was closed to new sessions: only a
                // maintenance session can reopen it.
                Err(e) if !closed_to_sessions(&e) => return Err(e),
                Err(e) => {
                    match crate::backup::recover_interrupted_restore_without_target(&self.url) {
                        Ok(undone) if !undone.is_empty() => {
                            for message in undone {
                                events(&Event::Warning {
                                    migration: None,
                                    message,
                                });
                            }
                            connect_creating(&self.url)?
                        }
                        _ => return Err(e),
                    }
                }
            };
            let presence = Presence::join(&self.url, self.options.deploy.lock_wait)?;
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
                presence,
            ))
        };
        let (migrations, mut executor, mut presence) = match preflight() {
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
        // Without a backup directory, the rollback planner sees an empty store (down scripts or
        // transactions only); a missing directory lists as empty.
        let store = BackupStore::new(
            self.options
                .backup_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("migrate-no-backups")),
        );
        // A pipeline that died after applying, during its checks or its rollback: finish its job
        // before anything new, unless another pipeline is alive (it may be that one's).
        let orphan = match presence.others_alive() {
            Ok(false) => Journal::unfinished(executor.client())
                .ok()
                .and_then(|d| d.into_iter().next()),
            _ => None,
        };
        // Exclusively: pipelines that start meanwhile wait in their preflight, so nothing is
        // applied while the dead one's checks or rollback run. Someone may have joined since the
        // check above: then it is left to a later run.
        let orphan = orphan.filter(|_| presence.claim().unwrap_or(false));
        if let Some(orphan) = orphan {
            let resumed = self.resume(
                &orphan,
                &migrations,
                &mut executor,
                &store,
                &mut report,
                events,
            );
            match resumed {
                // What this run does next is its own: the dead deployment's ids, migrations and
                // checks stay in the journal, not in this report.
                Ok(()) => {
                    presence.release();
                    report.deployment_id = None;
                    report.backup_id = None;
                    report.applied.clear();
                    report.verification = None;
                    report.health = None;
                }
                Err(mut e) => {
                    if let PipelineError::Failed { report, .. } = &mut e {
                        report.duration = started.elapsed();
                    }
                    return Err(e);
                }
            }
        }
        if let Err(found) = self.check_drift(executor.client(), &mut report, events) {
            report.step("preflight", "failed", found.to_string(), t.elapsed());
            report.duration = started.elapsed();
            return Err(PipelineError::Drift {
                drift: Box::new(found),
                report: Box::new(report),
            });
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
        if self.options.backup_dir.is_some() {
            let taken = backup_verified_observed(
                self.backup.as_ref(),
                &self.url,
                &store,
                self.options.backup_verify,
                &mut progress_events(self.options.progress_interval, events),
            );
            match taken {
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
        let mut deploy_options = self.options.deploy.clone();
        deploy_options.journal_outcome = Outcome::Verifying;
        let applied = executor.deploy(&migrations, &deploy_options, events);
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
        let failure = failure.or_else(|| {
            self.check(
                executor.client(),
                &migrations,
                before.as_ref(),
                &mut report,
                events,
            )
        });

        let Some((step, message, failed_name)) = failure else {
            if let Some(id) = &report.deployment_id {
                let _ = Journal::set_outcome(
                    executor.client(),
                    id,
                    Outcome::Succeeded,
                    "verification and health checks passed",
                );
                crate::journal::record_schema(executor.client(), id, &self.url.target());
            }
            report.duration = started.elapsed();
            step_event(
                events,
                "done",
                "passed",
                &format!("{} migration(s) deployed", report.applied.len()),
            );
            return Ok(report);
        };
        let error = self.fail(
            executor.client(),
            (step, message, failed_name),
            &migrations,
            &store,
            &mut report,
            events,
        );
        report.duration = started.elapsed();
        Err(error(report))
    }

    /// Compares the schema with the one the last deployment recorded, per the drift policy:
    /// `Err` with the drift when it refuses.
    fn check_drift(
        &self,
        client: &mut postgres::Client,
        report: &mut PipelineReport,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), crate::journal::Drift> {
        if self.options.drift == DriftPolicy::Ignore {
            return Ok(());
        }
        let found = match crate::journal::detect_drift(client, &self.url.target()) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(()),
            // Drift is advice: not being able to look does not stop a deployment.
            Err(e) => {
                log::warn!(target: "migrate_core::pipeline", "drift check: {e}");
                return Ok(());
            }
        };
        report.drift = Some(found.clone());
        if self.options.drift == DriftPolicy::Refuse {
            events(&Event::Failed {
                step: "preflight".into(),
                error: found.to_string(),
            });
            return Err(found);
        }
        events(&Event::Warning {
            migration: None,
            message: found.to_string(),
        });
        if self.options.drift == DriftPolicy::Accept {
            crate::journal::record_schema_latest(client, &self.url.target());
            events(&Event::Warning {
                migration: None,
                message: "drift accepted: this schema is the expected one from now on".into(),
            });
        }
        Ok(())
    }

    /// Steps 5 and 6: verification of the applied migrations, then the health probes. Returns
    /// the failure (step, message, failed migration), if any.
    fn check(
        &self,
        client: &mut postgres::Client,
        migrations: &Migrations,
        before: Option<&std::collections::BTreeMap<String, i64>>,
        report: &mut PipelineReport,
        events: &mut dyn FnMut(&Event),
    ) -> Option<Failure> {
        let t = Instant::now();
        let mut assertions = self
            .options
            .assertions
            .iter()
            .enumerate()
            .map(|(i, sql)| (format!("#{}", i + 1), sql.clone()))
            .collect::<Vec<_>>();
        assertions.extend(file_assertions(migrations, &report.applied));
        let verified = verify_deployment(
            client,
            migrations,
            &report.applied,
            before,
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
                if !passed {
                    return Some(("verify", failures.join("; "), None));
                }
            }
            Err(e) => return Some(("verify", e.to_string(), None)),
        }
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
    }

    /// A failed step: recorded as rolling back, then rolled back as the planner decides.
    /// Returns the error to give, once the report is complete.
    fn fail(
        &self,
        client: &mut postgres::Client,
        (step, message, failed_name): Failure,
        migrations: &Migrations,
        store: &BackupStore,
        report: &mut PipelineReport,
        events: &mut dyn FnMut(&Event),
    ) -> impl FnOnce(PipelineReport) -> PipelineError {
        events(&Event::Failed {
            step: step.to_owned(),
            error: first_line(&message),
        });
        if let Some(id) = &report.deployment_id {
            let note = format!("{step} failed: {}", first_line(&message));
            let _ = Journal::set_outcome(client, id, Outcome::RollingBack, &note);
        }
        self.roll_back(migrations, store, failed_name, report, events);
        move |report| PipelineError::Failed {
            step,
            message,
            report: Box::new(report),
        }
    }

    /// Finishes what a pipeline whose process died left: its checks (`verifying`), then the
    /// rollback if they fail, or its rollback (`rolling_back`). `Err` when it was rolled back:
    /// this run stops there, as the dead one would have.
    fn resume(
        &self,
        orphan: &Deployment,
        migrations: &Migrations,
        executor: &mut PgExecutor,
        store: &BackupStore,
        report: &mut PipelineReport,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), PipelineError> {
        let client = executor.client();
        // Deployments followed the dead one (replicas that do not announce themselves): its
        // rollback would undo theirs too. It stays for a person.
        let latest = Journal::list(client, 1)
            .ok()
            .and_then(|d| d.into_iter().next().map(|d| d.id));
        if latest.as_deref() != Some(orphan.id.as_str()) {
            let note = "its process died during its checks or rollback; later deployments \
                        followed, so it was not resumed";
            let _ = Journal::set_outcome(client, &orphan.id, Outcome::Interrupted, note);
            events(&Event::Warning {
                migration: None,
                message: format!("deployment {}: {note}", orphan.id),
            });
            return Ok(());
        }
        // Only what is still applied: a down-script rollback may have undone part of it.
        let rows = match crate::ledger::read_rows(client) {
            Ok(rows) => rows,
            Err(e) => {
                return Err(refused(
                    "preflight",
                    e.into(),
                    report,
                    Instant::now(),
                    events,
                ))
            }
        };
        let applied_now: Vec<String> = rows
            .into_iter()
            .filter(|r| r.state() == crate::ledger::RowState::Applied)
            .map(|r| r.migration_name)
            .collect();
        report.deployment_id = Some(orphan.id.clone());
        report.backup_id.clone_from(&orphan.backup_id);
        report.applied = orphan
            .applied
            .iter()
            .filter(|n| applied_now.contains(n))
            .cloned()
            .collect();
        let failure = match orphan.outcome {
            Outcome::Verifying => {
                events(&Event::Warning {
                    migration: None,
                    message: format!(
                        "deployment {} ({}) died during its checks after applying {:?}: \
                         checking now",
                        orphan.id, orphan.actor, report.applied
                    ),
                });
                self.check(client, migrations, None, report, events)
            }
            _ => {
                events(&Event::Warning {
                    migration: None,
                    message: format!(
                        "deployment {} ({}) died while rolling back {:?} ({}): finishing the \
                         rollback",
                        orphan.id,
                        orphan.actor,
                        report.applied,
                        orphan.note.as_deref().unwrap_or("no reason recorded")
                    ),
                });
                let reason = format!(
                    "its process died while rolling back ({})",
                    orphan.note.as_deref().unwrap_or("no reason recorded")
                );
                Some(("previous deployment", reason, None))
            }
        };
        match failure {
            None => {
                let _ = Journal::set_outcome(
                    client,
                    &orphan.id,
                    Outcome::Succeeded,
                    "checked by a later run (its process died during the checks)",
                );
                crate::journal::record_schema(client, &orphan.id, &self.url.target());
                Ok(())
            }
            Some(failure) if report.applied.is_empty() => {
                // Nothing of it is left applied: the rollback had finished.
                let _ = Journal::set_outcome(
                    client,
                    &orphan.id,
                    Outcome::RolledBack,
                    "rolled back (its process died before recording it)",
                );
                log::info!(target: "migrate_core::pipeline", "{}: {}", failure.0, failure.1);
                Ok(())
            }
            Some(failure) => {
                let error = self.fail(client, failure, migrations, store, report, events);
                Err(error(std::mem::take(report)))
            }
        }
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
            self.record_not_rolled_back(report, "failed; nothing to undo");
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
                self.record_not_rolled_back(report, &format!("no rollback possible: {e}"));
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
            let note = format!("would roll back by {}: {}", plan.strategy, plan.reason);
            report.step("rollback", "skipped", note.clone(), t.elapsed());
            self.record_not_rolled_back(report, &format!("not rolled back (report only); {note}"));
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
                let note = format!(
                    "rolled back by {} in {:.1}s",
                    outcome.strategy,
                    outcome.duration.as_secs_f64()
                );
                if let Ok(mut client) = crate::connection::connect(&self.url) {
                    let entry_id = entry.as_ref().map(|e| e.id.clone());
                    match entry {
                        // Put back with its final outcome at once: a restore also ended this
                        // pipeline's presence session, so `rolling_back` here would look
                        // orphaned to another run.
                        Some(mut entry) => {
                            entry.outcome = Outcome::RolledBack;
                            entry.note = Some(note.clone());
                            let _ = Journal::put(&mut client, &entry);
                        }
                        None => {
                            if let Some(id) = &report.deployment_id {
                                let _ = Journal::set_outcome(
                                    &mut client,
                                    id,
                                    Outcome::RolledBack,
                                    &note,
                                );
                            }
                        }
                    }
                    // A restore rewound the journal: the entry just put back is the latest now
                    // and needs the schema too (other strategies' is recorded by the rollback).
                    if let (Some(id), StrategyKind::Restore) = (&entry_id, outcome.strategy) {
                        crate::journal::record_schema(&mut client, id, &self.url.target());
                    }
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
                report.rollback = Some(outcome);
                report.health_after_rollback = self.health(events, "health after rollback");
            }
            Err(e) => {
                report.step("rollback", "failed", e.to_string(), t.elapsed());
                events(&Event::Failed {
                    step: "rollback".into(),
                    error: e.to_string(),
                });
                self.record_not_rolled_back(report, &format!("rollback failed: {e}"));
            }
        }
    }

    /// The deployment failed and stays applied: `failed` in the journal, with why.
    fn record_not_rolled_back(&self, report: &PipelineReport, note: &str) {
        if let (Some(id), Ok(mut client)) =
            (&report.deployment_id, crate::connection::connect(&self.url))
        {
            let _ = Journal::set_outcome(&mut client, id, Outcome::Failed, note);
            // What it applied stays: the next drift check must not take it for a hand edit.
            crate::journal::record_schema(&mut client, id, &self.url.target());
        }
    }
}

/// "database … is not currently accepting connections" (SQLSTATE 55000 at connection).
fn closed_to_sessions(e: &Error) -> bool {
    matches!(
        e,
        Error::Connect(crate::connection::ConnectError::Connect { source, .. })
            if source.code() == Some(&postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE)
    )
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
