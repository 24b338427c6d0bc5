//! Lowering `sqlparser`'s PostgreSQL AST into [`Action`]s.

use sqlparser::ast::{
    self as sp, AlterColumnOperation, AlterTableOperation, AlterTypeOperation, ColumnOption, Expr,
    FromTable, ObjectType, RenameTableNameKind, TableConstraint, TableFactor, TableObject,
    UserDefinedTypeRepresentation,
};

use super::ir::{
    Action, Column, Constraint, DefaultKind, Name, ObjectKind, StorageChange, TransactionControl,
    TypeName,
};
use super::lock::LockLevel;

/// Functions whose result changes per row (`provolatile = 'v'` in `pg_proc`): a default calling
/// one rewrites the table.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "gen_random_bytes",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setval",
];

/// Built-in functions that are immutable or stable (`provolatile` `i` or `s`): PostgreSQL
/// evaluates such a default once and stores it in the catalog. Any other function counts as
/// volatile, unless the database says otherwise.
const NON_VOLATILE_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "current_user",
    "session_user",
    "current_schema",
    "current_database",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "btrim",
    "trim",
    "concat",
    "length",
    "date_trunc",
    "to_char",
    "to_timestamp",
    "to_date",
    "make_interval",
    "timezone",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "array_to_string",
    "string_to_array",
];

/// The actions of a parsed statement. `words` are the statement's bare words (upper-cased), used
/// where the AST drops a keyword we need (`CONCURRENTLY` on `DROP INDEX`).
pub(crate) fn lower(stmt: &sp::Statement, has_word: &dyn Fn(&str) -> bool) -> Vec<Action> {
    use sp::Statement as S;
    match stmt {
        S::CreateTable(ct) => vec![Action::CreateTable {
            table: name(&ct.name),
            columns: ct.columns.iter().map(column).collect(),
            constraints: ct.constraints.iter().map(constraint).collect(),
        }],
        S::AlterTable(at) => {
            let table = name(&at.name);
            at.operations
                .iter()
                .flat_map(|op| alter_table(&table, op))
                .collect()
        }
        S::CreateIndex(ci) => vec![Action::CreateIndex {
            name: ci.name.as_ref().map(|n| name(n).name),
            table: name(&ci.table_name),
            unique: ci.unique,
            concurrently: ci.concurrently,
            columns: ci
                .columns
                .iter()
                .map(|c| match &c.column.expr {
                    Expr::Identifier(i) => ident(i),
                    other => other.to_string(),
                })
                .collect(),
        }],
        S::Drop {
            object_type,
            names,
            cascade,
            ..
        } => {
            let names: Vec<Name> = names.iter().map(name).collect();
            let object = |kind, names| Action::DropObject {
                kind,
                names,
                cascade: *cascade,
            };
            vec![match object_type {
                ObjectType::Table => Action::DropTable { tables: names },
                ObjectType::Index => Action::DropIndex {
                    names,
                    concurrently: has_word("CONCURRENTLY"),
                },
                ObjectType::Type => Action::DropType {
                    names,
                    cascade: *cascade,
                },
                ObjectType::Schema => object(ObjectKind::Schema, names),
                ObjectType::View => object(ObjectKind::View, names),
                ObjectType::MaterializedView => object(ObjectKind::MaterializedView, names),
                ObjectType::Sequence => object(ObjectKind::Sequence, names),
                ObjectType::Database => object(ObjectKind::Database, names),
                _ => object(ObjectKind::Other, names),
            }]
        }
        S::DropFunction(f) => vec![Action::DropObject {
            kind: ObjectKind::Function,
            names: f.func_desc.iter().map(|d| name(&d.name)).collect(),
            cascade: matches!(f.drop_behavior, Some(sp::DropBehavior::Cascade)),
        }],
        S::DropProcedure { .. } => vec![Action::DropObject {
            kind: ObjectKind::Function,
            names: Vec::new(),
            cascade: has_word("CASCADE"),
        }],
        S::DropDomain(d) => vec![Action::DropObject {
            kind: ObjectKind::Domain,
            names: vec![name(&d.name)],
            cascade: matches!(d.drop_behavior, Some(sp::DropBehavior::Cascade)),
        }],
        S::DropExtension(e) => vec![Action::DropObject {
            kind: ObjectKind::Extension,
            names: e.names.iter().map(|n| Name::bare(ident(n))).collect(),
            cascade: matches!(e.cascade_or_restrict, Some(sp::ReferentialAction::Cascade)),
        }],
        S::Truncate(t) => vec![Action::Truncate {
            tables: t.table_names.iter().map(|t| name(&t.name)).collect(),
        }],
        S::Delete(d) => {
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            match tables.first().and_then(|t| relation(&t.relation)) {
                Some(table) => vec![Action::Delete {
                    table,
                    has_where: d.selection.is_some(),
                }],
                None => other("DELETE"),
            }
        }
        S::Update(u) => match relation(&u.table.relation) {
            Some(table) => vec![Action::Update {
                table,
                has_where: u.selection.is_some(),
            }],
            None => other("UPDATE"),
        },
        S::Insert(i) => match &i.table {
            TableObject::TableName(n) => vec![Action::Insert { table: name(n) }],
            _ => other("INSERT"),
        },
        S::AlterType(at) => {
            let n = name(&at.name);
            vec![match &at.operation {
                AlterTypeOperation::Rename(r) => Action::RenameType {
                    name: n,
                    to: ident(&r.new_name),
                },
                AlterTypeOperation::AddValue(v) => Action::AddEnumValue {
                    name: n,
                    value: v.value.value.clone(),
                },
                AlterTypeOperation::RenameValue(v) => Action::RenameEnumValue {
                    name: n,
                    from: v.from.value.clone(),
                    to: v.to.value.clone(),
                },
            }]
        }
        S::CreateType {
            name: n,
            representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
        } => vec![Action::CreateEnum {
            name: name(n),
            values: labels.iter().map(|l| l.value.clone()).collect(),
        }],
        S::Vacuum(v) if v.full => vec![Action::VacuumFull {
            table: v.table_name.as_ref().map(name),
        }],
        S::RefreshMaterializedView(r) => vec![Action::RefreshMaterializedView {
            name: name(&r.name),
            concurrently: r.concurrently,
        }],
        S::Set(sp::Set::SingleAssignment {
            variable, values, ..
        }) => vec![Action::Set {
            name: variable.to_string().to_ascii_lowercase(),
            value: values
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }],
        S::CreateFunction(f) => vec![Action::CreateFunction {
            name: name(&f.name),
            non_volatile: matches!(
                f.behavior,
                Some(sp::FunctionBehavior::Immutable | sp::FunctionBehavior::Stable)
            ),
        }],
        S::Lock(l) => vec![Action::LockTable {
            tables: l.tables.iter().map(|t| name(&t.name)).collect(),
            mode: l
                .lock_mode
                .as_ref()
                .map_or(LockLevel::AccessExclusive, lock_mode),
        }],
        S::StartTransaction { .. } => vec![Action::Transaction {
            control: TransactionControl::Begin,
        }],
        S::Commit { .. } => vec![Action::Transaction {
            control: TransactionControl::Commit,
        }],
        S::Rollback {
            savepoint: None, ..
        } => vec![Action::Transaction {
            control: TransactionControl::Rollback,
        }],
        S::Rollback { .. } | S::Savepoint { .. } | S::ReleaseSavepoint { .. } => {
            vec![Action::Transaction {
                control: TransactionControl::Other,
            }]
        }
        other_stmt => other(&kind_of(other_stmt)),
    }
}

fn lock_mode(mode: &sp::LockTableMode) -> LockLevel {
    use sp::LockTableMode as M;
    match mode {
        M::AccessShare => LockLevel::AccessShare,
        M::RowShare => LockLevel::RowShare,
        M::RowExclusive => LockLevel::RowExclusive,
        M::ShareUpdateExclusive => LockLevel::ShareUpdateExclusive,
        M::Share => LockLevel::Share,
        M::ShareRowExclusive => LockLevel::ShareRowExclusive,
        M::Exclusive => LockLevel::Exclusive,
        M::AccessExclusive => LockLevel::AccessExclusive,
    }
}

fn other(kind: &str) -> Vec<Action> {
    vec![Action::Other {
        kind: kind.to_owned(),
    }]
}

/// The leading keywords of a statement, for `Other` actions (`CREATE FUNCTION`, `COMMENT`…).
fn kind_of(stmt: &sp::Statement) -> String {
    let text = stmt.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .take(2)
        .collect();
    words.join(" ").to_ascii_uppercase()
}

fn alter_table(table: &Name, op: &AlterTableOperation) -> Vec<Action> {
    let table = table.clone();
    use AlterTableOperation as Op;
    match op {
        Op::AddColumn { column_def, .. } => vec![Action::AddColumn {
            table,
            column: column(column_def),
        }],
        Op::DropColumn { column_names, .. } => column_names
            .iter()
            .map(|c| Action::DropColumn {
                table: table.clone(),
                column: ident(c),
            })
            .collect(),
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } => vec![Action::RenameColumn {
            table,
            from: ident(old_column_name),
            to: ident(new_column_name),
        }],
        Op::RenameTable { table_name } => {
            let (RenameTableNameKind::As(to) | RenameTableNameKind::To(to)) = table_name;
            vec![Action::RenameTable {
                table,
                to: name(to).name,
            }]
        }
        Op::AddConstraint {
            constraint: c,
            not_valid,
        } => vec![Action::AddConstraint {
            table,
            constraint: constraint(c),
            not_valid: *not_valid,
        }],
        Op::ValidateConstraint { name } => vec![Action::ValidateConstraint {
            table,
            name: ident(name),
        }],
        Op::DropConstraint { name, .. } => vec![Action::DropConstraint {
            table,
            name: ident(name),
        }],
        Op::RenameConstraint { old_name, new_name } => vec![Action::RenameConstraint {
            table,
            from: ident(old_name),
            to: ident(new_name),
        }],
        Op::AlterColumn { column_name, op } => {
            let column = ident(column_name);
            vec![match op {
                AlterColumnOperation::SetNotNull => Action::SetNotNull { table, column },
                AlterColumnOperation::DropNotNull => Action::DropNotNull { table, column },
                AlterColumnOperation::SetDefault { .. } => Action::SetDefault { table, column },
                AlterColumnOperation::SetDataType {
                    data_type, using, ..
                } => Action::AlterColumnType {
                    table,
                    column,
                    to: TypeName::parse(&data_type.to_string()),
                    to_sql: data_type.to_string(),
                    using: using.as_ref().map(ToString::to_string),
                },
                _ => Action::Other {
                    kind: "ALTER TABLE ALTER COLUMN".into(),
                },
            }]
        }
        Op::DetachPartitionOf { partition, mode } => vec![Action::DetachPartition {
            table,
            partition: name(partition),
            // FINALIZE completes an interrupted concurrent detach, with its lock.
            concurrently: mode.is_some(),
        }],
        Op::AttachPartitionOf { partition, .. } => vec![Action::AttachPartition {
            table,
            partition: name(partition),
        }],
        Op::SetLogged => vec![Action::ChangeStorage {
            table,
            change: StorageChange::SetLogged,
        }],
        Op::SetUnlogged => vec![Action::ChangeStorage {
            table,
            change: StorageChange::SetUnlogged,
        }],
        _ => other("ALTER TABLE"),
    }
}

fn column(def: &sp::ColumnDef) -> Column {
    let mut col = Column {
        name: ident(&def.name),
        ty: TypeName::parse(&def.data_type.to_string()),
        not_null: false,
        default: None,
        generated_stored: false,
        identity: false,
        primary_key: false,
        unique: false,
        references: None,
        check: false,
        unknown_functions: Vec::new(),
    };
    if matches!(col.ty.base.as_str(), "serial" | "bigserial" | "smallserial") {
        col.default = Some(DefaultKind::Volatile);
        col.not_null = true;
    }
    for option in &def.options {
        match &option.option {
            ColumnOption::NotNull => col.not_null = true,
            ColumnOption::Default(expr) => {
                let (kind, unknown) = default_kind(expr);
                col.default = Some(kind);
                col.unknown_functions = unknown;
            }
            ColumnOption::Check(_) => col.check = true,
            ColumnOption::PrimaryKey(_) => {
                col.primary_key = true;
                col.not_null = true;
            }
            ColumnOption::Unique(_) => col.unique = true,
            ColumnOption::ForeignKey(fk) => col.references = Some(name(&fk.foreign_table)),
            ColumnOption::Generated {
                generation_expr, ..
            } => {
                if generation_expr.is_some() {
                    col.generated_stored = true;
                } else {
                    col.identity = true;
                    col.not_null = true;
                }
            }
            ColumnOption::Identity(_) => col.identity = true,
            _ => {}
        }
    }
    col
}

/// How a default behaves, and the functions it calls that the analyzer does not know: those make
/// it volatile until the database's catalog says otherwise.
fn default_kind(expr: &Expr) -> (DefaultKind, Vec<String>) {
    let mut functions = Vec::new();
    called_functions(expr, &mut functions);
    let volatile = functions
        .iter()
        .any(|f| VOLATILE_FUNCTIONS.contains(&f.as_str()));
    let unknown: Vec<String> = functions
        .into_iter()
        .filter(|f| {
            !VOLATILE_FUNCTIONS.contains(&f.as_str())
                && !NON_VOLATILE_FUNCTIONS.contains(&f.as_str())
        })
        .collect();
    let kind = if volatile {
        DefaultKind::Volatile
    } else if !unknown.is_empty() {
        DefaultKind::UnknownFunctions
    } else {
        DefaultKind::NonVolatile
    };
    (kind, unknown)
}

/// The lower-case names of the functions `expr` calls (schema dropped). An expression shape
/// a default rarely has is named by its text, so that it counts as unknown.
fn called_functions(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Function(f) => {
            if let Some(sp::ObjectNamePart::Identifier(i)) = f.name.0.last() {
                out.push(i.value.to_lowercase());
            }
            if let sp::FunctionArguments::List(list) = &f.args {
                for arg in &list.args {
                    let (sp::FunctionArg::Unnamed(arg)
                    | sp::FunctionArg::Named { arg, .. }
                    | sp::FunctionArg::ExprNamed { arg, .. }) = arg;
                    if let sp::FunctionArgExpr::Expr(e) = arg {
                        called_functions(e, out);
                    }
                }
            }
        }
        Expr::BinaryOp { left, right, .. } => {
            called_functions(left, out);
            called_functions(right, out);
        }
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => {
            called_functions(timestamp, out);
            called_functions(time_zone, out);
        }
        Expr::UnaryOp { expr: e, .. } | Expr::Nested(e) | Expr::Cast { expr: e, .. } => {
            called_functions(e, out);
        }
        Expr::Array(a) => a.elem.iter().for_each(|e| called_functions(e, out)),
        Expr::Value(_)
        | Expr::TypedString(_)
        | Expr::Interval(_)
        | Expr::Identifier(_)
        | Expr::CompoundIdentifier(_) => {}
        other => out.push(other.to_string()),
    }
}

fn constraint(c: &TableConstraint) -> Constraint {
    let idents = |cols: &[sp::IndexColumn]| -> Vec<String> {
        cols.iter()
            .map(|c| match &c.column.expr {
                Expr::Identifier(i) => ident(i),
                other => other.to_string(),
            })
            .collect()
    };
    match c {
        TableConstraint::PrimaryKey(pk) => Constraint::PrimaryKey {
            name: pk.name.as_ref().map(ident),
            columns: idents(&pk.columns),
            using_index: false,
        },
        TableConstraint::Unique(u) => Constraint::Unique {
            name: u.name.as_ref().map(ident),
            columns: idents(&u.columns),
            using_index: false,
        },
        TableConstraint::PrimaryKeyUsingIndex(u) => Constraint::PrimaryKey {
            name: u.name.as_ref().map(ident),
            columns: Vec::new(),
            using_index: true,
        },
        TableConstraint::UniqueUsingIndex(u) => Constraint::Unique {
            name: u.name.as_ref().map(ident),
            columns: Vec::new(),
            using_index: true,
        },
        TableConstraint::ForeignKey(fk) => Constraint::ForeignKey {
            name: fk.name.as_ref().map(ident),
            columns: fk.columns.iter().map(ident).collect(),
            references: name(&fk.foreign_table),
        },
        TableConstraint::Check(ck) => Constraint::Check {
            name: ck.name.as_ref().map(ident),
            not_null_of: match ck.expr.as_ref() {
                Expr::IsNotNull(inner) => match inner.as_ref() {
                    Expr::Identifier(i) => Some(ident(i)),
                    _ => None,
                },
                _ => None,
            },
        },
        _ => Constraint::Other { name: None },
    }
}

fn relation(factor: &TableFactor) -> Option<Name> {
    match factor {
        TableFactor::Table { name: n, .. } => Some(name(n)),
        _ => None,
    }
}

/// PostgreSQL folds unquoted identifiers to lower case.
pub(crate) fn ident(i: &sp::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn name(n: &sp::ObjectName) -> Name {
    let parts: Vec<String> =
        n.0.iter()
            .filter_map(|p| match p {
                sp::ObjectNamePart::Identifier(i) => Some(ident(i)),
                _ => None,
            })
            .collect();
    match parts.as_slice() {
        [.., schema, table] => Name {
            schema: Some(schema.clone()),
            name: table.clone(),
        },
        [table] => Name::bare(table.clone()),
        [] => Name::bare(n.to_string()),
    }
}
