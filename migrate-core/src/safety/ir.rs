//! What a statement does, in terms the rules reason about.
//!
//! Both front ends produce these actions: the `sqlparser` lowering for what it parses, and the
//! token-level fallback for the rest (`DO` blocks, `DROP INDEX CONCURRENTLY IF EXISTS`, …). Rules
//! never see either parser's representation, so a statement is judged the same whichever front end
//! understood it.

/// An identifier as PostgreSQL resolves it: unquoted names are folded to lower case, quoted names
/// are kept as written.
pub type Ident = String;

/// A possibly schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Name {
    /// The schema, when written.
    pub schema: Option<Ident>,
    /// The object name.
    pub name: Ident,
}

impl Name {
    /// An unqualified name.
    #[must_use]
    pub fn bare(name: impl Into<String>) -> Self {
        Self {
            schema: None,
            name: name.into(),
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column type, normalized: lower case, `varchar(255)`, `int4` written `integer`, …
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TypeName {
    /// The base type (`character varying`, `integer`, `text`, a user type name…).
    pub base: String,
    /// Type modifiers (`varchar(255)` → `[255]`, `numeric(10,2)` → `[10, 2]`).
    pub modifiers: Vec<u32>,
    /// True for arrays.
    pub array: bool,
}

impl TypeName {
    /// Parses a type as written in SQL.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let array = text.ends_with("[]") || text.to_ascii_uppercase().ends_with(" ARRAY");
        let core = text.trim_end_matches("[]").trim();
        let (base, modifiers) = match (core.find('('), core.find(')')) {
            (Some(open), Some(close)) if open < close => (
                format!("{} {}", &core[..open], &core[close + 1..]),
                core[open + 1..close]
                    .split(',')
                    .filter_map(|m| m.trim().parse().ok())
                    .collect(),
            ),
            _ => (core.to_owned(), Vec::new()),
        };
        let base = base.trim();
        let base = if base.starts_with('"') {
            base.trim_matches('"').to_owned()
        } else {
            canonical_base(&base.to_ascii_lowercase())
        };
        Self {
            base,
            modifiers,
            array,
        }
    }

    /// True for `json` (not `jsonb`).
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.base == "json"
    }

    /// True for 32-bit and smaller integer types, serials included.
    #[must_use]
    pub fn is_small_integer(&self) -> bool {
        matches!(
            self.base.as_str(),
            "integer" | "smallint" | "serial" | "smallserial"
        )
    }
}

fn canonical_base(base: &str) -> String {
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    match base.as_str() {
        "int" | "int4" => "integer",
        "int2" => "smallint",
        "int8" => "bigint",
        "varchar" | "character varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "bool" => "boolean",
        "float8" | "double precision" => "double precision",
        "float4" | "real" => "real",
        "decimal" | "numeric" => "numeric",
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
        "timestamp" | "timestamp without time zone" => "timestamp without time zone",
        "serial4" => "serial",
        "serial8" => "bigserial",
        other => return other.to_owned(),
    }
    .to_owned()
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)?;
        if !self.modifiers.is_empty() {
            let m: Vec<String> = self.modifiers.iter().map(u32::to_string).collect();
            write!(f, "({})", m.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// How a column default behaves when the column is added to a table with rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DefaultKind {
    /// A constant or stable expression: since PostgreSQL 11, stored in the catalog, no rewrite.
    NonVolatile,
    /// A volatile expression (`random()`, `gen_random_uuid()`, `nextval()`…): every row is
    /// rewritten.
    Volatile,
    /// Calls functions the analyzer does not know ([`Column::unknown_functions`]): treated as
    /// volatile, unless the database's `pg_proc` says they are not.
    UnknownFunctions,
}

/// A column definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeName,
    /// `NOT NULL` (or `PRIMARY KEY`).
    pub not_null: bool,
    /// Its default, if any.
    pub default: Option<DefaultKind>,
    /// `GENERATED ALWAYS AS (…) STORED`.
    pub generated_stored: bool,
    /// `GENERATED … AS IDENTITY`.
    pub identity: bool,
    /// Declared `PRIMARY KEY` inline.
    pub primary_key: bool,
    /// Declared `UNIQUE` inline.
    pub unique: bool,
    /// An inline `REFERENCES` clause.
    pub references: Option<Name>,
    /// An inline `CHECK` clause.
    pub check: bool,
    /// The functions its default calls that the analyzer does not know (lower case): see
    /// [`DefaultKind::UnknownFunctions`].
    pub unknown_functions: Vec<Ident>,
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Constraint {
    /// `PRIMARY KEY (…)`, or `PRIMARY KEY USING INDEX` when `using_index`.
    PrimaryKey {
        /// Constraint name.
        name: Option<Ident>,
        /// Columns.
        columns: Vec<Ident>,
        /// Built from an existing index (no index build under lock).
        using_index: bool,
    },
    /// `UNIQUE (…)`, or `UNIQUE USING INDEX`.
    Unique {
        /// Constraint name.
        name: Option<Ident>,
        /// Columns.
        columns: Vec<Ident>,
        /// Built from an existing index.
        using_index: bool,
    },
    /// `FOREIGN KEY (…) REFERENCES t`.
    ForeignKey {
        /// Constraint name.
        name: Option<Ident>,
        /// Columns.
        columns: Vec<Ident>,
        /// Referenced table.
        references: Name,
    },
    /// `CHECK (…)`.
    Check {
        /// Constraint name.
        name: Option<Ident>,
        /// When the check is exactly `col IS NOT NULL`: that column.
        not_null_of: Option<Ident>,
    },
    /// Anything else (`EXCLUDE`, …).
    Other {
        /// Constraint name.
        name: Option<Ident>,
    },
}

impl Constraint {
    /// The constraint's name, when given.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::PrimaryKey { name, .. }
            | Self::Unique { name, .. }
            | Self::ForeignKey { name, .. }
            | Self::Check { name, .. }
            | Self::Other { name } => name.as_deref(),
        }
    }
}

/// Objects other than tables, indexes and types that a statement can drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ObjectKind {
    /// `DROP SCHEMA`.
    Schema,
    /// `DROP VIEW`.
    View,
    /// `DROP MATERIALIZED VIEW`.
    MaterializedView,
    /// `DROP FUNCTION` / `PROCEDURE`.
    Function,
    /// `DROP SEQUENCE`.
    Sequence,
    /// `DROP DATABASE`.
    Database,
    /// `DROP DOMAIN`.
    Domain,
    /// `DROP EXTENSION`.
    Extension,
    /// `DROP TRIGGER`, `POLICY`, … (not destructive of data).
    Other,
}

/// What a `REINDEX` rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReindexTarget {
    /// `REINDEX INDEX`: one index.
    Index,
    /// `REINDEX TABLE`: every index of a table.
    Table,
    /// `REINDEX SCHEMA`: every index of every table of a schema.
    Schema,
    /// `REINDEX DATABASE` / `SYSTEM`: every index of the database.
    Database,
}

/// Why an `ALTER TABLE` rewrites the whole table without changing a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageChange {
    /// `SET LOGGED`: every row is written to the WAL.
    SetLogged,
    /// `SET UNLOGGED`.
    SetUnlogged,
    /// `SET TABLESPACE`: every file is copied.
    SetTablespace,
}

impl StorageChange {
    /// The clause as written in SQL.
    #[must_use]
    pub fn sql(self) -> &'static str {
        match self {
            Self::SetLogged => "SET LOGGED",
            Self::SetUnlogged => "SET UNLOGGED",
            Self::SetTablespace => "SET TABLESPACE",
        }
    }
}

/// Transaction control statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TransactionControl {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// Savepoints and the like.
    Other,
}

/// One thing a statement does. A statement may do several (`ALTER TABLE … ADD …, DROP …`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[allow(missing_docs)] // Fields are self-describing: table, column, names…
pub enum Action {
    CreateTable {
        table: Name,
        columns: Vec<Column>,
        constraints: Vec<Constraint>,
    },
    DropTable {
        tables: Vec<Name>,
    },
    RenameTable {
        table: Name,
        to: Ident,
    },
    AddColumn {
        table: Name,
        column: Column,
    },
    DropColumn {
        table: Name,
        column: Ident,
    },
    RenameColumn {
        table: Name,
        from: Ident,
        to: Ident,
    },
    AlterColumnType {
        table: Name,
        column: Ident,
        to: TypeName,
        /// The new type as written in the SQL (`TIMESTAMP(3)`, `"Role"`), to run it as is.
        to_sql: String,
        /// The `USING` expression, as written, when there is one.
        using: Option<String>,
    },
    SetNotNull {
        table: Name,
        column: Ident,
    },
    DropNotNull {
        table: Name,
        column: Ident,
    },
    SetDefault {
        table: Name,
        column: Ident,
    },
    AddConstraint {
        table: Name,
        constraint: Constraint,
        not_valid: bool,
    },
    ValidateConstraint {
        table: Name,
        name: Ident,
    },
    DropConstraint {
        table: Name,
        name: Ident,
    },
    RenameConstraint {
        table: Name,
        from: Ident,
        to: Ident,
    },
    CreateIndex {
        name: Option<Ident>,
        table: Name,
        unique: bool,
        concurrently: bool,
        columns: Vec<Ident>,
    },
    DropIndex {
        names: Vec<Name>,
        concurrently: bool,
    },
    RenameIndex {
        name: Name,
        to: Ident,
    },
    CreateEnum {
        name: Name,
        values: Vec<String>,
    },
    AddEnumValue {
        name: Name,
        value: String,
    },
    RenameEnumValue {
        name: Name,
        from: String,
        to: String,
    },
    RenameType {
        name: Name,
        to: Ident,
    },
    DropType {
        names: Vec<Name>,
        /// `CASCADE`: the columns of the type go with it.
        cascade: bool,
    },
    DropObject {
        kind: ObjectKind,
        names: Vec<Name>,
        /// `CASCADE`: every dependent object goes with it.
        cascade: bool,
    },
    /// `DROP OWNED BY role`: every object the roles own in this database, tables included.
    DropOwned {
        roles: Vec<String>,
    },
    Truncate {
        tables: Vec<Name>,
    },
    Delete {
        table: Name,
        has_where: bool,
    },
    Update {
        table: Name,
        has_where: bool,
    },
    Insert {
        table: Name,
    },
    VacuumFull {
        table: Option<Name>,
    },
    Cluster {
        table: Option<Name>,
    },
    RefreshMaterializedView {
        name: Name,
        concurrently: bool,
    },
    Reindex {
        target: ReindexTarget,
        /// The index, table, schema or database; `None` for `REINDEX SYSTEM` written bare.
        name: Option<Name>,
        concurrently: bool,
    },
    /// `LOCK TABLE … IN … MODE` (`ACCESS EXCLUSIVE` when no mode is written).
    LockTable {
        tables: Vec<Name>,
        mode: crate::safety::LockLevel,
    },
    /// `CREATE [OR REPLACE] FUNCTION`, with its declared volatility.
    CreateFunction {
        name: Name,
        /// Declared `IMMUTABLE` or `STABLE` (PostgreSQL's default is `VOLATILE`).
        non_volatile: bool,
    },
    /// `ALTER DOMAIN … ADD CONSTRAINT`.
    AlterDomainAddConstraint {
        domain: Name,
        not_valid: bool,
    },
    /// `ALTER TABLE parent DETACH PARTITION partition`.
    DetachPartition {
        table: Name,
        partition: Name,
        concurrently: bool,
    },
    /// `ALTER TABLE parent ATTACH PARTITION partition FOR VALUES …`.
    AttachPartition {
        table: Name,
        partition: Name,
    },
    /// `ALTER TABLE … SET LOGGED | UNLOGGED | TABLESPACE`: a full rewrite.
    ChangeStorage {
        table: Name,
        change: StorageChange,
    },
    /// `SET name = value` (`lock_timeout`, `statement_timeout`, …).
    Set {
        name: String,
        value: String,
    },
    Transaction {
        control: TransactionControl,
    },
    /// Understood, and nothing for the rules (`CREATE FUNCTION`, `COMMENT`, `GRANT`, `SELECT`…).
    Other {
        kind: String,
    },
    /// `EXECUTE` of a string built at run time, in a `DO` block: what it does is unknowable.
    DynamicSql,
}

impl Action {
    /// The table this action locks or changes, when it is about one table.
    #[must_use]
    pub fn table(&self) -> Option<&Name> {
        match self {
            Self::CreateTable { table, .. }
            | Self::RenameTable { table, .. }
            | Self::AddColumn { table, .. }
            | Self::DropColumn { table, .. }
            | Self::RenameColumn { table, .. }
            | Self::AlterColumnType { table, .. }
            | Self::SetNotNull { table, .. }
            | Self::DropNotNull { table, .. }
            | Self::SetDefault { table, .. }
            | Self::AddConstraint { table, .. }
            | Self::ValidateConstraint { table, .. }
            | Self::DropConstraint { table, .. }
            | Self::RenameConstraint { table, .. }
            | Self::CreateIndex { table, .. }
            | Self::Delete { table, .. }
            | Self::Update { table, .. }
            | Self::Insert { table }
            | Self::DetachPartition { table, .. }
            | Self::ChangeStorage { table, .. } => Some(table),
            // The partition is what ATTACH locks exclusively and scans; the parent only gets
            // SHARE UPDATE EXCLUSIVE.
            Self::AttachPartition { partition, .. } => Some(partition),
            Self::DropTable { tables }
            | Self::Truncate { tables }
            | Self::LockTable { tables, .. } => tables.first(),
            Self::Reindex {
                target: ReindexTarget::Table,
                name,
                ..
            } => name.as_ref(),
            Self::VacuumFull { table } | Self::Cluster { table } => table.as_ref(),
            _ => None,
        }
    }

    /// The identifier a finding about this action points at: the column for column changes,
    /// the constraint or index for theirs, else the table.
    #[must_use]
    pub fn focus(&self) -> Option<&str> {
        match self {
            Self::DropColumn { column, .. }
            | Self::AlterColumnType { column, .. }
            | Self::SetNotNull { column, .. }
            | Self::DropNotNull { column, .. }
            | Self::SetDefault { column, .. }
            | Self::RenameColumn { from: column, .. } => Some(column),
            Self::AddColumn { column, .. } => Some(&column.name),
            Self::ValidateConstraint { name, .. }
            | Self::DropConstraint { name, .. }
            | Self::RenameConstraint { from: name, .. } => Some(name),
            Self::AddConstraint { constraint, .. } => constraint
                .name()
                .or_else(|| self.table().map(|t| t.name.as_str())),
            Self::CreateIndex {
                name: Some(name), ..
            } => Some(name),
            Self::DropIndex { names, .. } => names.first().map(|n| n.name.as_str()),
            _ => self.table().map(|t| t.name.as_str()),
        }
    }

    /// True for schema changes (DDL), as opposed to data changes and settings.
    #[must_use]
    pub fn is_ddl(&self) -> bool {
        !matches!(
            self,
            Self::Delete { .. }
                | Self::Update { .. }
                | Self::Insert { .. }
                | Self::Set { .. }
                | Self::Transaction { .. }
                | Self::LockTable { .. }
                | Self::Other { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_normalized() {
        let t = TypeName::parse("VARCHAR(255)");
        assert_eq!(
            (t.base.as_str(), t.modifiers.as_slice(), t.array),
            ("character varying", &[255][..], false)
        );
        assert_eq!(TypeName::parse("INT4").base, "integer");
        assert_eq!(TypeName::parse("\"Role\"[]").to_string(), "Role[]");
        assert_eq!(TypeName::parse("DECIMAL(65,30)").modifiers, [65, 30]);
        assert_eq!(
            TypeName::parse("timestamp(3) without time zone").base,
            "timestamp without time zone"
        );
        assert_eq!(
            TypeName::parse("TIMESTAMPTZ(6)").base,
            "timestamp with time zone"
        );
    }
}
