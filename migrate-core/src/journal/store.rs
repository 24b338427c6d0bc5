//! Reading and writing `_migrate.deployments`.

use postgres::Client;

use super::{Deployment, JournalError, Outcome};
use crate::event::names;
use crate::ledger::{self, RowState};

const DDL: &str = "CREATE SCHEMA IF NOT EXISTS _migrate;
CREATE TABLE IF NOT EXISTS _migrate.deployments (
    id            VARCHAR(36) PRIMARY KEY,
    ledger_schema TEXT NOT NULL,
    environment   TEXT,
    actor         TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    outcome       TEXT NOT NULL,
    planned       JSONB NOT NULL DEFAULT '[]',
    applied       JSONB NOT NULL DEFAULT '[]',
    backup_id     TEXT,
    error         TEXT,
    note          TEXT,
    timings       JSONB NOT NULL DEFAULT '{}'
);
ALTER TABLE _migrate.deployments ADD COLUMN IF NOT EXISTS schema_after JSONB;
CREATE TABLE IF NOT EXISTS _migrate.undone (
    ledger_schema       TEXT NOT NULL,
    id                  VARCHAR(36) NOT NULL,
    checksum            VARCHAR(64) NOT NULL,
    finished_at         TIMESTAMPTZ,
    migration_name      VARCHAR(255) NOT NULL,
    logs                TEXT,
    started_at          TIMESTAMPTZ NOT NULL,
    applied_steps_count INTEGER NOT NULL,
    undone_at           TIMESTAMPTZ NOT NULL,
    undone_by           TEXT NOT NULL
)";

/// Whether the journal has every column and table of this version (older versions lack
/// `schema_after` and `undone`).
const CURRENT: &str = "SELECT EXISTS (SELECT 1 FROM pg_attribute \
     WHERE attrelid = '_migrate.deployments'::regclass AND attname = 'schema_after' \
     AND NOT attisdropped) AND to_regclass('_migrate.undone') IS NOT NULL";

/// First key of a running pipeline's presence lock ("mgpl"), held shared for its whole run on a
/// session of its own; the second is the ledger schema's hash.
pub(crate) const PRESENCE_KEY: i32 = 0x6d67_706c;

/// A schema recorded by a deployment: its id, when it finished, the catalog description lines.
pub type RecordedSchema = (String, chrono::DateTime<chrono::Utc>, Vec<String>);

/// The journal of the database a session is connected to, for the ledger in its search path.
pub struct Journal;

/// What the next run did about an interrupted deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recovery {
    /// The interrupted deployment.
    pub deployment: String,
    /// Migrations that were running when it died and were rolled back by PostgreSQL: their
    /// attempts are marked rolled back, so this run applies them again.
    pub resumed: Vec<String>,
    /// Migrations that were running and whose effect is complete (a concurrent index build
    /// that finished before the process died): recorded as applied.
    pub completed: Vec<String>,
    /// Migrations that were running but whose file commits part of itself: they stay failed
    /// and need a decision (`migrate resolve`).
    pub unresolved: Vec<String>,
}

/// What recovery does with a migration that was running when its deployment died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// PostgreSQL undid it: mark the attempt rolled back, so this run applies it again.
    Resume,
    /// Its effect is complete: record it as applied.
    Applied,
    /// Part of it may be committed: leave it failed for a person.
    Unresolved,
}

impl Journal {
    /// True when the journal table exists.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the catalog cannot be read.
    pub fn exists(client: &mut Client) -> Result<bool, JournalError> {
        Ok(client
            .query_one(
                "SELECT to_regclass('_migrate.deployments') IS NOT NULL",
                &[],
            )
            .map_err(JournalError::query("looking for the journal"))?
            .get(0))
    }

    /// Creates the journal when missing. Call it under the migration lock.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the DDL fails (e.g. no CREATE privilege on the database).
    pub fn ensure(client: &mut Client) -> Result<(), JournalError> {
        let current = Self::exists(client)?
            && client
                .query_one(CURRENT, &[])
                .map_err(JournalError::query("reading the journal's columns"))?
                .get::<_, bool>(0);
        if !current {
            client
                .batch_execute(DDL)
                .map_err(JournalError::query("creating the journal"))?;
        }
        Ok(())
    }

    /// Records the start of a deployment; returns its id.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the insert fails.
    pub fn begin(
        client: &mut Client,
        environment: Option<&str>,
        planned: &[String],
    ) -> Result<String, JournalError> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let actor = format!(
            "{}@{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            hostname()
        );
        client
            .execute(
                "INSERT INTO _migrate.deployments (id, ledger_schema, environment, actor, pid, \
                 started_at, outcome, planned) VALUES ($1, current_schema(), $2, $3, $4, $5, \
                 'running', $6)",
                &[
                    &id,
                    &environment,
                    &actor,
                    &(std::process::id() as i32),
                    &chrono::Utc::now(),
                    &serde_json::json!(planned),
                ],
            )
            .map_err(JournalError::query("recording the deployment start"))?;
        Ok(id)
    }

    /// Records how a deployment ended.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the update fails.
    #[allow(clippy::too_many_arguments)] // one row's columns
    pub fn finish(
        client: &mut Client,
        id: &str,
        outcome: Outcome,
        applied: &[String],
        backup_id: Option<&str>,
        error: Option<&str>,
        note: Option<&str>,
        timings: &serde_json::Value,
    ) -> Result<(), JournalError> {
        client
            .execute(
                "UPDATE _migrate.deployments SET finished_at = $2, outcome = $3, applied = $4, \
                 backup_id = coalesce($5, backup_id), error = $6, note = coalesce($7, note), \
                 timings = $8 WHERE id = $1",
                &[
                    &id,
                    &chrono::Utc::now(),
                    &outcome.as_str(),
                    &serde_json::json!(applied),
                    &backup_id,
                    &error,
                    &note,
                    timings,
                ],
            )
            .map(drop)
            .map_err(JournalError::query("recording the deployment end"))
    }

    /// Changes the outcome of a recorded deployment (after a rollback) and adds a note.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the update fails.
    pub fn set_outcome(
        client: &mut Client,
        id: &str,
        outcome: Outcome,
        note: &str,
    ) -> Result<(), JournalError> {
        client
            .execute(
                "UPDATE _migrate.deployments SET outcome = $2, note = $3, \
                 finished_at = coalesce(finished_at, $4) WHERE id = $1",
                &[&id, &outcome.as_str(), &note, &chrono::Utc::now()],
            )
            .map(drop)
            .map_err(JournalError::query("recording the deployment outcome"))
    }

    /// The entry `id`, if recorded.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal cannot be read.
    pub fn get(client: &mut Client, id: &str) -> Result<Option<Deployment>, JournalError> {
        Ok(Self::list(client, i64::MAX)?
            .into_iter()
            .find(|d| d.id == id))
    }

    /// Writes `deployment` back (insert or replace): a restore from backup rewinds the journal
    /// with the rest of the database, and this puts the entries it lost back.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the write fails.
    pub fn put(client: &mut Client, d: &Deployment) -> Result<(), JournalError> {
        Self::ensure(client)?;
        client
            .execute(
                "INSERT INTO _migrate.deployments (id, ledger_schema, environment, actor, pid, \
                 started_at, finished_at, outcome, planned, applied, backup_id, error, note, timings) \
                 VALUES ($1, current_schema(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (id) DO UPDATE SET finished_at = EXCLUDED.finished_at, \
                 outcome = EXCLUDED.outcome, applied = EXCLUDED.applied, backup_id = EXCLUDED.backup_id, \
                 error = EXCLUDED.error, note = EXCLUDED.note, timings = EXCLUDED.timings",
                &[
                    &d.id,
                    &d.environment,
                    &d.actor,
                    &d.pid,
                    &d.started_at,
                    &d.finished_at,
                    &d.outcome.as_str(),
                    &serde_json::json!(d.planned),
                    &serde_json::json!(d.applied),
                    &d.backup_id,
                    &d.error,
                    &d.note,
                    &d.timings,
                ],
            )
            .map(drop)
            .map_err(JournalError::query("writing the deployment back"))
    }

    /// Records the backup taken before a deployment.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the update fails.
    pub fn attach_backup(
        client: &mut Client,
        id: &str,
        backup_id: &str,
    ) -> Result<(), JournalError> {
        client
            .execute(
                "UPDATE _migrate.deployments SET backup_id = $2 WHERE id = $1",
                &[&id, &backup_id],
            )
            .map(drop)
            .map_err(JournalError::query("recording the backup"))
    }

    /// Whether the journal exists and can record schemas (this version's columns).
    pub(crate) fn records_schemas(client: &mut Client) -> bool {
        Self::exists(client).unwrap_or(false)
            && client
                .query_one(CURRENT, &[])
                .map(|r| r.get::<_, bool>(0))
                .unwrap_or(false)
    }

    /// Records the schema a deployment left (the catalog description of
    /// [`describe_schema`](crate::schema::describe_schema)), so that the next one can tell
    /// whether someone changed it since.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the update fails.
    pub fn record_schema(
        client: &mut Client,
        id: &str,
        lines: &[String],
    ) -> Result<(), JournalError> {
        client
            .execute(
                "UPDATE _migrate.deployments SET schema_after = $2 WHERE id = $1",
                &[&id, &postgres::types::Json(lines)],
            )
            .map(drop)
            .map_err(JournalError::query("recording the schema"))
    }

    /// The schema the latest deployment of this ledger schema recorded: its id, when it
    /// finished, and the description lines. `None` without a journal or a recorded schema.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal cannot be read.
    pub fn last_schema(client: &mut Client) -> Result<Option<RecordedSchema>, JournalError> {
        if !Self::records_schemas(client) {
            return Ok(None);
        }
        let row = client
            .query_opt(
                "SELECT id, coalesce(finished_at, started_at), schema_after FROM _migrate.deployments \
                 WHERE ledger_schema = current_schema() AND schema_after IS NOT NULL \
                 ORDER BY coalesce(finished_at, started_at) DESC LIMIT 1",
                &[],
            )
            .map_err(JournalError::query("reading the recorded schema"))?;
        Ok(row.map(|r| {
            let postgres::types::Json(lines): postgres::types::Json<Vec<String>> = r.get(2);
            (r.get(0), r.get(1), lines)
        }))
    }

    /// Deployments of this ledger schema whose pipeline stopped between the apply and the end
    /// of its checks or rollback (`verifying`, `rolling_back`), newest first. Whether their
    /// process is still alive is the caller's question.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal cannot be read.
    pub fn unfinished(client: &mut Client) -> Result<Vec<Deployment>, JournalError> {
        Self::select(
            client,
            "WHERE ledger_schema = current_schema() AND outcome IN ('verifying', 'rolling_back') \
             ORDER BY started_at DESC",
        )
    }

    /// The migrations already applied by the interrupted deployments (their process died) that
    /// the next deployment continues, in Prisma's order: those of the latest
    /// deployments when they ended interrupted, back to the last one that ended otherwise.
    /// Refused and still running deployments changed nothing yet, so they do not break the run.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal or the ledger cannot be read.
    pub fn continued(client: &mut Client) -> Result<Vec<String>, JournalError> {
        if !Self::exists(client)? {
            return Ok(Vec::new());
        }
        let rows = client
            .query(
                "SELECT started_at, outcome FROM _migrate.deployments \
                 WHERE ledger_schema = current_schema() AND outcome NOT IN ('refused', 'running') \
                 ORDER BY started_at DESC LIMIT 100",
                &[],
            )
            .map_err(JournalError::query("looking for interrupted deployments"))?;
        let began: Option<chrono::DateTime<chrono::Utc>> = rows
            .iter()
            .take_while(|r| r.get::<_, &str>(1) == Outcome::Interrupted.as_str())
            .map(|r| r.get(0))
            .last();
        let Some(began) = began else {
            return Ok(Vec::new());
        };
        Ok(applied_between(&ledger::read_rows(client)?, began, None))
    }

    /// Takes the applied rows among `ids` out of Prisma's ledger into the journal's `undone`
    /// table: their migrations were undone (`down.sql`), so `prisma migrate status` must report
    /// them not applied and `prisma migrate deploy` apply them again. A row with both
    /// `finished_at` and `rolled_back_at` set, Prisma never writes and its status takes as
    /// applied. Returns how many rows moved. Call [`ensure`](Self::ensure) first, outside the
    /// transaction this may run in.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the rows cannot be moved.
    pub fn unrecord(
        client: &mut impl postgres::GenericClient,
        ids: &[String],
        undone_by: &str,
    ) -> Result<usize, JournalError> {
        let moved = client
            .execute(
                "WITH gone AS (DELETE FROM _prisma_migrations WHERE id = ANY($1) \
                   AND finished_at IS NOT NULL AND rolled_back_at IS NULL RETURNING *) \
                 INSERT INTO _migrate.undone (ledger_schema, id, checksum, finished_at, \
                   migration_name, logs, started_at, applied_steps_count, undone_at, undone_by) \
                 SELECT current_schema(), id, checksum, finished_at, migration_name, logs, \
                   started_at, applied_steps_count, now(), $2 FROM gone",
                &[&ids, &undone_by],
            )
            .map_err(JournalError::query(
                "moving undone migrations out of the ledger",
            ))?;
        Ok(usize::try_from(moved).unwrap_or(usize::MAX))
    }

    /// Records that `undone` (migration names) were rolled back by `strategy` outside the
    /// deployments that applied them (`migrate rollback`): those deployments now read
    /// `rolled_back`, with a note naming what was undone and when. A deployment still in
    /// progress records its own outcome. Returns how many entries changed.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal cannot be written.
    pub fn record_rollback(
        client: &mut Client,
        undone: &[String],
        strategy: &str,
    ) -> Result<usize, JournalError> {
        if undone.is_empty() || !Self::exists(client)? {
            return Ok(0);
        }
        let note = format!(
            "rolled back by {strategy} at {}: {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            undone.join(", ")
        );
        let changed = client
            .execute(
                "UPDATE _migrate.deployments SET outcome = 'rolled_back', \
                 note = concat_ws('; ', note, $2::text) \
                 WHERE ledger_schema = current_schema() AND outcome = 'succeeded' \
                 AND applied ?| $1",
                &[&undone, &note],
            )
            .map_err(JournalError::query("recording the rollback"))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Carries the journal of `from` (the database a restore replaces) into `to` (the restored
    /// copy, whose journal is the backup's older one), so that no entry is lost with the swap.
    /// Deployments the restore undoes (their migrations are not in `kept`, the backup's ledger)
    /// and those still in progress now read `rolled_back`, with a note naming `backup`. Returns
    /// how many entries were carried.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when either journal cannot be read or written.
    pub fn carry(
        from: &mut Client,
        to: &mut Client,
        backup: &str,
        kept: &[&str],
    ) -> Result<usize, JournalError> {
        if !Self::exists(from)? {
            return Ok(0);
        }
        Self::ensure(from)?;
        Self::ensure(to)?;
        let read = |client: &mut Client, table: &str| -> Result<serde_json::Value, JournalError> {
            Ok(client
                .query_one(
                    &format!("SELECT coalesce(json_agg(t), '[]')::jsonb FROM _migrate.{table} t"),
                    &[],
                )
                .map_err(JournalError::query("reading the journal to carry"))?
                .get(0))
        };
        let deployments = read(from, "deployments")?;
        let undone = read(from, "undone")?;
        let carried = deployments.as_array().map_or(0, Vec::len);
        let note = format!(
            "rolled back by the restore of {backup} at {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        let mut tx = to
            .transaction()
            .map_err(JournalError::query("carrying the journal"))?;
        tx.execute("DELETE FROM _migrate.deployments", &[])
            .and_then(|_| tx.execute("DELETE FROM _migrate.undone", &[]))
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO _migrate.deployments \
                     SELECT * FROM jsonb_populate_recordset(NULL::_migrate.deployments, $1)",
                    &[&deployments],
                )
            })
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO _migrate.undone \
                     SELECT * FROM jsonb_populate_recordset(NULL::_migrate.undone, $1)",
                    &[&undone],
                )
            })
            .and_then(|_| {
                tx.execute(
                    "UPDATE _migrate.deployments SET outcome = 'rolled_back', \
                     finished_at = coalesce(finished_at, now()), \
                     note = concat_ws('; ', note, $2::text) \
                     WHERE outcome IN ('running', 'verifying', 'rolling_back') \
                     OR (outcome = 'succeeded' AND NOT applied <@ $1)",
                    &[&serde_json::json!(kept), &note],
                )
            })
            .map_err(JournalError::query("carrying the journal"))?;
        tx.commit()
            .map_err(JournalError::query("carrying the journal"))?;
        Ok(carried)
    }

    /// The latest deployments of this ledger schema, newest first.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal cannot be read (an absent journal is an empty list).
    pub fn list(client: &mut Client, limit: i64) -> Result<Vec<Deployment>, JournalError> {
        Self::select(
            client,
            &format!(
                "WHERE ledger_schema = current_schema() ORDER BY started_at DESC LIMIT {}",
                limit.max(0)
            ),
        )
    }

    /// The latest deployments as a person reads them (`migrate history`): an entry still
    /// `running` whose process is gone reads `interrupted`, and an unfinished entry lists the
    /// migrations the ledger shows it applied (its own list is written when it ends).
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal or the ledger cannot be read.
    pub fn history(client: &mut Client, limit: i64) -> Result<Vec<Deployment>, JournalError> {
        let mut list = Self::list(client, limit)?;
        let unfinished =
            |d: &Deployment| matches!(d.outcome, Outcome::Running | Outcome::Interrupted);
        if !list.iter().any(unfinished) {
            return Ok(list);
        }
        let rows = if ledger::table_exists(client)? {
            ledger::read_rows(client)?
        } else {
            Vec::new()
        };
        let alive = Self::anyone_deploying(client)?;
        // Newest first: each entry's migrations are those started before the next one began.
        let mut next_started = None;
        for d in &mut list {
            if unfinished(d) && d.applied.is_empty() {
                d.applied = applied_between(&rows, d.started_at, next_started);
            }
            if d.outcome == Outcome::Running && !alive {
                d.outcome = Outcome::Interrupted;
                let said = "its process is gone; the next deploy resumes it";
                d.note = Some(
                    d.note
                        .take()
                        .map_or_else(|| said.to_owned(), |n| format!("{n}; {said}")),
                );
            }
            next_started = Some(d.started_at);
        }
        Ok(list)
    }

    /// Whether a deployment of this ledger schema is alive: a pipeline's presence lock or
    /// Prisma's migration lock is held on this database.
    fn anyone_deploying(client: &mut Client) -> Result<bool, JournalError> {
        Ok(client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' \
                 AND l.granted AND l.database = (SELECT oid FROM pg_database \
                   WHERE datname = current_database()) \
                 AND ((l.classid = $1::int::oid AND l.objid = hashtext(current_schema())::oid \
                       AND l.objsubid = 2) \
                   OR (l.classid = ($2::bigint >> 32)::oid \
                       AND l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 1)))",
                &[&PRESENCE_KEY, &ledger::LOCK_KEY],
            )
            .map_err(JournalError::query("looking for a live deployment"))?
            .get(0))
    }

    /// The entries that `tail` (a WHERE … ORDER BY … LIMIT built in this file, never from
    /// input) selects.
    fn select(client: &mut Client, tail: &str) -> Result<Vec<Deployment>, JournalError> {
        if !Self::exists(client)? {
            return Ok(Vec::new());
        }
        let rows = client
            .query(
                &format!(
                    "SELECT id, environment, actor, pid, started_at, finished_at, outcome, \
                     planned, applied, backup_id, error, note, timings FROM _migrate.deployments \
                     {tail}"
                ),
                &[],
            )
            .map_err(JournalError::query("reading the journal"))?;
        Ok(rows
            .iter()
            .map(|r| Deployment {
                id: r.get(0),
                environment: r.get(1),
                actor: r.get(2),
                pid: r.get(3),
                started_at: r.get(4),
                finished_at: r.get(5),
                outcome: Outcome::parse(r.get(6)),
                planned: strings(r.get(7)),
                applied: strings(r.get(8)),
                backup_id: r.get(9),
                error: r.get(10),
                note: r.get(11),
                timings: r.get(12),
            })
            .collect())
    }

    /// Finds deployments that were running when their process died, and recovers: while we hold
    /// the migration lock no other deployment runs, so every `running` entry is dead. A migration
    /// that was executing then was rolled back by PostgreSQL when the connection dropped, unless
    /// its file commits part of itself: atomic ones are marked rolled back (this run applies them
    /// again), the others stay failed and are reported. Call it under the migration lock.
    ///
    /// `decide(client, name)` says what to do with a migration that was running: resume it
    /// (its attempt is marked rolled back), record it as applied (its effect is complete, e.g. a
    /// concurrent index build that finished), or leave it failed for a person to resolve.
    ///
    /// # Errors
    ///
    /// [`JournalError`] when the journal or the ledger cannot be read or written.
    pub fn recover(
        client: &mut Client,
        decide: &mut dyn FnMut(&mut Client, &str) -> Decision,
    ) -> Result<Vec<Recovery>, JournalError> {
        // Running deployments whose process died, and ended ones that left an attempt with no
        // outcome (no logs): the process lost its connection mid-migration (a server crash, a
        // terminated session) and recorded the deployment's failure after a reconnect, but not
        // the attempt's. Under the migration lock nothing else can be running it.
        let interrupted: Vec<(String, chrono::DateTime<chrono::Utc>, bool)> = client
            .query(
                "SELECT d.id, d.started_at, d.outcome = 'running' FROM _migrate.deployments d \
                 WHERE d.ledger_schema = current_schema() AND (d.outcome = 'running' OR ( \
                   d.id = ( \
                     SELECT l.id FROM _migrate.deployments l \
                     WHERE l.ledger_schema = current_schema() \
                     ORDER BY l.started_at DESC LIMIT 1) \
                   AND EXISTS (SELECT 1 FROM _prisma_migrations m WHERE m.finished_at IS NULL \
                     AND m.rolled_back_at IS NULL AND m.logs IS NULL \
                     AND m.started_at >= d.started_at))) \
                 ORDER BY d.started_at",
                &[],
            )
            .map_err(JournalError::query("looking for interrupted deployments"))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let mut recoveries = Vec::new();
        for (id, started_at, running) in interrupted {
            let rows = ledger::read_rows(client)?;
            let mut recovery = Recovery {
                deployment: id.clone(),
                resumed: Vec::new(),
                completed: Vec::new(),
                unresolved: Vec::new(),
            };
            for row in rows
                .iter()
                .filter(|r| r.state() == RowState::Failed && r.started_at >= started_at)
            {
                let decision = if row.logs.is_some() {
                    Decision::Unresolved
                } else {
                    decide(client, &row.migration_name)
                };
                let (sql, action) = match decision {
                    Decision::Resume => (
                        "UPDATE _prisma_migrations SET rolled_back_at = $2 WHERE id = $1",
                        "marking the interrupted attempt rolled back",
                    ),
                    Decision::Applied => (
                        "UPDATE _prisma_migrations SET finished_at = $2, \
                         applied_steps_count = applied_steps_count + 1 WHERE id = $1",
                        "recording the interrupted attempt as applied",
                    ),
                    Decision::Unresolved => {
                        recovery.unresolved.push(row.migration_name.clone());
                        continue;
                    }
                };
                client
                    .execute(sql, &[&row.id, &chrono::Utc::now()])
                    .map_err(JournalError::query(action))?;
                match decision {
                    Decision::Applied => recovery.completed.push(row.migration_name.clone()),
                    _ => recovery.resumed.push(row.migration_name.clone()),
                }
            }
            if !running && recovery.resumed.is_empty() && recovery.completed.is_empty() {
                // An ended deployment whose attempt stays unresolved: said by the refusal that
                // follows, not recorded again at every run.
                continue;
            }
            let note = format!(
                "interrupted (process died); next run resumed {}, found complete {}, unresolved {}",
                names(&recovery.resumed),
                names(&recovery.completed),
                names(&recovery.unresolved)
            );
            let closed = if running {
                client.execute(
                    "UPDATE _migrate.deployments SET outcome = 'interrupted', finished_at = $2, \
                     note = $3 WHERE id = $1",
                    &[&id, &chrono::Utc::now(), &note],
                )
            } else {
                // It ended already: its outcome stands, the note says what the next run did.
                client.execute(
                    "UPDATE _migrate.deployments SET note = concat_ws('; ', note, $2::text) \
                     WHERE id = $1",
                    &[&id, &note],
                )
            };
            closed.map_err(JournalError::query("closing the interrupted deployment"))?;
            recoveries.push(recovery);
        }
        Ok(recoveries)
    }
}

/// The migrations the ledger shows applied by attempts started from `from` (and before
/// `until`), in Prisma's order (by name), each once: what a deployment started then applied.
fn applied_between(
    rows: &[ledger::LedgerRow],
    from: chrono::DateTime<chrono::Utc>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<String> {
    let mut applied: Vec<String> = rows
        .iter()
        .filter(|r| {
            r.state() == RowState::Applied
                && r.started_at >= from
                && until.is_none_or(|until| r.started_at < until)
        })
        .map(|r| r.migration_name.clone())
        .collect();
    applied.sort();
    applied.dedup();
    applied
}

fn strings(value: serde_json::Value) -> Vec<String> {
    serde_json::from_value(value).unwrap_or_default()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into())
}
