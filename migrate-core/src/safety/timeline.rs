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

/// The objects the deployment has touched so far. A table or column it never touched is
/// whatever the database holds under its name.
#[derive(Debug)]
pub(crate) struct Timeline {
    /// The schema of unqualified names (the URL's `?schema=`, else `public`).
    default_schema: Ident,
    /// Tables touched, under their current name.
    tables: HashMap<TableKey, TableOrigin>,
    /// Columns touched, under their current table and name; `None`: dropped.
    columns: HashMap<(TableKey, Ident), Option<ColumnOrigin>>,
    /// Migrations already applied by the interrupted deployment this one continues: what they
    /// made exists now and may have been written to since.
    continued: HashSet<String>,
    /// Tables an earlier statement of this deployment writes (`INSERT`, `UPDATE`, `DELETE`), with
    /// the latest migration that does: their rows before the deployment are not the rows a later
    /// statement meets.
    written: HashMap<TableKey, String>,
}

impl Timeline {
    /// An empty timeline; unqualified names are in `default_schema` (`public` when `None`).
    pub(crate) fn new(default_schema: Option<&str>) -> Self {
        Self {
            default_schema: default_schema.unwrap_or("public").to_owned(),
            tables: HashMap::new(),
            columns: HashMap::new(),
            continued: HashSet::new(),
            written: HashMap::new(),
        }
    }

    /// Takes the already applied `migration` of the interrupted deployment this one continues
    /// into account, as [`apply`](Self::apply) does its actions.
    pub(crate) fn continue_from(&mut self, migration: &str, action: &Action, creates: bool) {
        self.continued.insert(migration.to_owned());
        self.apply(action, migration, creates);
    }

    /// Whether `migration` was applied by the interrupted deployment this one continues.
    pub(crate) fn is_continued(&self, migration: &str) -> bool {
        self.continued.contains(migration)
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
        self.tables
            .get(&self.key(table))
            .cloned()
            .unwrap_or_else(|| TableOrigin::Database(table.clone()))
    }

    /// Where `column` of `table`, both as named now, comes from. `None` when the column was
    /// dropped earlier in the deployment.
    /// The latest migration of this deployment that writes `table` before this point, if any.
    pub(crate) fn written(&self, table: &Name) -> Option<&str> {
        self.written.get(&self.key(table)).map(String::as_str)
    }

    pub(crate) fn column(&self, table: &Name, column: &str) -> Option<ColumnOrigin> {
        self.columns
            .get(&(self.key(table), column.to_owned()))
            .cloned()
            .unwrap_or_else(|| Some(ColumnOrigin::Database(column.to_owned())))
    }

    /// Takes `action` of migration `migration` into account. With `creates` false (`CREATE
    /// TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`), what it creates may already be there,
    /// with data: it is not taken as new.
    pub(crate) fn apply(&mut self, action: &Action, migration: &str, creates: bool) {
        let made = || migration.to_owned();
        match action {
            Action::CreateTable { .. } | Action::AddColumn { .. } if !creates => {}
            Action::CreateTable { table, .. } => {
                let k = self.key(table);
                self.forget_columns(&k);
                self.tables.insert(k, TableOrigin::Created(made()));
            }
            Action::Delete { table, .. } => {
                self.written.insert(self.key(table), made());
            }
            Action::Insert { table } | Action::Update { table, .. } => {
                self.written.insert(self.key(table), made());
                if let Some(origin) = self.tables.get_mut(&self.key(table)) {
                    if let TableOrigin::Created(m) = origin {
                        *origin = TableOrigin::Filled(std::mem::take(m));
                    }
                }
            }
            Action::DropTable { tables } => {
                for table in tables {
                    let k = self.key(table);
                    self.forget_columns(&k);
                    self.tables.insert(k, TableOrigin::Dropped(made()));
                }
            }
            Action::RenameTable { table, to } => {
                let from = self.key(table);
                let to_key = (from.0.clone(), to.clone());
                let origin = self.table(table);
                self.tables
                    .insert(from.clone(), TableOrigin::Dropped(made()));
                self.move_columns(&from, &to_key);
                match origin {
                    TableOrigin::Dropped(_) => self.tables.remove(&to_key),
                    origin => self.tables.insert(to_key, origin),
                };
            }
            Action::AddColumn { table, column } => {
                let k = (self.key(table), column.name.clone());
                self.columns.insert(k, Some(ColumnOrigin::Added(made())));
            }
            Action::DropColumn { table, column } => {
                self.columns.insert((self.key(table), column.clone()), None);
            }
            Action::RenameColumn { table, from, to } => {
                let t = self.key(table);
                let origin = self.column(table, from);
                self.columns.insert((t.clone(), from.clone()), None);
                match origin {
                    Some(origin) => self.columns.insert((t, to.clone()), Some(origin)),
                    None => self.columns.remove(&(t, to.clone())),
                };
            }
            _ => {}
        }
    }

    fn forget_columns(&mut self, table: &TableKey) {
        self.columns.retain(|(t, _), _| t != table);
    }

    fn move_columns(&mut self, from: &TableKey, to: &TableKey) {
        let moved: Vec<_> = self
            .columns
            .keys()
            .filter(|(t, _)| t == from)
            .cloned()
            .collect();
        for k in moved {
            if let Some(origin) = self.columns.remove(&k) {
                self.columns.insert((to.clone(), k.1), origin);
            }
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
