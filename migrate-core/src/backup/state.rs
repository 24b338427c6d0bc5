//! What a database holds, in a form two databases can be compared by: exact row counts per table,
//! a schema fingerprint, and the migration ledger.

use std::collections::BTreeMap;

use postgres::GenericClient;
use sha2::{Digest, Sha256};

use super::error::pg_detail;
use super::BackupError;
use crate::sql::quote_ident;

/// Schemas that belong to the server, never to the application.
// `_migrate` holds the deployment journal: tooling metadata that must outlive restores, so it is
// not part of the application's state.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// One catalog description per line, `kind|schema|name|definition`, free of OIDs, owners and
/// physical column numbers so that a restored copy describes itself identically.
const DESCRIBE_SQL: &str = "
WITH ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e')
SELECT 'schema|' || n.nspname FROM pg_namespace n WHERE SYSTEM
UNION ALL
SELECT 'relation|' || n.nspname || '|' || c.relname || '|' || c.relkind::text || '|' || c.relpersistence::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE SYSTEM AND c.relkind IN ('r','p','v','m','S','f','c')
   AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
UNION ALL
SELECT 'column|' || n.nspname || '|' || c.relname || '|' ||
       (SELECT count(*) FROM pg_attribute b WHERE b.attrelid = a.attrelid AND b.attnum > 0
           AND NOT b.attisdropped AND b.attnum <= a.attnum) || '|' ||
       a.attname || '|' || format_type(a.atttypid, a.atttypmod) || '|' || a.attnotnull::text || '|' ||
       coalesce(pg_get_expr(d.adbin, d.adrelid), '') || '|' || a.attidentity::text || '|' || a.attgenerated::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE SYSTEM AND c.relkind IN ('r','p','v','m','f','c') AND a.attnum > 0 AND NOT a.attisdropped
   AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
UNION ALL
SELECT 'constraint|' || n.nspname || '|' || c.relname || '|' || k.conname || '|' ||
       pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE SYSTEM
UNION ALL
SELECT 'index|' || n.nspname || '|' || i.relname || '|' || pg_get_indexdef(i.oid)
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = i.relnamespace WHERE SYSTEM
UNION ALL
SELECT 'view|' || n.nspname || '|' || c.relname || '|' || pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE SYSTEM AND c.relkind IN ('v','m')
UNION ALL
SELECT 'type|' || n.nspname || '|' || t.typname || '|' || t.typtype::text || '|' ||
       coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid), '')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE SYSTEM AND t.typtype IN ('e','d','r')
   AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
UNION ALL
SELECT 'function|' || n.nspname || '|' || p.proname || '|' ||
       pg_get_function_identity_arguments(p.oid) || '|' || md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE SYSTEM
   AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)
UNION ALL
SELECT 'trigger|' || n.nspname || '|' || c.relname || '|' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE SYSTEM AND NOT t.tgisinternal
UNION ALL
SELECT 'extension|' || x.extname FROM pg_extension x WHERE x.extname <> 'plpgsql'
";

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

/// A hash of the database's schema: every relation, column (name, type, nullability, default, in
/// order), constraint, index, view, enum, function, trigger and extension of the non-system
/// schemas. Owners, privileges and OIDs are left out, so a faithful restore has the same one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemaFingerprint {
    /// SHA-256 of the sorted description lines.
    pub sha256: String,
    /// How many objects were described.
    pub objects: usize,
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
        let lines = describe_schema(client, target)?;
        let schema_fingerprint = fingerprint_of(&lines);
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
                rows: 0,
                writes: row.get(2),
            };
            table.rows = client
                .query_one(&format!("SELECT count(*) FROM {}", table.qualified()), &[])
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

/// The sorted description lines behind [`SchemaFingerprint`], for showing what differs.
///
/// # Errors
///
/// [`BackupError::Query`] when the catalog cannot be read.
pub fn describe_schema(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<Vec<String>, BackupError> {
    let sql = DESCRIBE_SQL.replace("SYSTEM", SYSTEM_SCHEMAS);
    let rows = client
        .query(&sql, &[])
        .map_err(|source| BackupError::Query {
            action: "describing the schema".into(),
            target: target.to_owned(),
            detail: pg_detail(&source),
            source,
        })?;
    let mut lines: Vec<String> = rows
        .iter()
        .filter_map(|r| r.get::<_, Option<String>>(0))
        .collect();
    lines.sort();
    Ok(lines)
}

/// The schema fingerprint alone (no row counts): cheap enough to compare two environments.
///
/// # Errors
///
/// [`BackupError::Query`] when the catalog cannot be read.
pub fn schema_fingerprint(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<SchemaFingerprint, BackupError> {
    Ok(fingerprint_of(&describe_schema(client, target)?))
}

fn fingerprint_of(lines: &[String]) -> SchemaFingerprint {
    let mut hasher = Sha256::new();
    for line in lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    SchemaFingerprint {
        sha256: format!("{:x}", hasher.finalize()),
        objects: lines.len(),
    }
}
