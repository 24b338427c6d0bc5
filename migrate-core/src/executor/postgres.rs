//! The default executor: PostgreSQL, with Prisma Migrate's exact behaviour.

use std::time::Instant;

use postgres::Client;

use super::failure::{describe, prisma_logs};
use super::run::ScriptRun;
use super::{
    AppliedMigration, BaselineOptions, DeployOptions, DeployPlan, DeployReport, Event,
    ExecuteError, MigrationExecutor, MigrationFailure, PlannedMigration, ResolveAction,
    ResolveOutcome,
};
use crate::connection::{connect, DatabaseUrl};
use crate::journal::{Decision, Journal, Outcome};
use crate::ledger::{
    self, AdvisoryLock, HistoryStatus, Initialized, LedgerRow, LockWait, RowState, RowWriter,
};
use crate::safety::{ir::Action, parse_script};
use crate::source::{LocalMigration, Migrations};
use crate::sql::quote_ident;
use crate::sql::TransactionShape;

/// Applies Prisma migrations to PostgreSQL exactly as `prisma migrate deploy` does: under
/// advisory lock 72707369, each `migration.sql` sent whole as one simple-protocol query, and
/// `_prisma_migrations` rows written with Prisma's semantics.
pub struct PgExecutor {
    session: Session,
    schema: Option<String>,
    /// Where the watchdog connects to follow migrations (`None`: no watchdog).
    monitor: Option<DatabaseUrl>,
}

impl std::fmt::Debug for PgExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgExecutor")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The executor's session: open, or to be opened at first use.
enum Session {
    Open(Box<Client>),
    Later(Box<DatabaseUrl>),
}

impl PgExecutor {
    /// An executor for `url` that connects when first used, with the watchdog on: what a
    /// pipeline holds from its start, before the database may even exist.
    #[must_use]
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            schema: url.schema().map(str::to_owned),
            monitor: Some(url.clone()),
            session: Session::Later(Box::new(url)),
        }
    }

    /// Connects to `url`.
    ///
    /// # Errors
    ///
    /// [`ExecuteError::Connect`] when the database cannot be reached.
    pub fn connect(url: &DatabaseUrl) -> Result<Self, ExecuteError> {
        Ok(Self::from_client(connect(url)?, url.schema()).with_monitor(url.clone()))
    }

    /// Uses an open session; `schema` is the URL's `?schema=` (created on deploy when missing).
    #[must_use]
    pub fn from_client(client: Client, schema: Option<&str>) -> Self {
        Self {
            session: Session::Open(Box::new(client)),
            schema: schema.map(str::to_owned),
            monitor: None,
        }
    }

    /// Follows each migration from a second session on `url`: lock waits naming the blocker,
    /// index-build progress, and the watchdog of [`LockPolicy`](super::LockPolicy).
    #[must_use]
    pub fn with_monitor(mut self, url: DatabaseUrl) -> Self {
        self.monitor = Some(url);
        self
    }

    /// The session, opened now when the executor was made by [`PgExecutor::new`].
    ///
    /// # Errors
    ///
    /// [`ExecuteError::Connect`] when it cannot be opened.
    pub fn client(&mut self) -> Result<&mut Client, ExecuteError> {
        if let Session::Later(url) = &self.session {
            self.session = Session::Open(Box::new(connect(url)?));
        }
        match &mut self.session {
            Session::Open(client) => Ok(client),
            Session::Later(_) => unreachable!("opened above"),
        }
    }

    fn lock(
        &mut self,
        wait: LockWait,
        events: &mut dyn FnMut(&Event),
    ) -> Result<AdvisoryLock<'_>, ExecuteError> {
        let lock = AdvisoryLock::acquire(self.client()?, wait, &mut |holder| {
            events(&Event::LockWaiting {
                holder: holder.cloned(),
            });
        })?;
        if lock.is_held() {
            events(&Event::LockAcquired {
                waited: lock.waited(),
            });
        }
        Ok(lock)
    }

    /// Records a migration as applied, or its failed attempts as rolled back, without running any
    /// SQL of it: `prisma migrate resolve`.
    ///
    /// # Errors
    ///
    /// Prisma's errors: P3017 (unknown name), P3008 (already applied), P3011 (never applied),
    /// P3012 (not failed), and lock or query failures.
    pub fn resolve(
        &mut self,
        migrations: &Migrations,
        action: &ResolveAction,
        wait: LockWait,
    ) -> Result<ResolveOutcome, ExecuteError> {
        let schema = self.schema.clone();
        let mut client = self.lock(wait, &mut |_| {})?;
        match action {
            ResolveAction::Applied(name) => {
                let local = migrations
                    .get(name)
                    .ok_or_else(|| ExecuteError::UnknownMigration { name: name.clone() })?;
                let script = local.script().ok_or_else(|| ExecuteError::MissingScript {
                    path: local.dir().join("migration.sql"),
                })?;
                if let Some(schema) = &schema {
                    ledger::ensure_schema(&mut client, schema)?;
                }
                if !ledger::table_exists(&mut client)? {
                    ledger::create_table(&mut client)?; // Prisma's baseline_initialize
                }
                let rows = rows_named(&mut client, name)?;
                if rows.iter().any(|r| r.finished_at.is_some()) {
                    return Err(ExecuteError::AlreadyApplied { name: name.clone() });
                }
                let writer = RowWriter::prepare(&mut client)?;
                let failed = mark_failed_rolled_back(&mut client, &writer, &rows)?;
                writer.marked_applied(&mut client, name, script.checksum())?;
                Ok(ResolveOutcome {
                    migration: name.clone(),
                    rows_rolled_back: failed,
                    marked_applied: true,
                })
            }
            ResolveAction::RolledBack(name) => {
                if !ledger::table_exists(&mut client)? {
                    return Err(ExecuteError::NoLedger);
                }
                let rows = rows_named(&mut client, name)?;
                if rows.is_empty() {
                    return Err(ExecuteError::NeverApplied { name: name.clone() });
                }
                if rows.iter().all(|r| r.finished_at.is_some()) {
                    return Err(ExecuteError::NotFailed { name: name.clone() });
                }
                let writer = RowWriter::prepare(&mut client)?;
                let failed = mark_failed_rolled_back(&mut client, &writer, &rows)?;
                Ok(ResolveOutcome {
                    migration: name.clone(),
                    rows_rolled_back: failed,
                    marked_applied: false,
                })
            }
        }
    }

    /// Marks migrations as applied without running them, for a database that already has the
    /// schema they create (the way out of P3005). Creates the ledger when missing; migrations
    /// already recorded are left as they are. Returns the names marked.
    ///
    /// # Errors
    ///
    /// [`ExecuteError::UnknownMigration`] when `up_to` is not a local migration, failed
    /// migrations (P3009), missing scripts, lock or query failures.
    pub fn baseline(
        &mut self,
        migrations: &Migrations,
        options: &BaselineOptions,
    ) -> Result<Vec<String>, ExecuteError> {
        let end = match &options.up_to {
            Some(name) => migrations
                .iter()
                .position(|m| m.name() == name)
                .ok_or_else(|| ExecuteError::UnknownMigration { name: name.clone() })?,
            None => migrations.len().saturating_sub(1),
        };
        let schema = self.schema.clone();
        let mut client = self.lock(options.lock_wait, &mut |_| {})?;
        if let Some(schema) = &schema {
            ledger::ensure_schema(&mut client, schema)?;
        }
        if !ledger::table_exists(&mut client)? {
            ledger::create_table(&mut client)?;
        }
        let rows = ledger::read_rows(&mut client)?;
        let status = HistoryStatus::diagnose(migrations, Some(&rows));
        if !status.failed.is_empty() {
            return Err(ExecuteError::FailedMigrations {
                names: status.failed,
            });
        }
        let writer = RowWriter::prepare(&mut client)?;
        let mut marked = Vec::new();
        for local in migrations.iter().take(end + 1) {
            if !status.pending.iter().any(|p| p == local.name()) {
                continue;
            }
            let script = script_of(local)?;
            writer.marked_applied(&mut client, local.name(), script.checksum())?;
            marked.push(local.name().to_owned());
        }
        Ok(marked)
    }
}

impl MigrationExecutor for PgExecutor {
    /// Finds deployments whose process died and recovers them (see
    /// [`Journal::recover`](crate::journal::Journal::recover)), under the migration lock; deploy
    /// does it too, this lets a caller do it before planning.
    ///
    /// # Errors
    ///
    /// Lock, journal and ledger errors.
    fn recover(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), ExecuteError> {
        let mut client = self.lock(options.lock_wait, events)?;
        if !ledger::table_exists(&mut client)? {
            return Ok(());
        }
        recover_locked(&mut client, migrations, events)
    }

    fn status(&mut self, migrations: &Migrations) -> Result<HistoryStatus, ExecuteError> {
        let client = self.client()?;
        let rows = if ledger::table_exists(client)? {
            Some(ledger::read_rows(client)?)
        } else {
            None
        };
        Ok(HistoryStatus::diagnose(migrations, rows.as_deref()))
    }

    fn plan(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
    ) -> Result<DeployPlan, ExecuteError> {
        let status = self.status(migrations)?;
        Ok(plan(migrations, status, options))
    }

    fn deploy(
        &mut self,
        migrations: &Migrations,
        options: &DeployOptions,
        events: &mut dyn FnMut(&Event),
    ) -> Result<DeployReport, ExecuteError> {
        let started = Instant::now();
        let schema = self.schema.clone();
        let monitor = self.monitor.clone();
        // If this process dies mid-migration, the server should notice within a second even
        // during a long statement, roll the migration back and free the lock (PostgreSQL 14+).
        let _ = self
            .client()?
            .batch_execute("SET client_connection_check_interval = 1000");
        let mut client = self.lock(options.lock_wait, events)?;
        let lock_wait = client.waited();

        // Under the lock: concurrent replicas must not race on creating the schema or ledger.
        if let Some(schema) = &schema {
            ledger::ensure_schema(&mut client, schema)?;
        }
        let ledger_created = ledger::initialize(&mut client)? == Initialized::Created;
        if ledger_created {
            events(&Event::LedgerCreated);
        }
        if options.journal {
            recover_locked(&mut client, migrations, events)?;
        }
        let rows = ledger::read_rows(&mut client)?;
        let plan = plan(
            migrations,
            HistoryStatus::diagnose(migrations, Some(&rows)),
            options,
        );
        refuse_blocked(migrations, &plan)?;
        for (migration, message) in &plan.warnings {
            events(&Event::Warning {
                migration: Some(migration.clone()),
                message: message.clone(),
            });
        }
        events(&Event::Planned {
            pending: plan.migrations.iter().map(|m| m.name.clone()).collect(),
            already_applied: plan.status.applied.len(),
        });

        let writer = RowWriter::prepare(&mut client)?;
        let total = plan.migrations.len();
        let pending: Vec<String> = plan.migrations.iter().map(|m| m.name.clone()).collect();
        let deployment_id = if options.journal && total > 0 {
            Some(Journal::begin(
                &mut client,
                options.environment.as_deref(),
                &pending,
            )?)
        } else {
            None
        };
        // A second session follows the migrations (lock waits, watchdog); without one they still
        // run, only unobserved.
        let mut watch = match (&monitor, total) {
            (Some(url), 1..) => connect(url)
                .map_err(
                    |e| log::warn!(target: "migrate_core::executor", "no watchdog session: {e}"),
                )
                .ok(),
            _ => None,
        };
        let backend_pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|source| ExecuteError::Query {
                action: "reading the session's pid",
                source,
            })?
            .get(0);
        let mut applied: Vec<AppliedMigration> = Vec::with_capacity(total);
        for (i, planned) in plan.migrations.iter().enumerate() {
            let local = migrations
                .get(&planned.name)
                .expect("planned migrations come from this directory");
            let script = script_of(local)?;
            events(&Event::MigrationStarted {
                name: planned.name.clone(),
                index: i + 1,
                total,
            });
            let id = writer.started(&mut client, &planned.name, script.checksum())?;
            let t0 = Instant::now();
            // The ledger update rides in the migration's own transaction, unless the script must
            // stay alone (CREATE INDEX CONCURRENTLY…): then it follows, as in Prisma.
            let inline_finish = planned.shape.non_transactional.is_empty();
            let sql = if inline_finish {
                format!("{}\n;\n{}", script.sql(), RowWriter::finish_sql(&id))
            } else {
                script.sql().to_owned()
            };
            let run = ScriptRun {
                name: &planned.name,
                sql: &sql,
                atomic: !planned.shape.splits_atomicity(),
                policy: &options.locks,
            };
            if let Err(failed) = run.execute(&mut client, watch.as_mut(), backend_pid, events) {
                let mut failure = record_failure(
                    &mut client,
                    &writer,
                    &id,
                    planned,
                    script.sql(),
                    &failed.error,
                    &applied,
                );
                failure.blocker = failed.blocker;
                failure.attempts = failed.attempts;
                if !planned.shape.non_transactional.is_empty() {
                    // Not transactional: a failed CONCURRENTLY build leaves an INVALID index.
                    run.clean_invalid_indexes(&mut client);
                    failure.outside_transaction = true;
                }
                failure.deployment_id.clone_from(&deployment_id);
                if let Some(id) = &deployment_id {
                    let names: Vec<String> = applied.iter().map(|a| a.name.clone()).collect();
                    let error = failure.to_string();
                    if let Err(e) = Journal::finish(
                        &mut client,
                        id,
                        Outcome::Failed,
                        &names,
                        None,
                        Some(&error),
                        None,
                        &timings(&applied),
                    ) {
                        log::warn!(target: "migrate_core::executor", "recording the failure in the journal: {e}");
                    }
                    // Migrations before the failed one stay applied: a bare deploy records the
                    // schema they left (a pipeline does once its rollback decided).
                    if options.journal_outcome == Outcome::Succeeded {
                        crate::journal::record_schema(&mut client, id, "the database");
                    }
                }
                events(&Event::MigrationFailed {
                    name: planned.name.clone(),
                    error: failure
                        .message
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                });
                return Err(ExecuteError::MigrationFailed(Box::new(failure)));
            }
            let duration = t0.elapsed();
            if !inline_finish {
                writer.finished(&mut client, &id)?;
            }
            events(&Event::MigrationApplied {
                name: planned.name.clone(),
                duration,
            });
            applied.push(AppliedMigration {
                name: planned.name.clone(),
                checksum: planned.checksum.clone(),
                duration,
            });
        }
        if let Some(id) = &deployment_id {
            let names: Vec<String> = applied.iter().map(|a| a.name.clone()).collect();
            Journal::finish(
                &mut client,
                id,
                options.journal_outcome,
                &names,
                None,
                None,
                None,
                &timings(&applied),
            )?;
            // A pipeline records the schema once its checks pass; a bare deploy, now.
            if options.journal_outcome == Outcome::Succeeded {
                crate::journal::record_schema(&mut client, id, "the database");
            }
        }
        drop(client); // releases the lock before reporting
        let report = DeployReport {
            applied,
            already_applied: plan.status.applied.len(),
            ledger_created,
            lock_wait,
            duration: started.elapsed(),
            deployment_id,
        };
        events(&Event::Finished {
            applied: report.applied.len(),
            duration: report.duration,
        });
        Ok(report)
    }
}

/// Builds the plan from the history: what runs, what blocks, what to warn about.
fn plan(migrations: &Migrations, status: HistoryStatus, options: &DeployOptions) -> DeployPlan {
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    if !status.failed.is_empty() {
        blockers.push(
            ExecuteError::FailedMigrations {
                names: status.failed.clone(),
            }
            .to_string(),
        );
    }
    let modified = ExecuteError::Modified {
        names: status.modified.clone(),
    };
    match (status.modified.is_empty(), options.accept_modified) {
        (true, _) => {}
        (false, false) => blockers.push(modified.to_string()),
        (false, true) => warnings.extend(status.modified.iter().map(|n| {
            (
                n.clone(),
                "applied, then modified on disk; the edit will not be applied (accepted)".into(),
            )
        })),
    }
    let missing = ExecuteError::MissingLocally {
        names: status.missing_locally.clone(),
    };
    match (
        status.missing_locally.is_empty(),
        options.accept_missing_locally,
    ) {
        (true, _) => {}
        (false, false) => blockers.push(missing.to_string()),
        (false, true) => warnings.extend(status.missing_locally.iter().map(|n| {
            (
                n.clone(),
                "applied in the database but missing from the directory (accepted)".into(),
            )
        })),
    }

    let mut planned = Vec::with_capacity(status.pending.len());
    for name in &status.pending {
        let Some(local) = migrations.get(name) else {
            continue;
        };
        let Some(script) = local.script() else {
            blockers.push(
                ExecuteError::MissingScript {
                    path: local.dir().join("migration.sql"),
                }
                .to_string(),
            );
            continue;
        };
        let shape = TransactionShape::of(script.sql());
        if let Some((statement, at)) = shape.certain_failure() {
            blockers.push(
                ExecuteError::CertainFailure {
                    path: script.path().to_owned(),
                    statement: statement.clone(),
                    at: *at,
                }
                .to_string(),
            );
        }
        for split in &shape.splits {
            warnings.push((
                name.clone(),
                format!(
                    "line {}: `{}` ends the migration's transaction with {} statement(s) after \
                     it; if one of those fails, the part before stays committed",
                    split.at.line, split.statement, split.statements_after
                ),
            ));
        }
        for (command, at) in &shape.meta_commands {
            warnings.push((
                name.clone(),
                format!(
                    "line {}: psql meta-command `{command}` will be rejected by the server",
                    at.line
                ),
            ));
        }
        if script.is_lossy() {
            warnings.push((
                name.clone(),
                "migration.sql is not valid UTF-8: invalid bytes are replaced by U+FFFD, as Prisma does".into(),
            ));
        }
        planned.push(PlannedMigration {
            name: name.clone(),
            checksum: script.checksum().to_owned(),
            shape,
        });
    }
    DeployPlan {
        status,
        migrations: planned,
        blockers,
        warnings,
    }
}

/// Turns the first blocker of a plan back into its typed error.
fn refuse_blocked(migrations: &Migrations, plan: &DeployPlan) -> Result<(), ExecuteError> {
    if plan.is_deployable() {
        return Ok(());
    }
    Err(refusal(migrations, plan))
}

/// The typed error of the first blocker of a plan that is not deployable.
pub(crate) fn refusal(migrations: &Migrations, plan: &DeployPlan) -> ExecuteError {
    match refusal_result(migrations, plan) {
        Err(e) => e,
        Ok(()) => ExecuteError::FailedMigrations { names: Vec::new() },
    }
}

fn refusal_result(migrations: &Migrations, plan: &DeployPlan) -> Result<(), ExecuteError> {
    let status = &plan.status;
    if !status.failed.is_empty() {
        return Err(ExecuteError::FailedMigrations {
            names: status.failed.clone(),
        });
    }
    for name in &status.pending {
        if let Some(local) = migrations.get(name) {
            let script = script_of(local)?;
            if let Some((statement, at)) = TransactionShape::of(script.sql()).certain_failure() {
                return Err(ExecuteError::CertainFailure {
                    path: script.path().to_owned(),
                    statement: statement.clone(),
                    at: *at,
                });
            }
        }
    }
    if !status.modified.is_empty() {
        return Err(ExecuteError::Modified {
            names: status.modified.clone(),
        });
    }
    Err(ExecuteError::MissingLocally {
        names: status.missing_locally.clone(),
    })
}

fn script_of(local: &LocalMigration) -> Result<&crate::source::Script, ExecuteError> {
    local.script().ok_or_else(|| ExecuteError::MissingScript {
        path: local.dir().join("migration.sql"),
    })
}

fn record_failure(
    client: &mut Client,
    writer: &RowWriter,
    id: &str,
    planned: &PlannedMigration,
    script: &str,
    error: &postgres::Error,
    applied: &[AppliedMigration],
) -> MigrationFailure {
    let (message, at) = describe(error, script);
    let code = error.code().map(|c| c.code().to_owned());
    let logs = prisma_logs(&planned.name, code.as_deref(), &message);
    // After a failed simple query the session is usable again (the implicit transaction is gone),
    // unless the connection itself broke.
    let recorded = !client.is_closed() && writer.failed(client, id, &logs).is_ok();
    let committed_through = planned
        .shape
        .splits
        .iter()
        .take_while(|s| at.is_none_or(|at| s.at < at))
        .last()
        .map(|s| s.at);
    MigrationFailure {
        name: planned.name.clone(),
        code,
        message,
        at,
        committed_through,
        recorded,
        applied_before: applied.iter().map(|a| a.name.clone()).collect(),
        blocker: None,
        attempts: 1,
        deployment_id: None,
        outside_transaction: false,
    }
}

fn rows_named(client: &mut Client, name: &str) -> Result<Vec<LedgerRow>, ExecuteError> {
    Ok(ledger::read_rows(client)?
        .into_iter()
        .filter(|r| r.migration_name == name)
        .collect())
}

fn mark_failed_rolled_back(
    client: &mut Client,
    writer: &RowWriter,
    rows: &[LedgerRow],
) -> Result<usize, ExecuteError> {
    let failed: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| r.state() == RowState::Failed)
        .collect();
    for row in &failed {
        writer.rolled_back(client, &row.id)?;
    }
    Ok(failed.len())
}

/// Per-migration durations in milliseconds, for the journal.
fn timings(applied: &[AppliedMigration]) -> serde_json::Value {
    applied
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                serde_json::json!(a.duration.as_secs_f64() * 1e3),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Recovers deployments whose process died; the caller holds the migration lock.
fn recover_locked(
    client: &mut Client,
    migrations: &Migrations,
    events: &mut dyn FnMut(&Event),
) -> Result<(), ExecuteError> {
    Journal::ensure(client)?;
    let mut decide = |client: &mut Client, name: &str| match migrations
        .get(name)
        .and_then(LocalMigration::script)
    {
        Some(script) => recovery_decision(client, script.sql()),
        None => Decision::Unresolved,
    };
    let recoveries = Journal::recover(client, &mut decide)?;
    if !recoveries.is_empty() {
        // What the dead deployments committed is the engine's doing, not drift.
        crate::journal::record_schema_latest(client, "the database");
    }
    for recovery in recoveries {
        events(&Event::Recovered {
            deployment: recovery.deployment,
            resumed: recovery.resumed,
            completed: recovery.completed,
            unresolved: recovery.unresolved,
        });
    }
    Ok(())
}

/// What to do with a migration that was running when its process died. A transactional file
/// was undone by PostgreSQL: resume it. A file with an inner COMMIT may be half committed: leave
/// it to a person. A lone CREATE/DROP INDEX CONCURRENTLY is not transactional: look at the index
/// (a build that finished is applied; an INVALID leftover is dropped, then the build resumes).
fn recovery_decision(client: &mut Client, sql: &str) -> Decision {
    let shape = TransactionShape::of(sql);
    if shape.splits_atomicity() {
        return Decision::Unresolved;
    }
    if shape.non_transactional.is_empty() {
        return Decision::Resume;
    }
    let index_state = |client: &mut Client, name: &str| -> Option<bool> {
        client
            .query_opt(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 WHERE c.relname = $1 AND c.relnamespace IN \
                 (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(false)))",
                &[&name],
            )
            .ok()
            .flatten()
            .map(|r| r.get(0))
    };
    let actions: Vec<Action> = parse_script(sql)
        .into_iter()
        .flat_map(|s| s.actions)
        .collect();
    match actions.as_slice() {
        [Action::CreateIndex {
            name: Some(name),
            concurrently: true,
            ..
        }] => match index_state(client, name) {
            Some(true) => Decision::Applied,
            Some(false) => {
                let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quote_ident(name));
                match client.batch_execute(&drop) {
                    Ok(()) => Decision::Resume,
                    Err(_) => Decision::Unresolved,
                }
            }
            None => Decision::Resume,
        },
        [Action::DropIndex {
            names,
            concurrently: true,
        }] => {
            if names.iter().all(|n| index_state(client, &n.name).is_none()) {
                Decision::Applied
            } else {
                Decision::Resume
            }
        }
        _ => Decision::Unresolved,
    }
}
