//! Scoped backups: the whole schema, and the data of only the tables the pending migrations
//! can change, so that the backup costs what is at risk rather than what the database holds
//! (issue #12). Which tables those are comes from the safety analyzer's reading of the
//! migrations; a statement it cannot bound (dynamic SQL, a statement not understood, a call
//! into a routine) makes the backup full, and says why.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use postgres::GenericClient;

use super::BackupError;
use crate::safety::ir::{Action, Name, ObjectKind};
use crate::safety::{parse_script, Via};
use crate::source::LocalMigration;
use crate::sql::quote_ident;

/// Which backup a deployment takes before the migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackupMode {
    /// Scoped when the analyzer bounds what the migrations change, full otherwise.
    #[default]
    Auto,
    /// Always the whole database.
    Full,
    /// Always scoped: a migration the analyzer cannot bound is refused.
    Scoped,
}

impl FromStr for BackupMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "full" => Ok(Self::Full),
            "scoped" => Ok(Self::Scoped),
            other => Err(format!(
                "unknown backup mode {other:?}: expected full, scoped or auto"
            )),
        }
    }
}

impl fmt::Display for BackupMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Full => "full",
            Self::Scoped => "scoped",
        })
    }
}

/// A table the migrations may change, as written in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAtRisk {
    /// The name as the migration wrote it.
    pub name: Name,
    /// What the migrations do to it (`DELETE in 2024…_x`), one entry per statement kind.
    pub reasons: Vec<String>,
    /// `name` is an index's (`DROP INDEX`, `ALTER INDEX`): its table is looked up in the
    /// catalog when the backup is taken.
    pub index: bool,
    /// `name` is an enum type's (`ALTER TYPE … ADD VALUE`, a rename or drop of an enum): every
    /// table with a column of it is at risk, found in the catalog (restoring the enum as it was
    /// recreates it, and its columns with it).
    pub of_type: bool,
}

/// What the pending migrations can change, as far as the analyzer can bound it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtRisk {
    /// Only these tables (existing before the deployment or not: resolved against the database
    /// when the backup is taken).
    Tables(Vec<TableAtRisk>),
    /// Unbounded: why, one sentence per statement.
    Unbounded(Vec<String>),
}

/// Reads `migrations` (the pending ones, in order) and says which tables they can change.
///
/// Every table a statement alters, rewrites, writes to or drops is at risk, schema-only
/// changes included: a table-level restore puts a covered table back whole (definition, data,
/// indexes, constraints), which is how it undoes an added column or index without a down
/// script. A table created by the migrations holds nothing to lose (the restore drops it).
#[must_use]
pub fn at_risk(migrations: &[&LocalMigration]) -> AtRisk {
    let mut tables: BTreeMap<String, TableAtRisk> = BTreeMap::new();
    let mut unbounded = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for migration in migrations {
        let Some(script) = migration.script() else {
            continue;
        };
        // A DO block is followed by its own statements (as the analyzer reads them): each is
        // judged on its own, and an EXECUTE among them makes the effect unbounded.
        for statement in parse_script(script.sql()) {
            let line = statement.start.line;
            let at = format!("{} line {line}", migration.name());
            if matches!(statement.via, Via::NotUnderstood | Via::MetaCommand) {
                unbounded.push(format!(
                    "{at}: a statement the analyzer does not understand"
                ));
                continue;
            }
            let text = &script.sql()[statement.span.clone()];
            for action in &statement.actions {
                let effect = match classify(action) {
                    // The IR keeps some ALTER TABLE / ALTER INDEX forms by kind only: the name
                    // is read back from the statement.
                    Effect::Unbounded(_) if named_in(action, "ALTER TABLE") => {
                        altered(text, "TABLE").map_or_else(
                            || classify(action),
                            |n| Effect::Tables(vec![n], "ALTER TABLE"),
                        )
                    }
                    Effect::Unbounded(_) if named_in(action, "ALTER INDEX") => {
                        altered(text, "INDEX").map_or_else(
                            || classify(action),
                            |n| Effect::Indexes(vec![n], "ALTER INDEX"),
                        )
                    }
                    effect => effect,
                };
                match effect {
                    Effect::None => {}
                    Effect::Creates(name) => created.push(key(&name)),
                    Effect::Tables(names, what) => {
                        for name in names {
                            // Created earlier in this deployment: nothing of before to lose.
                            if created.contains(&key(&name)) {
                                continue;
                            }
                            add(
                                &mut tables,
                                name,
                                false,
                                format!("{what} in {}", migration.name()),
                            );
                        }
                    }
                    Effect::Types(names, what) => {
                        for name in names {
                            let reason = format!("{what} in {}", migration.name());
                            add_as(&mut tables, name, (false, true), reason);
                        }
                    }
                    Effect::Indexes(names, what) => {
                        for name in names {
                            add(
                                &mut tables,
                                name,
                                true,
                                format!("{what} in {}", migration.name()),
                            );
                        }
                    }
                    Effect::Unbounded(why) => unbounded.push(format!("{at}: {why}")),
                }
            }
        }
    }
    if unbounded.is_empty() {
        AtRisk::Tables(tables.into_values().collect())
    } else {
        AtRisk::Unbounded(unbounded)
    }
}

fn add(tables: &mut BTreeMap<String, TableAtRisk>, name: Name, index: bool, reason: String) {
    add_as(tables, name, (index, false), reason);
}

fn add_as(
    tables: &mut BTreeMap<String, TableAtRisk>,
    name: Name,
    (index, of_type): (bool, bool),
    reason: String,
) {
    let prefix = match (index, of_type) {
        (true, _) => "index:",
        (_, true) => "type:",
        _ => "",
    };
    let k = format!("{prefix}{}", key(&name));
    let entry = tables.entry(k).or_insert_with(|| TableAtRisk {
        name,
        reasons: Vec::new(),
        index,
        of_type,
    });
    if !entry.reasons.contains(&reason) {
        entry.reasons.push(reason);
    }
}

fn named_in(action: &Action, prefix: &str) -> bool {
    matches!(action, Action::Other { kind } if kind.to_ascii_uppercase().starts_with(prefix))
}

/// The name after `ALTER TABLE|INDEX [IF EXISTS] [ONLY]` in `text`, quoted parts as written,
/// unquoted ones folded to lower case as PostgreSQL does.
fn altered(text: &str, object: &str) -> Option<Name> {
    let mut rest = text.trim_start();
    for word in ["ALTER", object] {
        rest = strip_word(rest, word)?;
    }
    if let Some(r) = strip_word(rest, "IF").and_then(|r| strip_word(r, "EXISTS")) {
        rest = r;
    }
    if let Some(r) = strip_word(rest, "ONLY") {
        rest = r;
    }
    let (first, rest) = ident(rest)?;
    match rest.strip_prefix('.') {
        Some(after) => {
            let (second, _) = ident(after)?;
            Some(Name {
                schema: Some(first),
                name: second,
            })
        }
        None => Some(Name::bare(first)),
    }
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let after = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && after.starts_with(char::is_whitespace))
        .then(|| after.trim_start())
}

/// One identifier at the start of `text`, and what follows it.
fn ident(text: &str) -> Option<(String, &str)> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if quoted[i + 1..].starts_with('"') {
                    out.push('"');
                    chars.next();
                } else {
                    return Some((out, &quoted[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        None
    } else {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(text.len());
        (end > 0).then(|| (text[..end].to_lowercase(), &text[end..]))
    }
}

fn key(name: &Name) -> String {
    format!(
        "{}.{}",
        name.schema.as_deref().unwrap_or(""),
        name.name.to_ascii_lowercase()
    )
}

enum Effect {
    None,
    Creates(Name),
    Tables(Vec<Name>, &'static str),
    /// Enum types, whose tables the catalog knows.
    Types(Vec<Name>, &'static str),
    /// Indexes, whose tables the catalog knows.
    Indexes(Vec<Name>, &'static str),
    Unbounded(String),
}

fn classify(action: &Action) -> Effect {
    use Action as A;
    let one = |t: &Name, what| Effect::Tables(vec![t.clone()], what);
    match action {
        A::CreateTable { table, .. } => Effect::Creates(table.clone()),
        A::DropTable { tables } => Effect::Tables(tables.clone(), "DROP TABLE"),
        A::Truncate { tables } => Effect::Tables(tables.clone(), "TRUNCATE"),
        A::DropColumn { table, .. } => one(table, "DROP COLUMN"),
        A::AlterColumnType { table, .. } => one(table, "ALTER COLUMN TYPE"),
        A::Delete { table, .. } => one(table, "DELETE"),
        A::Update { table, .. } => one(table, "UPDATE"),
        A::Insert { table } => one(table, "INSERT"),
        A::RenameTable { table, .. } => one(table, "RENAME"),
        A::AddColumn { table, .. }
        | A::RenameColumn { table, .. }
        | A::SetNotNull { table, .. }
        | A::DropNotNull { table, .. }
        | A::SetDefault { table, .. }
        | A::AddConstraint { table, .. }
        | A::ValidateConstraint { table, .. }
        | A::DropConstraint { table, .. }
        | A::RenameConstraint { table, .. }
        | A::CreateIndex { table, .. }
        | A::ChangeStorage { table, .. } => one(table, "schema change"),
        A::AttachPartition { table, partition }
        | A::DetachPartition {
            table, partition, ..
        } => Effect::Tables(vec![table.clone(), partition.clone()], "partitioning"),
        A::DynamicSql => Effect::Unbounded("EXECUTE of SQL built at run time".to_owned()),
        A::DropObject {
            kind: ObjectKind::Schema | ObjectKind::Database,
            ..
        } => Effect::Unbounded("drops a whole schema or database".to_owned()),
        A::DropIndex { names, .. } => Effect::Indexes(names.clone(), "DROP INDEX"),
        A::AddEnumValue { name, .. } | A::RenameEnumValue { name, .. } => {
            Effect::Types(vec![name.clone()], "enum change")
        }
        A::RenameType { name, .. } => Effect::Types(vec![name.clone()], "enum change"),
        A::DropType { names, .. } => Effect::Types(names.clone(), "enum change"),
        // CASCADE reaches columns of tables the statement does not name.
        A::DropObject {
            kind: ObjectKind::Domain | ObjectKind::Extension | ObjectKind::Function,
            cascade: true,
            ..
        } => Effect::Unbounded("DROP … CASCADE of a domain, extension or function".to_owned()),
        A::DropOwned { .. } => Effect::Unbounded("DROP OWNED BY drops a role's tables".to_owned()),
        A::RenameIndex { name, .. } => Effect::Indexes(vec![name.clone()], "ALTER INDEX RENAME"),
        A::Other { kind } => other(kind),
        _ => Effect::None,
    }
}

/// Statements the IR keeps only by kind: those that can run arbitrary code or change a table
/// it does not name make the effect unbounded.
fn other(kind: &str) -> Effect {
    let kind = kind.to_ascii_uppercase();
    let bounded = [
        "CREATE FUNCTION",
        "CREATE OR REPLACE FUNCTION",
        "CREATE TYPE",
        "CREATE SEQUENCE",
        "CREATE VIEW",
        "CREATE OR REPLACE VIEW",
        "CREATE EXTENSION",
        "CREATE SCHEMA",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "SET",
        "RESET",
        "ALTER TYPE",
        "ALTER SEQUENCE",
        "CREATE DOMAIN",
    ];
    if bounded.iter().any(|b| kind.starts_with(b)) || kind == "DO" {
        Effect::None
    } else {
        Effect::Unbounded(format!("{kind} (not bounded by the analyzer)"))
    }
}

/// What a scoped backup is asked to cover.
#[derive(Debug, Clone, Default)]
pub struct ScopeRequest {
    /// The migrations it is for (the pending ones).
    pub migrations: Vec<String>,
    /// The tables they put at risk.
    pub tables: Vec<TableAtRisk>,
    /// Keep the writes made to the covered tables after the backup: a logical replication slot
    /// starts at the dump's snapshot (when the server and the role allow it), held until
    /// [`BackupProvider::release`](super::BackupProvider::release), for a table-level restore
    /// to replay them. A deployment's backup asks for it; a backup taken on its own does not.
    pub replay: bool,
}

/// What a backup in `mode` covers for `pending` (names, in order, looked up in `migrations`):
/// a scope, or `None` for the whole database with why (`None` too when `mode` is
/// [`BackupMode::Full`]).
///
/// # Errors
///
/// [`BackupError::ScopeUnbounded`] when `mode` is [`BackupMode::Scoped`] and the analyzer
/// cannot bound the migrations.
pub fn request_for(
    migrations: &crate::source::Migrations,
    pending: &[String],
    mode: BackupMode,
) -> Result<(Option<ScopeRequest>, Option<String>), BackupError> {
    if mode == BackupMode::Full {
        return Ok((None, None));
    }
    let refs: Vec<&LocalMigration> = pending.iter().filter_map(|n| migrations.get(n)).collect();
    match at_risk(&refs) {
        AtRisk::Tables(tables) => Ok((
            Some(ScopeRequest {
                migrations: pending.to_vec(),
                tables,
                replay: false,
            }),
            None,
        )),
        AtRisk::Unbounded(reasons) if mode == BackupMode::Scoped => {
            Err(BackupError::ScopeUnbounded {
                reasons: reasons.join("; "),
            })
        }
        AtRisk::Unbounded(reasons) => Ok((
            None,
            Some(format!(
                "full, because the analyzer cannot bound {}",
                reasons.join("; ")
            )),
        )),
    }
}

/// What the backup before deploying `pending` would hold, as `migrate plan` shows it: the
/// tables the migrations put at risk (those existing then are covered), or why it is full.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BackupPlan {
    /// `scoped` or `full`.
    pub kind: &'static str,
    /// The tables at risk, as the migrations name them, with what they do to each.
    pub tables: Vec<(String, Vec<String>)>,
    /// Why the backup is full, when it is.
    pub full_because: Option<String>,
}

impl BackupPlan {
    /// The plan of a backup in `mode` before `pending` (names, in order, looked up in
    /// `migrations`).
    #[must_use]
    pub fn of(
        migrations: &crate::source::Migrations,
        pending: &[String],
        mode: BackupMode,
    ) -> Self {
        match request_for(migrations, pending, mode) {
            Ok((Some(request), _)) => Self {
                kind: "scoped",
                tables: request
                    .tables
                    .iter()
                    .map(|t| (t.name.to_string(), t.reasons.clone()))
                    .collect(),
                full_because: None,
            },
            Ok((None, why)) => Self {
                kind: "full",
                tables: Vec::new(),
                full_because: Some(why.unwrap_or_else(|| "a full backup was asked for".to_owned())),
            },
            Err(e) => Self {
                kind: "full",
                tables: Vec::new(),
                full_because: Some(e.to_string()),
            },
        }
    }
}

impl fmt::Display for BackupPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.full_because {
            let why = why.strip_prefix("full, ").unwrap_or(why);
            let parts: Vec<&str> = why.split("; ").collect();
            let more = match parts.len().saturating_sub(3) {
                0 => String::new(),
                n => format!("; and {n} more"),
            };
            return write!(
                f,
                "Backup before deploying: the whole database, {}{more}",
                parts[..parts.len().min(3)].join("; ")
            );
        }
        if self.tables.is_empty() {
            return f.write_str(
                "Backup before deploying: the schema only (no existing table's rows at risk)",
            );
        }
        const SHOWN: usize = 6;
        let mut shown: Vec<String> = self
            .tables
            .iter()
            .take(SHOWN)
            .map(|(t, why)| format!("{t} ({})", why.join(", ")))
            .collect();
        if self.tables.len() > SHOWN {
            shown.push(format!("{} more", self.tables.len() - SHOWN));
        }
        write!(
            f,
            "Backup before deploying: scoped to {} table(s) at risk (the schema, and these \
             tables' rows if they exist): {}",
            self.tables.len(),
            shown.join("; ")
        )
    }
}

/// A table whose data a scoped backup holds, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CoveredTable {
    /// The schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// Exact rows in the backup's snapshot.
    pub rows: i64,
    /// A digest of the rows, independent of their order: the exact sum of the first 64 bits of
    /// `md5(row::text)` (as signed integers) over every row, in decimal. Recomputed after a
    /// restore; streaming, so it costs one scan of the table.
    pub digest: String,
    /// Why it is covered (what the migrations do to it).
    pub reasons: Vec<String>,
}

impl CoveredTable {
    /// `schema.table`, quoted where needed.
    #[must_use]
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// The scope of a scoped backup, in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// The migrations the scope was computed for (pending when the backup was taken).
    pub migrations: Vec<String>,
    /// Tables whose data the backup holds, with counts and digests.
    pub covered: Vec<CoveredTable>,
    /// Tables whose data the backup leaves out (`schema.table`, unquoted): their definitions are
    /// in it, their rows are not.
    pub excluded: Vec<(String, String)>,
    /// Where a rollback's replay of the writes made after the backup starts, when a slot was
    /// created for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::replay::ReplayPoint>,
}

/// The order-independent digest of `table`'s rows (see [`CoveredTable::digest`]) and its count.
///
/// # Errors
///
/// [`BackupError::Query`].
pub fn table_digest(
    client: &mut impl GenericClient,
    qualified: &str,
    target: &str,
) -> Result<(i64, String), BackupError> {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0)::text \
                 FROM {qualified} t"
            ),
            &[],
        )
        .map_err(BackupError::query(
            format!("digesting the rows of {qualified}"),
            target.to_owned(),
        ))?;
    Ok((row.get(0), row.get(1)))
}

/// Resolves the tables at risk against the database (the URL's `search_path` for unqualified
/// names): the existing ordinary or partitioned tables, as `(schema, table, reasons)`. Names
/// that resolve to nothing (created by the deployment) are left out.
///
/// # Errors
///
/// [`BackupError::Query`].
pub fn resolve(
    client: &mut impl GenericClient,
    tables: &[TableAtRisk],
    target: &str,
) -> Result<Vec<(String, String, Vec<String>)>, BackupError> {
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for t in tables {
        let name = match &t.name.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&t.name.name)),
            None => quote_ident(&t.name.name),
        };
        // An index's table, an enum's tables, or the table itself.
        let sql = if t.of_type {
            "SELECT DISTINCT n.nspname::text, c.relname::text FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
             AND (a.atttypid = to_regtype($1) \
                  OR a.atttypid = (SELECT typarray FROM pg_type WHERE oid = to_regtype($1)))"
        } else if t.index {
            "SELECT n.nspname::text, c.relname::text FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE i.indexrelid = to_regclass($1) AND c.relkind IN ('r', 'p')"
        } else {
            "SELECT n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')"
        };
        let rows = client.query(sql, &[&name]).map_err(BackupError::query(
            "resolving a table at risk",
            target.to_owned(),
        ))?;
        for row in rows {
            let (schema, table): (String, String) = (row.get(0), row.get(1));
            match out.iter_mut().find(|(s, n, _)| *s == schema && *n == table) {
                Some(entry) => entry.2.extend(t.reasons.iter().cloned()),
                None => out.push((schema, table, t.reasons.clone())),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(sql: &[(&str, &str)]) -> Vec<LocalMigration> {
        sql.iter()
            .map(|(name, sql)| LocalMigration::from_sql(*name, sql))
            .collect()
    }

    fn tables(risk: &AtRisk) -> Vec<String> {
        match risk {
            AtRisk::Tables(t) => t.iter().map(|t| t.name.to_string()).collect(),
            AtRisk::Unbounded(why) => panic!("unbounded: {why:?}"),
        }
    }

    #[test]
    fn drops_deletes_and_retypes_put_their_tables_at_risk() {
        let m = pending(&[(
            "m1",
            "ALTER TABLE \"User\" DROP COLUMN \"bio\";\n\
             DELETE FROM \"Post\" WHERE draft;\n\
             ALTER TABLE \"Tag\" ALTER COLUMN \"n\" SET DATA TYPE BIGINT;\n\
             DROP TABLE \"Old\";",
        )]);
        let refs: Vec<&LocalMigration> = m.iter().collect();
        let mut got = tables(&at_risk(&refs));
        got.sort();
        assert_eq!(got, ["Old", "Post", "Tag", "User"]);
    }

    #[test]
    fn tables_created_by_the_deployment_hold_nothing_to_lose() {
        let m = pending(&[
            ("m1", "CREATE TABLE \"New\" (id int);"),
            (
                "m2",
                "INSERT INTO \"New\" VALUES (1); ALTER TABLE \"New\" ADD COLUMN x int;",
            ),
        ]);
        let refs: Vec<&LocalMigration> = m.iter().collect();
        assert!(tables(&at_risk(&refs)).is_empty());
    }

    #[test]
    fn dynamic_sql_makes_the_scope_unbounded() {
        let m = pending(&[("m1", "DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'x'; END $$;")]);
        let refs: Vec<&LocalMigration> = m.iter().collect();
        match at_risk(&refs) {
            AtRisk::Unbounded(why) => assert!(why[0].contains("m1"), "{why:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn index_and_alter_table_forms_name_their_objects() {
        let m = pending(&[(
            "m1",
            "DROP INDEX \"Post_title_key\";\n\
             ALTER TABLE ONLY public.\"Tag\" ALTER COLUMN \"n\" DROP DEFAULT;",
        )]);
        let refs: Vec<&LocalMigration> = m.iter().collect();
        let AtRisk::Tables(t) = at_risk(&refs) else {
            panic!("bounded")
        };
        let view: Vec<(String, bool)> = t.iter().map(|t| (t.name.to_string(), t.index)).collect();
        assert!(
            view.contains(&("Post_title_key".to_owned(), true)),
            "{view:?}"
        );
        assert!(view.contains(&("public.Tag".to_owned(), false)), "{view:?}");
        assert_eq!(
            altered("alter table if exists Foo.\"B\"\"ar\" add x int", "TABLE"),
            Some(Name {
                schema: Some("foo".to_owned()),
                name: "B\"ar".to_owned()
            })
        );
    }

    #[test]
    fn modes_parse() {
        assert_eq!("Scoped".parse::<BackupMode>().unwrap(), BackupMode::Scoped);
        assert!("partial".parse::<BackupMode>().is_err());
    }
}
