//! The schema of a database as text two databases can be compared by: one catalog description
//! per object, and a fingerprint of the lot. Backups, the journal's drift check, the promotion
//! gate and the rehearsal all compare schemas this way, so it sits on the ground floor.

use postgres::GenericClient;
use sha2::{Digest, Sha256};

/// The catalog could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The description query failed.
    #[error("{target}: describing the schema: {}", detail(source))]
    Query {
        /// The database, redacted.
        target: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
}

/// The server's message and SQLSTATE when there is one: the driver's own text is only "db error".
fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// Schemas that belong to the server, never to the application.
// `_migrate` holds the deployment journal: tooling metadata that must outlive restores, so it is
// not part of the application's state.
pub(crate) const SYSTEM_SCHEMAS: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate') \
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

impl SchemaFingerprint {
    /// The fingerprint of sorted description lines (as [`describe_schema`] returns them).
    #[must_use]
    pub fn of(lines: &[String]) -> Self {
        let mut hasher = Sha256::new();
        for line in lines {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        Self {
            sha256: format!("{:x}", hasher.finalize()),
            objects: lines.len(),
        }
    }
}

/// The sorted description lines behind [`SchemaFingerprint`], for showing what differs.
///
/// # Errors
///
/// [`SchemaError`] when the catalog cannot be read.
pub fn describe_schema(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<Vec<String>, SchemaError> {
    let sql = DESCRIBE_SQL.replace("SYSTEM", SYSTEM_SCHEMAS);
    let rows = client
        .query(&sql, &[])
        .map_err(|source| SchemaError::Query {
            target: target.to_owned(),
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
/// [`SchemaError`] when the catalog cannot be read.
pub fn schema_fingerprint(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<SchemaFingerprint, SchemaError> {
    Ok(SchemaFingerprint::of(&describe_schema(client, target)?))
}
