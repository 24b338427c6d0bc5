//! PostgreSQL table lock levels, and which one each action takes.

use super::ir::{Action, ObjectKind};

/// A table-level lock mode, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockLevel {
    /// `ACCESS SHARE` (SELECT).
    AccessShare,
    /// `ROW SHARE` (SELECT … FOR UPDATE): blocks nothing of the application.
    RowShare,
    /// `ROW EXCLUSIVE` (INSERT, UPDATE, DELETE): blocks nothing of the application.
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE` (CONCURRENTLY builds, VALIDATE CONSTRAINT): blocks DDL only.
    ShareUpdateExclusive,
    /// `SHARE` (CREATE INDEX): blocks writes.
    Share,
    /// `SHARE ROW EXCLUSIVE` (ADD FOREIGN KEY): blocks writes.
    ShareRowExclusive,
    /// `EXCLUSIVE` (REFRESH MATERIALIZED VIEW CONCURRENTLY): blocks writes.
    Exclusive,
    /// `ACCESS EXCLUSIVE` (most ALTER TABLE, DROP, TRUNCATE): blocks reads and writes.
    AccessExclusive,
}

impl LockLevel {
    /// True when the application's reads wait behind this lock.
    #[must_use]
    pub fn blocks_reads(self) -> bool {
        self == Self::AccessExclusive
    }

    /// True when the application's writes wait behind this lock.
    #[must_use]
    pub fn blocks_writes(self) -> bool {
        self >= Self::Share
    }

    /// The SQL name of the mode.
    #[must_use]
    pub fn sql_name(self) -> &'static str {
        match self {
            Self::AccessShare => "ACCESS SHARE",
            Self::RowShare => "ROW SHARE",
            Self::RowExclusive => "ROW EXCLUSIVE",
            Self::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Self::Share => "SHARE",
            Self::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Self::Exclusive => "EXCLUSIVE",
            Self::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }
}

impl std::fmt::Display for LockLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// The strongest table lock `action` takes on its table (PostgreSQL 15 documentation, "Explicit
/// Locking" and each command's page), or `None` when it takes no table lock that matters.
#[must_use]
pub fn lock_of(action: &Action) -> Option<LockLevel> {
    use Action as A;
    use LockLevel as L;
    Some(match action {
        A::CreateIndex {
            concurrently: true, ..
        }
        | A::DropIndex {
            concurrently: true, ..
        } => L::ShareUpdateExclusive,
        A::CreateIndex { .. } => L::Share,
        A::ValidateConstraint { .. } => L::ShareUpdateExclusive,
        A::AddConstraint {
            constraint: super::ir::Constraint::ForeignKey { .. },
            ..
        } => L::ShareRowExclusive,
        A::RefreshMaterializedView {
            concurrently: true, ..
        } => L::Exclusive,
        A::Delete { .. } | A::Update { .. } | A::Insert { .. } => L::RowExclusive,
        A::Reindex {
            concurrently: true, ..
        }
        | A::DetachPartition {
            concurrently: true, ..
        } => L::ShareUpdateExclusive,
        // SHARE on the table and ACCESS EXCLUSIVE on each index rebuilt: the planner opens
        // every index of a table, so reads wait as well as writes.
        A::Reindex {
            concurrently: false,
            ..
        } => L::AccessExclusive,
        A::LockTable { mode, .. } => *mode,
        // SHARE on every table with a column of the domain, for the validating scan.
        A::AlterDomainAddConstraint {
            not_valid: false, ..
        } => L::Share,
        A::DropTable { .. }
        | A::RenameTable { .. }
        | A::AddColumn { .. }
        | A::DropColumn { .. }
        | A::RenameColumn { .. }
        | A::AlterColumnType { .. }
        | A::SetNotNull { .. }
        | A::DropNotNull { .. }
        | A::SetDefault { .. }
        | A::AddConstraint { .. }
        | A::DropConstraint { .. }
        | A::RenameConstraint { .. }
        | A::DropIndex { .. }
        | A::RenameIndex { .. }
        | A::Truncate { .. }
        | A::VacuumFull { .. }
        | A::Cluster { .. }
        | A::RefreshMaterializedView { .. }
        | A::DetachPartition { .. }
        | A::AttachPartition { .. }
        | A::ChangeStorage { .. }
        | A::DropOwned { .. } => L::AccessExclusive,
        // Dropping the columns of the type, domain or extension: ACCESS EXCLUSIVE on their tables.
        A::DropType { cascade: true, .. }
        | A::DropObject {
            kind: ObjectKind::Domain | ObjectKind::Extension | ObjectKind::Function,
            cascade: true,
            ..
        } => L::AccessExclusive,
        _ => return None,
    })
}
