//! What a database holds, in a form two databases can be compared by: exact row counts per table,
//! a schema fingerprint, and the migration ledger.

use std::collections::BTreeMap;

use postgres::GenericClient;

use super::BackupError;
use crate::schema::{describe_schema, SchemaFingerprint, SYSTEM_SCHEMAS};
use crate::sql::quote_ident;

/// The exact row count of one table at one instant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableCount {
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// `count(*)`.
    pub rows: i64,
    /// Rows inserted, updated and deleted since the statistics were reset
    /// (`pg_stat_user_tables`), to estimate later what a restore would lose.
    #[serde(default)]
    pub writes: Option<i64>,
}

impl TableCount {
    /// `schema.table`, quoted where needed.
    #[must_use]
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// The comparable state of a database: row counts per table and the schema fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatabaseState {
    /// Exact row counts of every ordinary and partitioned table, sorted by schema and name.
    pub tables: Vec<TableCount>,
    /// The schema fingerprint.
    pub schema_fingerprint: SchemaFingerprint,
}

impl DatabaseState {
    /// Captures the state through `client`. Run it in a `REPEATABLE READ` transaction (or on a
    /// database nobody writes to) for counts of one instant.
    ///
    /// # Errors
    ///
    /// [`BackupError::Query`] when the catalog or a table cannot be read.
    pub fn capture(client: &mut impl GenericClient, target: &str) -> Result<Self, BackupError> {
        Self::capture_except(client, target, &|_, _| false)
    }

    /// As [`capture`](Self::capture), without counting the tables for which `skip(schema,
    /// table)` is true: their `rows` are -1 (a scoped backup leaves their data out, and counting
    /// would scan them, a cost proportional to the whole database).
    ///
    /// # Errors
    ///
    /// As [`capture`](Self::capture).
    pub fn capture_except(
        client: &mut impl GenericClient,
        target: &str,
        skip: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Self, BackupError> {
        let lines = describe_schema(client, target)?;
        let schema_fingerprint = SchemaFingerprint::of(&lines);
        let tables = client
            .query(
                &format!(
                    "SELECT n.nspname, c.relname, \
                     (SELECT s.n_tup_ins + s.n_tup_upd + s.n_tup_del FROM pg_stat_user_tables s \
                       WHERE s.relid = c.oid) \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE {SYSTEM_SCHEMAS} AND c.relkind = 'r' ORDER BY 1, 2"
                ),
                &[],
            )
            .map_err(BackupError::query("listing tables", target.to_owned()))?;
        let mut counts = Vec::with_capacity(tables.len());
        for row in tables {
            let mut table = TableCount {
                schema: row.get(0),
                table: row.get(1),
                rows: -1,
                writes: row.get(2),
            };
            if skip(&table.schema, &table.table) {
                counts.push(table);
                continue;
            }
            table.rows = client
                .query_one(
                    &format!(
                        "{}SELECT count(*) FROM {}",
                        crate::sql::ENGINE_MARKER,
                        table.qualified()
                    ),
                    &[],
                )
                .map_err(BackupError::query(
                    format!("counting the rows of {}", table.qualified()),
                    target.to_owned(),
                ))?
                .get(0);
            counts.push(table);
        }
        Ok(Self {
            tables: counts,
            schema_fingerprint,
        })
    }

    /// How `other` differs from `self` (the expected state), one message per difference; empty
    /// when they are equal in counts and schema.
    #[must_use]
    pub fn differences(&self, other: &DatabaseState) -> Vec<String> {
        let mut out = Vec::new();
        if self.schema_fingerprint.sha256 != other.schema_fingerprint.sha256 {
            out.push(format!(
                "schema fingerprint {} ({} objects) instead of {} ({} objects)",
                short(&other.schema_fingerprint.sha256),
                other.schema_fingerprint.objects,
                short(&self.schema_fingerprint.sha256),
                self.schema_fingerprint.objects
            ));
        }
        let expected: BTreeMap<_, _> = self
            .tables
            .iter()
            .map(|t| ((&t.schema, &t.table), t.rows))
            .collect();
        let actual: BTreeMap<_, _> = other
            .tables
            .iter()
            .map(|t| ((&t.schema, &t.table), t.rows))
            .collect();
        for ((schema, table), rows) in &expected {
            match actual.get(&(*schema, *table)) {
                None => out.push(format!("table {schema}.{table} is missing")),
                Some(got) if got != rows => out.push(format!(
                    "table {schema}.{table} has {got} rows instead of {rows}"
                )),
                Some(_) => {}
            }
        }
        for (schema, table) in actual.keys() {
            if !expected.contains_key(&(*schema, *table)) {
                out.push(format!("table {schema}.{table} is not in the backup"));
            }
        }
        out
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
