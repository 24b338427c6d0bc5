//! What the pending migrations of a deployment have done by the time it reaches a statement:
//! tables and columns they created, renamed or dropped. Data at risk is data that exists before
//! the deployment, so a finding about an object created earlier in the same deployment, or one
//! that has since been renamed from an object that exists, is judged against that.

use std::collections::{HashMap, HashSet};

use super::ir::{Action, Ident, Name};

/// A table as the deployment knows it: schema (the default one when not written) and name.
type TableKey = (Ident, Ident);

/// Where a table named at some point of the deployment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TableOrigin {
    /// Created by an earlier statement of this deployment, in this migration.
    Created(String),
    /// Created by an earlier statement of this deployment, then written to (`INSERT … SELECT`
    /// of a table rebuild): its rows may be copies of existing data.
    Filled(String),
    /// Dropped by an earlier statement of this deployment, in this migration, and not created
    /// again.
    Dropped(String),
    /// Whatever the database holds under this name before the deployment.
    Database(Name),
}

/// Where a column named at some point of the deployment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ColumnOrigin {
    /// Added by an earlier statement of this deployment, in this migration.
    Added(String),
    /// Whatever the database holds under this column name (of the table's origin).
    Database(Ident),
}

/// The objects the deployment has touched so far.
#[derive(Debug)]
pub(crate) struct Timeline {
    /// The schema of unqualified names (the URL's `?schema=`, else `public`).
    default_schema: Ident,
    created: HashMap<TableKey, String>,
    filled: HashMap<TableKey, String>,
    dropped: HashMap<TableKey, String>,
    /// Current name → the name it has in the database before the deployment.
    renamed: HashMap<TableKey, Name>,
    added_columns: HashMap<(TableKey, Ident), String>,
    /// (current table, current column) → the column's name before the deployment.
    renamed_columns: HashMap<(TableKey, Ident), Ident>,
    dropped_columns: HashSet<(TableKey, Ident)>,
}

impl Timeline {
    /// An empty timeline; unqualified names are in `default_schema` (`public` when `None`).
    pub(crate) fn new(default_schema: Option<&str>) -> Self {
        Self {
            default_schema: default_schema.unwrap_or("public").to_owned(),
            created: HashMap::new(),
            filled: HashMap::new(),
            dropped: HashMap::new(),
            renamed: HashMap::new(),
            added_columns: HashMap::new(),
            renamed_columns: HashMap::new(),
            dropped_columns: HashSet::new(),
        }
    }

    fn key(&self, name: &Name) -> TableKey {
        (
            name.schema
                .clone()
                .unwrap_or_else(|| self.default_schema.clone()),
            name.name.clone(),
        )
    }

    /// Where `table`, as named now, comes from.
    pub(crate) fn table(&self, table: &Name) -> TableOrigin {
        let k = self.key(table);
        if let Some(migration) = self.created.get(&k) {
            return TableOrigin::Created(migration.clone());
        }
        if let Some(migration) = self.filled.get(&k) {
            return TableOrigin::Filled(migration.clone());
        }
        if let Some(migration) = self.dropped.get(&k) {
            return TableOrigin::Dropped(migration.clone());
        }
        TableOrigin::Database(
            self.renamed
                .get(&k)
                .cloned()
                .unwrap_or_else(|| table.clone()),
        )
    }

    /// Where `column` of `table`, both as named now, comes from. `None` when the column was
    /// dropped earlier in the deployment.
    pub(crate) fn column(&self, table: &Name, column: &str) -> Option<ColumnOrigin> {
        let k = (self.key(table), column.to_owned());
        if let Some(migration) = self.added_columns.get(&k) {
            return Some(ColumnOrigin::Added(migration.clone()));
        }
        if self.dropped_columns.contains(&k) {
            return None;
        }
        Some(ColumnOrigin::Database(
            self.renamed_columns
                .get(&k)
                .cloned()
                .unwrap_or_else(|| column.to_owned()),
        ))
    }

    /// Takes `action` of migration `migration` into account. With `creates` false (`CREATE
    /// TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`), what it creates may already be there,
    /// with data: it is not taken as new.
    pub(crate) fn apply(&mut self, action: &Action, migration: &str, creates: bool) {
        match action {
            Action::CreateTable { .. } | Action::AddColumn { .. } if !creates => {}
            Action::CreateTable { table, .. } => {
                let k = self.key(table);
                self.dropped.remove(&k);
                self.renamed.remove(&k);
                self.filled.remove(&k);
                self.forget_columns(&k);
                self.created.insert(k, migration.to_owned());
            }
            Action::Insert { table } | Action::Update { table, .. } => {
                let k = self.key(table);
                if let Some(created_in) = self.created.remove(&k) {
                    self.filled.insert(k, created_in);
                }
            }
            Action::DropTable { tables } => {
                for table in tables {
                    let k = self.key(table);
                    self.created.remove(&k);
                    self.filled.remove(&k);
                    self.renamed.remove(&k);
                    self.forget_columns(&k);
                    self.dropped.insert(k, migration.to_owned());
                }
            }
            Action::RenameTable { table, to } => {
                let from = self.key(table);
                let to_key = (from.0.clone(), to.clone());
                let origin = self.table(table);
                self.created.remove(&from);
                self.filled.remove(&from);
                self.renamed.remove(&from);
                self.dropped.insert(from.clone(), migration.to_owned());
                self.dropped.remove(&to_key);
                self.move_columns(&from, &to_key);
                match origin {
                    TableOrigin::Created(m) => {
                        self.created.insert(to_key, m);
                    }
                    TableOrigin::Filled(m) => {
                        self.filled.insert(to_key, m);
                    }
                    TableOrigin::Database(name) => {
                        self.renamed.insert(to_key, name);
                    }
                    TableOrigin::Dropped(_) => {}
                }
            }
            Action::AddColumn { table, column } => {
                let k = (self.key(table), column.name.clone());
                self.dropped_columns.remove(&k);
                self.renamed_columns.remove(&k);
                self.added_columns.insert(k, migration.to_owned());
            }
            Action::DropColumn { table, column } => {
                let k = (self.key(table), column.clone());
                self.added_columns.remove(&k);
                self.renamed_columns.remove(&k);
                self.dropped_columns.insert(k);
            }
            Action::RenameColumn { table, from, to } => {
                let t = self.key(table);
                let origin = self.column(table, from);
                let from_key = (t.clone(), from.clone());
                let to_key = (t, to.clone());
                self.added_columns.remove(&from_key);
                self.renamed_columns.remove(&from_key);
                self.dropped_columns.insert(from_key);
                self.dropped_columns.remove(&to_key);
                match origin {
                    Some(ColumnOrigin::Added(m)) => {
                        self.added_columns.insert(to_key, m);
                    }
                    Some(ColumnOrigin::Database(name)) => {
                        self.renamed_columns.insert(to_key, name);
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    fn forget_columns(&mut self, table: &TableKey) {
        self.added_columns.retain(|(t, _), _| t != table);
        self.renamed_columns.retain(|(t, _), _| t != table);
        self.dropped_columns.retain(|(t, _)| t != table);
    }

    fn move_columns(&mut self, from: &TableKey, to: &TableKey) {
        let moved = |map: &mut HashMap<(TableKey, Ident), String>| {
            let keys: Vec<_> = map.keys().filter(|(t, _)| t == from).cloned().collect();
            for k in keys {
                if let Some(v) = map.remove(&k) {
                    map.insert((to.clone(), k.1), v);
                }
            }
        };
        moved(&mut self.added_columns);
        moved(&mut self.renamed_columns);
        let dropped: Vec<_> = self
            .dropped_columns
            .iter()
            .filter(|(t, _)| t == from)
            .cloned()
            .collect();
        for k in dropped {
            self.dropped_columns.remove(&k);
            self.dropped_columns.insert((to.clone(), k.1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::parse_script;

    fn timeline(sql: &str) -> Timeline {
        let mut t = Timeline::new(None);
        for statement in parse_script(sql) {
            for action in &statement.actions {
                t.apply(action, "m1", true);
            }
        }
        t
    }

    #[test]
    fn created_renamed_and_dropped_tables_are_told_apart() {
        let t = timeline(
            "CREATE TABLE a (id int);
             ALTER TABLE a RENAME TO b;
             ALTER TABLE \"User\" RENAME TO \"Account\";
             DROP TABLE \"Old\";",
        );
        assert_eq!(t.table(&Name::bare("b")), TableOrigin::Created("m1".into()));
        assert_eq!(t.table(&Name::bare("a")), TableOrigin::Dropped("m1".into()));
        assert_eq!(
            t.table(&Name::bare("Account")),
            TableOrigin::Database(Name::bare("User"))
        );
        assert_eq!(
            t.table(&Name::bare("Old")),
            TableOrigin::Dropped("m1".into())
        );
        assert_eq!(
            t.table(&Name::bare("Other")),
            TableOrigin::Database(Name::bare("Other"))
        );
    }

    #[test]
    fn added_and_renamed_columns_are_traced_to_the_database() {
        let t = timeline(
            "ALTER TABLE \"Post\" ADD COLUMN \"draft\" boolean;
             ALTER TABLE \"Post\" RENAME COLUMN \"title\" TO \"heading\";
             ALTER TABLE \"Post\" RENAME TO \"Article\";",
        );
        let article = Name::bare("Article");
        assert_eq!(
            t.column(&article, "draft"),
            Some(ColumnOrigin::Added("m1".into()))
        );
        assert_eq!(
            t.column(&article, "heading"),
            Some(ColumnOrigin::Database("title".into()))
        );
        assert_eq!(t.column(&article, "title"), None, "renamed away");
        assert_eq!(
            t.column(&article, "body"),
            Some(ColumnOrigin::Database("body".into()))
        );
    }

    #[test]
    fn qualified_and_unqualified_names_meet_and_filled_tables_are_told_apart() {
        let t = timeline(
            "ALTER TABLE public.\"User\" RENAME TO \"Customer\";
             CREATE TABLE \"Copy\" (id int);
             INSERT INTO \"Copy\" SELECT id FROM \"Customer\";",
        );
        assert_eq!(
            t.table(&Name::bare("Customer")),
            TableOrigin::Database(Name {
                schema: Some("public".into()),
                name: "User".into()
            })
        );
        assert_eq!(
            t.table(&Name::bare("Copy")),
            TableOrigin::Filled("m1".into())
        );
        let mut t = Timeline::new(None);
        for statement in parse_script("CREATE TABLE IF NOT EXISTS \"Kept\" (id int);") {
            for action in &statement.actions {
                t.apply(action, "m1", false);
            }
        }
        assert_eq!(
            t.table(&Name::bare("Kept")),
            TableOrigin::Database(Name::bare("Kept")),
            "IF NOT EXISTS may find the table there"
        );
    }
}
