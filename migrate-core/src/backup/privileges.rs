//! What the connected role may do, read from the catalog before anything changes: a rollback
//! that needs a privilege the role lacks must be known before the migrations run, not after
//! (a managed database's owner role usually has neither superuser nor CREATEDB).

use std::fmt;

use postgres::GenericClient;

use super::BackupError;

/// A privilege a restore or a rollback strategy needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "privilege", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Privilege {
    /// The role attribute `CREATEDB` (the restored copy is a new database).
    CreateDb,
    /// Ownership of the database (renaming it, closing it to writes): membership in the
    /// owner's role.
    DatabaseOwner {
        /// The database.
        database: String,
        /// Its owner.
        owner: String,
    },
    /// `CONNECT` on a maintenance database (`postgres` or `template1`): a database cannot be
    /// renamed from a session inside it.
    MaintenanceConnect,
    /// Ownership of a table (to replace its rows and definition in place).
    TableOwner {
        /// `schema.table`.
        table: String,
        /// Its owner.
        owner: String,
    },
    /// The role attribute `REPLICATION` (logical replication slots).
    Replication,
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDb => f.write_str("CREATEDB"),
            Self::DatabaseOwner { database, owner } => {
                write!(f, "ownership of database {database} (owned by {owner})")
            }
            Self::MaintenanceConnect => f.write_str("CONNECT on database postgres or template1"),
            Self::TableOwner { table, owner } => {
                write!(f, "ownership of table {table} (owned by {owner})")
            }
            Self::Replication => f.write_str("REPLICATION"),
        }
    }
}

/// The connected role's privileges that rollbacks depend on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RolePrivileges {
    /// The role (`current_user`).
    pub role: String,
    /// The database.
    pub database: String,
    /// Its owner.
    pub database_owner: String,
    /// Superuser: every check passes.
    pub superuser: bool,
    /// The `CREATEDB` attribute.
    pub createdb: bool,
    /// The `REPLICATION` attribute.
    pub replication: bool,
    /// Member of the database owner's role.
    pub owns_database: bool,
    /// May connect to `postgres` or `template1`.
    pub maintenance_connect: bool,
    /// Tables of the application's schemas the role does not own, with their owners.
    pub foreign_tables: Vec<(String, String)>,
}

impl RolePrivileges {
    /// Reads them on `client`, a session on the database.
    ///
    /// # Errors
    ///
    /// [`BackupError::Query`] when the catalog cannot be read.
    pub fn read(client: &mut impl GenericClient, target: &str) -> Result<Self, BackupError> {
        let row = client
            .query_one(
                "SELECT current_user::text, current_database()::text, pg_get_userbyid(d.datdba)::text, \
                 r.rolsuper, r.rolcreatedb, r.rolreplication, \
                 pg_has_role(current_user, d.datdba, 'USAGE'), \
                 EXISTS (SELECT 1 FROM pg_database m WHERE m.datname IN ('postgres', 'template1') \
                         AND m.datallowconn AND has_database_privilege(m.oid, 'CONNECT')) \
                 FROM pg_database d, pg_roles r \
                 WHERE d.datname = current_database() AND r.rolname = current_user",
                &[],
            )
            .map_err(BackupError::query("reading the role's privileges", target.to_owned()))?;
        let foreign = client
            .query(
                "SELECT '\"' || replace(n.nspname, '\"', '\"\"') || '\".\"' || replace(c.relname, '\"', '\"\"') || '\"', \
                 pg_get_userbyid(c.relowner)::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_%' \
                 AND NOT pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY 1",
                &[],
            )
            .map_err(BackupError::query("reading table owners", target.to_owned()))?;
        Ok(Self {
            role: row.get(0),
            database: row.get(1),
            database_owner: row.get(2),
            superuser: row.get(3),
            createdb: row.get(4),
            replication: row.get(5),
            owns_database: row.get(6),
            maintenance_connect: row.get(7),
            foreign_tables: foreign.iter().map(|r| (r.get(0), r.get(1))).collect(),
        })
    }

    /// What a whole-database restore (a fresh database loaded, then renamed in) needs that the
    /// role lacks; empty when it can run.
    #[must_use]
    pub fn missing_for_database_restore(&self) -> Vec<Privilege> {
        if self.superuser {
            return Vec::new();
        }
        let mut missing = Vec::new();
        if !self.createdb {
            missing.push(Privilege::CreateDb);
        }
        if !self.owns_database {
            missing.push(Privilege::DatabaseOwner {
                database: self.database.clone(),
                owner: self.database_owner.clone(),
            });
        }
        if !self.maintenance_connect {
            missing.push(Privilege::MaintenanceConnect);
        }
        missing
    }

    /// What replacing `tables` (`"schema"."table"`, always quoted) in place
    /// needs that the role lacks; empty when it can run.
    #[must_use]
    pub fn missing_for_tables<'a>(
        &self,
        tables: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Privilege> {
        if self.superuser {
            return Vec::new();
        }
        tables
            .into_iter()
            .filter_map(|t| {
                self.foreign_tables
                    .iter()
                    .find(|(name, _)| name == t)
                    .map(|(table, owner)| Privilege::TableOwner {
                        table: table.clone(),
                        owner: owner.clone(),
                    })
            })
            .collect()
    }

    /// What a logical replication slot needs that the role lacks.
    #[must_use]
    pub fn missing_for_slot(&self) -> Vec<Privilege> {
        if self.superuser || self.replication {
            Vec::new()
        } else {
            vec![Privilege::Replication]
        }
    }
}

/// `a, b and c`, for messages.
#[must_use]
pub fn list(missing: &[Privilege]) -> String {
    let words: Vec<String> = missing.iter().map(ToString::to_string).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_without_createdb() -> RolePrivileges {
        RolePrivileges {
            role: "app".into(),
            database: "appdb".into(),
            database_owner: "app".into(),
            superuser: false,
            createdb: false,
            replication: false,
            owns_database: true,
            maintenance_connect: true,
            foreign_tables: vec![("\"public\".\"audit\"".into(), "dba".into())],
        }
    }

    #[test]
    fn an_owner_without_createdb_cannot_restore_the_whole_database() {
        let p = owner_without_createdb();
        assert_eq!(p.missing_for_database_restore(), [Privilege::CreateDb]);
        assert_eq!(list(&p.missing_for_database_restore()), "CREATEDB");
    }

    #[test]
    fn table_restore_needs_only_the_covered_tables() {
        let p = owner_without_createdb();
        assert!(p.missing_for_tables(["\"public\".\"User\""]).is_empty());
        assert_eq!(
            list(&p.missing_for_tables(["\"public\".\"audit\"", "\"public\".\"User\""])),
            "ownership of table \"public\".\"audit\" (owned by dba)"
        );
    }

    #[test]
    fn a_superuser_lacks_nothing() {
        let p = RolePrivileges {
            superuser: true,
            ..owner_without_createdb()
        };
        assert!(p.missing_for_database_restore().is_empty());
        assert!(p.missing_for_slot().is_empty());
        assert!(p.missing_for_tables(["\"public\".\"audit\""]).is_empty());
    }
}
