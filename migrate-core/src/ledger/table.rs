//! Creating, reading and writing `_prisma_migrations` with Prisma's exact DDL and row semantics.

use chrono::Utc;
use postgres::{Client, Statement};

use super::{LedgerError, LedgerRow};
use crate::sql::quote_ident;

/// The ledger table, unqualified: it lives in the first schema of the search path, like Prisma's.
pub const TABLE_NAME: &str = "_prisma_migrations";

/// Prisma's DDL, byte for byte (`PostgresFlavour::create_migrations_table`).
pub const CREATE_TABLE_SQL: &str = "CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);";

/// Tables that do not make a database "non-empty" for Prisma (PostGIS metadata).
const IGNORED_TABLES: &[&str] = &[
    "spatial_ref_sys",
    "geometry_columns",
    "geography_columns",
    "raster_columns",
    "raster_overviews",
];

/// What [`initialize`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initialized {
    /// The ledger was already there.
    Existing,
    /// The ledger was created now.
    Created,
}

/// Creates `schema` when it does not exist (Prisma creates the `?schema=` schema too).
///
/// # Errors
///
/// [`LedgerError::Query`] when the statement fails (e.g. no CREATE privilege).
pub fn ensure_schema(client: &mut Client, schema: &str) -> Result<(), LedgerError> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .map_err(LedgerError::query("looking up the schema"))?
        .get(0);
    if !exists {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            ))
            .map_err(LedgerError::query("creating the schema"))?;
    }
    Ok(())
}

/// True when `_prisma_migrations` is visible on the search path.
///
/// # Errors
///
/// [`LedgerError::Query`] when the catalog cannot be read.
pub fn table_exists(client: &mut Client) -> Result<bool, LedgerError> {
    Ok(client
        .query_one("SELECT to_regclass('_prisma_migrations') IS NOT NULL", &[])
        .map_err(LedgerError::query("looking for _prisma_migrations"))?
        .get(0))
}

/// Creates the ledger unconditionally (Prisma's `baseline_initialize`).
///
/// # Errors
///
/// [`LedgerError::Query`] when the DDL fails.
pub fn create_table(client: &mut Client) -> Result<(), LedgerError> {
    client
        .batch_execute(CREATE_TABLE_SQL)
        .map_err(LedgerError::query("creating _prisma_migrations"))
}

/// Refuses, like Prisma's P3005, a schema that holds tables but no ledger; creates nothing.
///
/// # Errors
///
/// [`LedgerError::NotEmpty`] naming some of the tables.
pub fn check_adoptable(client: &mut Client) -> Result<(), LedgerError> {
    if table_exists(client)? {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT current_schema()::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
               AND lower(c.relname) <> ALL ($1) \
             ORDER BY c.relname",
            &[&IGNORED_TABLES],
        )
        .map_err(LedgerError::query("listing tables"))?;
    // Another deployment may have created the ledger since `table_exists` looked (this check
    // runs outside the migration lock): then the schema is adoptable.
    if rows
        .iter()
        .any(|r| r.get::<_, String>(1) == "_prisma_migrations")
    {
        return Ok(());
    }
    if let Some(first) = rows.first() {
        let mut tables: Vec<String> = rows.iter().take(5).map(|r| r.get(1)).collect();
        if rows.len() > tables.len() {
            tables.push(format!("and {} more", rows.len() - tables.len()));
        }
        return Err(LedgerError::NotEmpty {
            schema: first.get(0),
            tables: tables.join(", "),
        });
    }
    Ok(())
}

/// Creates the ledger if it is missing, refusing a non-empty schema like Prisma's P3005.
///
/// # Errors
///
/// [`LedgerError::NotEmpty`] when the schema holds tables but no ledger.
pub fn initialize(client: &mut Client) -> Result<Initialized, LedgerError> {
    if table_exists(client)? {
        return Ok(Initialized::Existing);
    }
    check_adoptable(client)?;
    create_table(client)?;
    Ok(Initialized::Created)
}

/// Reads every row, ordered by `started_at` like Prisma.
///
/// # Errors
///
/// [`LedgerError::Query`] when the table cannot be read.
pub fn read_rows(client: &mut Client) -> Result<Vec<LedgerRow>, LedgerError> {
    read_rows_in(client)
}

/// [`read_rows`] through any client, a transaction included (a backup reads the ledger in the
/// dump's snapshot).
///
/// # Errors
///
/// [`LedgerError::Query`] when the table cannot be read.
pub fn read_rows_in(
    client: &mut impl postgres::GenericClient,
) -> Result<Vec<LedgerRow>, LedgerError> {
    let rows = client
        .query(
            "SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, \
             applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC",
            &[],
        )
        .map_err(LedgerError::query("reading _prisma_migrations"))?;
    Ok(rows
        .iter()
        .map(|r| LedgerRow {
            id: r.get(0),
            checksum: r.get(1),
            finished_at: r.get(2),
            migration_name: r.get(3),
            logs: r.get(4),
            rolled_back_at: r.get(5),
            started_at: r.get(6),
            applied_steps_count: r.get(7),
        })
        .collect())
}

/// Writes ledger rows with Prisma's semantics, through statements prepared once per session.
/// Timestamps come from the client clock, as Prisma's do.
pub struct RowWriter {
    start: Statement,
    finish: Statement,
    failed: Statement,
    applied: Statement,
    rolled_back: Statement,
}

impl RowWriter {
    /// Prepares the statements on `client`.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the ledger is missing or the session fails.
    pub fn prepare(client: &mut Client) -> Result<Self, LedgerError> {
        let mut prepare = |sql: &str| {
            client
                .prepare(sql)
                .map_err(LedgerError::query("preparing ledger statements"))
        };
        Ok(Self {
            start: prepare(
                "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) \
                 VALUES ($1, $2, $3, $4)",
            )?,
            // Prisma issues two updates (steps, then finished_at); one is equivalent and atomic.
            finish: prepare(
                "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, \
                 finished_at = $2 WHERE id = $1",
            )?,
            failed: prepare("UPDATE _prisma_migrations SET logs = $2 WHERE id = $1")?,
            applied: prepare(
                "INSERT INTO _prisma_migrations (id, checksum, logs, started_at, finished_at, \
                 migration_name) VALUES ($1, $2, '', $3, $3, $4)",
            )?,
            rolled_back: prepare(
                "UPDATE _prisma_migrations SET rolled_back_at = $2 WHERE id = $1",
            )?,
        })
    }

    /// Inserts the row of an attempt that starts now; returns its id.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the insert fails.
    pub fn started(
        &self,
        client: &mut Client,
        name: &str,
        checksum: &str,
    ) -> Result<String, LedgerError> {
        insert(
            client,
            &self.start,
            name,
            checksum,
            "recording the migration start",
        )
    }

    /// Marks a successful attempt: one applied step and `finished_at`.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the update fails.
    pub fn finished(&self, client: &mut Client, id: &str) -> Result<(), LedgerError> {
        stamp(client, &self.finish, id, "recording the migration success")
    }

    /// SQL that marks attempt `id` successful, to append to the migration's own query so that the
    /// script and its ledger update commit together: a crash can then never leave a migration
    /// applied but recorded as failed. `finished_at` is the server's clock at commit (never
    /// before `started_at`).
    #[must_use]
    pub fn finish_sql(id: &str) -> String {
        format!(
            "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, \
             finished_at = greatest(clock_timestamp(), started_at) WHERE id = '{}'",
            id.replace('\'', "''")
        )
    }

    /// Records a failed attempt's error text (Prisma's `record_failed_step`); `finished_at` stays
    /// NULL.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the update fails.
    pub fn failed(&self, client: &mut Client, id: &str, logs: &str) -> Result<(), LedgerError> {
        client
            .execute(&self.failed, &[&id, &logs])
            .map(drop)
            .map_err(LedgerError::query("recording the failure"))
    }

    /// Inserts a row for a migration marked applied without running it (`resolve --applied`,
    /// baseline): `logs = ''`, `started_at = finished_at`, no applied step.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the insert fails.
    pub fn marked_applied(
        &self,
        client: &mut Client,
        name: &str,
        checksum: &str,
    ) -> Result<String, LedgerError> {
        insert(
            client,
            &self.applied,
            name,
            checksum,
            "marking the migration applied",
        )
    }

    /// Sets `rolled_back_at` on a row.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Query`] when the update fails.
    pub fn rolled_back(&self, client: &mut Client, id: &str) -> Result<(), LedgerError> {
        stamp(
            client,
            &self.rolled_back,
            id,
            "marking the migration rolled back",
        )
    }
}

/// Runs an insert taking `(id, checksum, now, name)`; returns the new id.
fn insert(
    client: &mut Client,
    statement: &Statement,
    name: &str,
    checksum: &str,
    action: &'static str,
) -> Result<String, LedgerError> {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    client
        .execute(statement, &[&id, &checksum, &Utc::now(), &name])
        .map_err(LedgerError::query(action))?;
    Ok(id)
}

/// Runs an update taking `(id, now)`.
fn stamp(
    client: &mut Client,
    statement: &Statement,
    id: &str,
    action: &'static str,
) -> Result<(), LedgerError> {
    client
        .execute(statement, &[&id, &Utc::now()])
        .map(drop)
        .map_err(LedgerError::query(action))
}
