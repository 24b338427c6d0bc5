//! A schema model folded from the migration history, so rules know what exists, since when, and
//! with which types and constraints.

use std::collections::{HashMap, HashSet};

use super::ir::{Action, Constraint, Name, TypeName};

/// A column as the history left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Its type.
    pub ty: TypeName,
    /// `NOT NULL`.
    pub not_null: bool,
}

/// A table as the history left it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableInfo {
    /// Index of the migration that created it (in the analyzed list).
    pub created_in: usize,
    /// Columns by name, in creation order.
    pub columns: Vec<(String, ColumnInfo)>,
    /// Columns covered by a validated `CHECK (col IS NOT NULL)`.
    pub not_null_checks: HashSet<String>,
    /// Constraints added `NOT VALID` and not validated since.
    pub not_valid: HashSet<String>,
    /// `NOT VALID` checks of the form `col IS NOT NULL`, by constraint name.
    unvalidated_not_null: HashMap<String, String>,
    /// `CHECK` constraints by name (unnamed ones get a placeholder), validated or not.
    checks: HashSet<String>,
}

impl TableInfo {
    /// The column named `name`.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut ColumnInfo> {
        self.columns
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }
}

/// Tables, enums and indexes known from the history.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: HashMap<String, TableInfo>,
    enums: HashMap<String, Vec<String>>,
    indexes: HashMap<String, String>,
    /// Functions the history creates: name → declared `IMMUTABLE` or `STABLE`.
    functions: HashMap<String, bool>,
}

impl Catalog {
    /// The columns (`"table"."column"`, sorted) whose type is `ty`, or an array of it.
    #[must_use]
    pub fn columns_of_type(&self, ty: &str) -> Vec<String> {
        let unquoted = |s: &str| s.trim_matches('"').to_owned();
        let ty = unquoted(ty);
        let mut found: Vec<String> = self
            .tables
            .iter()
            .flat_map(|(table, info)| {
                info.columns
                    .iter()
                    .filter(|(_, c)| unquoted(&c.ty.base).eq_ignore_ascii_case(&ty))
                    .map(move |(column, _)| format!("\"{table}\".\"{column}\""))
            })
            .collect();
        found.sort();
        found
    }

    /// The table named `name` (schemas are not distinguished: migrations of one Prisma schema).
    #[must_use]
    pub fn table(&self, name: &Name) -> Option<&TableInfo> {
        self.tables.get(&name.name)
    }

    /// The values of enum `name`.
    #[must_use]
    pub fn enum_values(&self, name: &str) -> Option<&[String]> {
        self.enums.get(name).map(Vec::as_slice)
    }

    /// Whether the history creates function `name` (any schema) declared `IMMUTABLE` or
    /// `STABLE`; `None` when it does not create it.
    #[must_use]
    pub fn function_is_non_volatile(&self, name: &str) -> Option<bool> {
        self.functions.get(name).copied()
    }

    /// The table an index belongs to.
    #[must_use]
    pub fn index_table(&self, index: &str) -> Option<&str> {
        self.indexes.get(index).map(String::as_str)
    }

    /// Folds one action of migration number `migration` into the model.
    pub fn apply(&mut self, action: &Action, migration: usize) {
        use Action as A;
        match action {
            A::CreateTable {
                table,
                columns,
                constraints,
            } => {
                let mut info = TableInfo {
                    created_in: migration,
                    columns: columns
                        .iter()
                        .map(|c| {
                            (
                                c.name.clone(),
                                ColumnInfo {
                                    ty: c.ty.clone(),
                                    not_null: c.not_null,
                                },
                            )
                        })
                        .collect(),
                    ..TableInfo::default()
                };
                for constraint in constraints {
                    info.add_constraint(constraint, false);
                }
                for column in columns.iter().filter(|c| c.check) {
                    info.checks.insert(format!("{} check", column.name));
                }
                self.tables.insert(table.name.clone(), info);
            }
            A::DropTable { tables } => {
                for t in tables {
                    self.tables.remove(&t.name);
                }
            }
            A::RenameTable { table, to } => {
                if let Some(info) = self.tables.remove(&table.name) {
                    self.tables.insert(to.clone(), info);
                }
            }
            A::AddColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(&table.name) {
                    t.columns.push((
                        column.name.clone(),
                        ColumnInfo {
                            ty: column.ty.clone(),
                            not_null: column.not_null,
                        },
                    ));
                }
            }
            A::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(&table.name) {
                    t.columns.retain(|(n, _)| n != column);
                }
            }
            A::RenameColumn { table, from, to } => {
                if let Some((n, _)) = self
                    .tables
                    .get_mut(&table.name)
                    .and_then(|t| t.columns.iter_mut().find(|(n, _)| n == from))
                {
                    n.clone_from(to);
                }
            }
            A::AlterColumnType {
                table, column, to, ..
            } => {
                if let Some(c) = self
                    .tables
                    .get_mut(&table.name)
                    .and_then(|t| t.column_mut(column))
                {
                    c.ty = to.clone();
                }
            }
            A::SetNotNull { table, column } | A::DropNotNull { table, column } => {
                let not_null = matches!(action, A::SetNotNull { .. });
                if let Some(c) = self
                    .tables
                    .get_mut(&table.name)
                    .and_then(|t| t.column_mut(column))
                {
                    c.not_null = not_null;
                }
            }
            A::AddConstraint {
                table,
                constraint,
                not_valid,
            } => {
                if let Some(t) = self.tables.get_mut(&table.name) {
                    t.add_constraint(constraint, *not_valid);
                }
            }
            A::DropConstraint { table, name } => {
                if let Some(t) = self.tables.get_mut(&table.name) {
                    t.checks.remove(name);
                    t.not_valid.remove(name);
                }
            }
            A::ValidateConstraint { table, name } => {
                if let Some(t) = self.tables.get_mut(&table.name) {
                    t.not_valid.remove(name);
                    if let Some(column) = t.unvalidated_not_null.remove(name) {
                        t.not_null_checks.insert(column);
                    }
                }
            }
            A::CreateIndex {
                name: Some(name),
                table,
                ..
            } => {
                self.indexes.insert(name.clone(), table.name.clone());
            }
            A::CreateFunction { name, non_volatile } => {
                self.functions.insert(name.name.clone(), *non_volatile);
            }
            A::CreateEnum { name, values } => {
                self.enums.insert(name.name.clone(), values.clone());
            }
            A::AddEnumValue { name, value } => {
                self.enums
                    .entry(name.name.clone())
                    .or_default()
                    .push(value.clone());
            }
            A::RenameType { name, to } => {
                if let Some(values) = self.enums.remove(&name.name) {
                    self.enums.insert(to.clone(), values);
                }
            }
            A::DropType { names, .. } => {
                for n in names {
                    self.enums.remove(&n.name);
                }
            }
            _ => {}
        }
    }
}

impl TableInfo {
    fn add_constraint(&mut self, constraint: &Constraint, not_valid: bool) {
        if let Some(name) = constraint.name() {
            if not_valid {
                self.not_valid.insert(name.to_owned());
            }
        }
        if let Constraint::Check { name, .. } = constraint {
            let name = name
                .clone()
                .unwrap_or_else(|| format!("unnamed check {}", self.checks.len()));
            self.checks.insert(name);
        }
        if let Constraint::Check {
            not_null_of: Some(column),
            name,
        } = constraint
        {
            match (not_valid, name) {
                (false, _) => {
                    self.not_null_checks.insert(column.clone());
                }
                (true, Some(name)) => {
                    self.unvalidated_not_null
                        .insert(name.clone(), column.clone());
                }
                (true, None) => {}
            }
        }
    }

    /// True when the table has a validated `CHECK` constraint: `ATTACH PARTITION` skips its scan
    /// when one implies the partition bound (which the model does not compare).
    #[must_use]
    pub fn has_valid_check(&self) -> bool {
        self.checks.iter().any(|c| !self.not_valid.contains(c))
    }

    /// True when `column` has a validated `CHECK (column IS NOT NULL)`, or one added `NOT VALID`
    /// and validated since (`SET NOT NULL` then skips its full-table scan).
    #[must_use]
    pub fn has_not_null_check(&self, column: &str) -> bool {
        self.not_null_checks.contains(column)
    }
}
