//! What a script does to the implicit transaction of a simple-protocol query.
//!
//! Prisma sends each `migration.sql` as one simple Query message. PostgreSQL runs a
//! multi-statement query as one implicit transaction, so the file is all-or-nothing, unless:
//! - the file ends that transaction itself (`COMMIT`, `END`, `ROLLBACK`, …) and more statements
//!   follow: what came before is committed even if a later statement fails (about 3% of real
//!   Prisma histories do this, in the enum-rebuild blocks Prisma generates);
//! - the file holds a statement that refuses to run in a transaction block (`CREATE INDEX
//!   CONCURRENTLY`, `VACUUM`, …) together with any other statement: PostgreSQL rejects it, always.
//!   Alone in its file such a statement works.

use super::{split, LineCol, Statement, StatementKind};

/// A statement that ends the current transaction, found in a script.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransactionEnd {
    /// The statement text (`COMMIT`, `END`, `ROLLBACK`, …).
    pub statement: String,
    /// Where it is.
    pub at: LineCol,
    /// How many statements run after it, in a new transaction.
    pub statements_after: usize,
}

/// How a script behaves when sent as one simple-protocol query.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransactionShape {
    /// Number of non-empty SQL statements.
    pub statements: usize,
    /// Statements that end the implicit transaction before the end of the file.
    pub splits: Vec<TransactionEnd>,
    /// Statements that cannot run inside a transaction block, with their position.
    pub non_transactional: Vec<(String, LineCol)>,
    /// psql meta-commands (`\i`, `\set`, …), which the server does not understand.
    pub meta_commands: Vec<(String, LineCol)>,
}

impl TransactionShape {
    /// Analyses `script`.
    #[must_use]
    pub fn of(script: &str) -> Self {
        let statements: Vec<Statement> = split(script);
        let sql: Vec<&Statement> = statements
            .iter()
            .filter(|s| s.kind == StatementKind::Sql)
            .collect();
        let mut shape = Self {
            statements: sql.len(),
            ..Self::default()
        };
        for st in statements
            .iter()
            .filter(|s| s.kind == StatementKind::MetaCommand)
        {
            shape
                .meta_commands
                .push((st.text(script).to_owned(), st.start));
        }
        for (i, st) in sql.iter().enumerate() {
            let after = sql.len() - i - 1;
            if ends_transaction(st, script) && after > 0 {
                shape.splits.push(TransactionEnd {
                    statement: st.text(script).to_owned(),
                    at: st.start,
                    statements_after: after,
                });
            }
            if let Some(what) = non_transactional(st, script) {
                shape.non_transactional.push((what.to_owned(), st.start));
            }
        }
        shape
    }

    /// True when a failure late in the file can leave an earlier part committed.
    #[must_use]
    pub fn splits_atomicity(&self) -> bool {
        !self.splits.is_empty()
    }

    /// The first statement that PostgreSQL will refuse because it cannot run inside the implicit
    /// transaction block of a multi-statement query.
    #[must_use]
    pub fn certain_failure(&self) -> Option<&(String, LineCol)> {
        if self.statements > 1 {
            self.non_transactional.first()
        } else {
            None
        }
    }
}

fn ends_transaction(st: &Statement, script: &str) -> bool {
    match st.word(script, 0).as_deref() {
        Some("COMMIT" | "END" | "ROLLBACK" | "ABORT") => {
            // `COMMIT PREPARED 'x'` and `ROLLBACK TO SAVEPOINT s` do not end the transaction.
            !matches!(st.word(script, 1).as_deref(), Some("PREPARED" | "TO"))
        }
        Some("PREPARE") => st.word(script, 1).as_deref() == Some("TRANSACTION"),
        _ => false,
    }
}

/// Names the statements PostgreSQL runs only outside a transaction block
/// (`PreventInTransactionBlock` in the server).
fn non_transactional(st: &Statement, script: &str) -> Option<&'static str> {
    let w = |n| st.word(script, n);
    let concurrently = st.has_word(script, "CONCURRENTLY");
    match w(0).as_deref()? {
        "CREATE" if concurrently && st.has_word(script, "INDEX") => {
            Some("CREATE INDEX CONCURRENTLY")
        }
        "DROP" if concurrently && w(1).as_deref() == Some("INDEX") => {
            Some("DROP INDEX CONCURRENTLY")
        }
        "REINDEX" if concurrently => Some("REINDEX CONCURRENTLY"),
        "REINDEX" if matches!(w(1).as_deref(), Some("SYSTEM" | "DATABASE")) => {
            Some("REINDEX DATABASE")
        }
        "ALTER" if concurrently && st.has_word(script, "DETACH") => {
            Some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY")
        }
        "ALTER" if w(1).as_deref() == Some("SYSTEM") => Some("ALTER SYSTEM"),
        "VACUUM" => Some("VACUUM"),
        "CLUSTER" if st.words.len() == 1 => Some("CLUSTER"),
        "CREATE" | "DROP" if matches!(w(1).as_deref(), Some("DATABASE" | "TABLESPACE")) => {
            Some("CREATE/DROP DATABASE or TABLESPACE")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prisma_output_is_atomic() {
        let s = TransactionShape::of("-- CreateTable\nCREATE TABLE a (id int);\n\n-- CreateIndex\nCREATE INDEX i ON a(id);\n");
        assert_eq!(s.statements, 2);
        assert!(!s.splits_atomicity());
        assert!(s.certain_failure().is_none());
    }

    #[test]
    fn enum_rebuild_block_splits_atomicity() {
        let sql = "ALTER TABLE a ADD COLUMN b int;\nBEGIN;\nCREATE TYPE e_new AS ENUM ('x');\nCOMMIT;\nALTER TABLE a DROP COLUMN c;\n";
        let s = TransactionShape::of(sql);
        assert!(s.splits_atomicity());
        assert_eq!(s.splits[0].at, LineCol { line: 4, column: 1 });
        assert_eq!(s.splits[0].statements_after, 1);
    }

    #[test]
    fn trailing_commit_keeps_the_file_atomic() {
        let s = TransactionShape::of("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n-- done\n");
        assert!(!s.splits_atomicity());
        let s = TransactionShape::of("SAVEPOINT s; ROLLBACK TO SAVEPOINT s; SELECT 1;");
        assert!(!s.splits_atomicity());
    }

    #[test]
    fn concurrently_alone_works_but_not_with_others() {
        let alone = TransactionShape::of(
            "-- CreateIndex\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a(id);\n",
        );
        assert_eq!(alone.non_transactional.len(), 1);
        assert!(alone.certain_failure().is_none());

        let mixed = TransactionShape::of(
            "CREATE TABLE a (id int);\nDROP INDEX CONCURRENTLY IF EXISTS i;\n",
        );
        let (what, at) = mixed.certain_failure().unwrap();
        assert_eq!(what, "DROP INDEX CONCURRENTLY");
        assert_eq!(at.line, 2);
    }

    #[test]
    fn concurrently_inside_a_do_block_is_not_top_level() {
        let s = TransactionShape::of(
            "DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY i ON a(id)'; COMMIT; END $$;",
        );
        assert!(s.non_transactional.is_empty());
        assert!(s.splits.is_empty());
    }
}
