//! The gate judges destructive findings against the data that exists before the deployment:
//! objects that do not exist yet, or that the deployment itself creates, drops or renames, put
//! nothing at risk; real rows keep their severity. Also: opaque `DO` blocks, length overflows of
//! type changes, and row counts PostgreSQL has no estimate for.

use crate::common::engine;
use migrate_core::safety::{Finding, Scope, Severity};
use migrate_tests::TestDb;

use crate::common::Dir;

const INIT: &str =
    "CREATE TABLE \"Post\" (\"id\" SERIAL PRIMARY KEY, \"title\" TEXT, \"email\" TEXT);\n";

/// The findings of a review of `pending` against `db`.
fn review(db: &TestDb, dir: &Dir, pending: &[&str]) -> Vec<Finding> {
    let engine = engine(db, dir.path());
    let review = engine
        .review(
            Scope::pending(pending.iter().map(|p| (*p).to_owned())),
            Some(&mut db.client()),
        )
        .unwrap();
    review.report.findings().cloned().collect()
}

fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule.name() == rule).collect()
}

#[test]
fn absent_created_and_renamed_objects_are_judged_before_the_deployment() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"Post\" (title) SELECT 't' || g FROM generate_series(1, 50) g")
        .unwrap();
    dir.add(
        "20240102000000_a",
        "DROP TABLE IF EXISTS \"Ghost\";\n\
         CREATE TABLE \"Tmp\" (id int);\n\
         ALTER TABLE \"Post\" ADD COLUMN \"draft\" BOOLEAN;\n\
         ALTER TABLE \"Post\" RENAME COLUMN \"title\" TO \"heading\";\n",
    );
    dir.add(
        "20240103000000_b",
        "DROP TABLE \"Tmp\";\n\
         ALTER TABLE \"Post\" DROP COLUMN \"draft\";\n\
         ALTER TABLE \"Post\" DROP COLUMN \"heading\";\n",
    );
    let findings = review(&db, &dir, &["20240102000000_a", "20240103000000_b"]);
    let drops = of(&findings, "drop-table");
    let ghost = drops
        .iter()
        .find(|f| f.line == 1 && f.migration.ends_with("_a"));
    assert!(
        ghost.is_some_and(|f| f.severity == Severity::Info
            && f.facts
                .iter()
                .any(|x| x.contains("does not exist in the database before"))),
        "{drops:#?}"
    );
    // The analyzer already knows that Tmp is new (created by a pending migration); the gate
    // must not raise it either.
    assert!(
        drops
            .iter()
            .filter(|f| f.migration.ends_with("_b"))
            .all(|f| f.severity == Severity::Info),
        "{drops:#?}"
    );
    let columns = of(&findings, "drop-column");
    let draft = columns.iter().find(|f| f.line == 2).unwrap();
    assert_eq!(draft.severity, Severity::Info, "{draft:#?}");
    assert!(
        draft
            .facts
            .iter()
            .any(|x| x.contains("added earlier in this deployment")),
        "{draft:#?}"
    );
    // The renamed column holds 50 real values under its old name: still an error, probed there.
    let heading = columns.iter().find(|f| f.line == 3).unwrap();
    assert_eq!(heading.severity, Severity::Error, "{heading:#?}");
    assert!(
        heading
            .facts
            .iter()
            .any(|x| x.contains("is title in the database"))
            && heading
                .facts
                .iter()
                .any(|x| x.contains("50 non-null values")),
        "{heading:#?}"
    );
}

#[test]
fn a_fresh_database_deploys_drops_of_absent_tables_without_approval() {
    let db = TestDb::new();
    let dir = Dir::with(&[(
        "20240101000000_init",
        "DROP TABLE IF EXISTS legacy.run_executions;\nCREATE TABLE \"A\" (id int);\nDROP TABLE \"A\";\n",
    )]);
    let report = engine(&db, dir.path()).deploy().unwrap();
    assert_eq!(report.applied.len(), 1);
}

#[test]
fn do_blocks_are_analysed_and_execute_is_a_warning() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"Post\" (title) VALUES ('a'), ('b')")
        .unwrap();
    dir.add(
        "20240102000000_do",
        "DO $$ BEGIN DELETE FROM \"Post\"; END $$;\nDO $$ BEGIN EXECUTE 'TRUNCATE \"Post\"'; END $$;\n",
    );
    let findings = review(&db, &dir, &["20240102000000_do"]);
    let delete = of(&findings, "delete-without-where");
    assert_eq!(delete.len(), 1, "{findings:#?}");
    assert_eq!(delete[0].severity, Severity::Error);
    assert_eq!(
        (delete[0].line, delete[0].column),
        (1, 13),
        "inside the block"
    );
    let dynamic = of(&findings, "dynamic-sql");
    assert_eq!(dynamic.len(), 1, "{findings:#?}");
    assert_eq!(dynamic[0].severity, Severity::Warning);
    assert!(dynamic[0].message.contains("cannot be analysed"));
}

#[test]
fn a_varchar_overflow_is_a_certain_failure_and_unknown_row_counts_are_counted() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    // 1,000 rows, never analysed: PostgreSQL has no estimate (reltuples = -1).
    db.client()
        .batch_execute(
            "INSERT INTO \"Post\" (email) SELECT 'u' || g FROM generate_series(1, 1000) g",
        )
        .unwrap();
    dir.add(
        "20240102000000_short",
        "ALTER TABLE \"Post\" ALTER COLUMN \"email\" SET DATA TYPE VARCHAR(3);\n",
    );
    let findings = review(&db, &dir, &["20240102000000_short"]);
    let change = of(&findings, "changing-column-type");
    assert_eq!(change.len(), 1, "{findings:#?}");
    let facts = &change[0].facts;
    assert_eq!(change[0].severity, Severity::Error);
    assert!(
        facts
            .iter()
            .any(|f| f.contains("will fail") && f.contains("longer than 3 characters")),
        "{facts:?}"
    );
    assert!(
        facts.iter().any(|f| f.contains("1000 rows (counted")),
        "no made-up 0: {facts:?}"
    );
    assert!(
        !facts.iter().any(|f| f.contains("about 0 rows")),
        "{facts:?}"
    );
    // And the ALTER does fail as predicted.
    let err = db
        .client()
        .batch_execute("ALTER TABLE \"Post\" ALTER COLUMN \"email\" SET DATA TYPE VARCHAR(3)")
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22001"));
}

#[test]
fn absent_schemas_and_truncates_of_several_tables_are_judged_whole() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO \"Post\" (title) VALUES ('kept');
             CREATE SCHEMA analytics; CREATE TABLE analytics.events (id int);",
        )
        .unwrap();
    dir.add(
        "20240102000000_drops",
        "DROP SCHEMA IF EXISTS legacy CASCADE;\n\
         DROP SCHEMA analytics CASCADE;\n\
         TRUNCATE \"Ghost\";\n\
         TRUNCATE \"Ghost\", \"Post\";\n",
    );
    let findings = review(&db, &dir, &["20240102000000_drops"]);
    let schemas = of(&findings, "drop-schema");
    let severity_at = |found: &[&Finding], line: usize| {
        found
            .iter()
            .find(|f| f.line == line)
            .map(|f| f.severity)
            .unwrap_or_else(|| panic!("no finding on line {line}: {findings:#?}"))
    };
    assert_eq!(severity_at(&schemas, 1), Severity::Info, "absent schema");
    assert_eq!(severity_at(&schemas, 2), Severity::Error, "a real schema");
    let truncates = of(&findings, "truncate-table");
    // No IF EXISTS: the statement fails unless something unmodelled creates the table, so the
    // finding keeps its severity and says so.
    assert_eq!(
        severity_at(&truncates, 3),
        Severity::Error,
        "absent, not IF EXISTS"
    );
    assert_eq!(
        severity_at(&truncates, 4),
        Severity::Error,
        "one absent table does not make the other harmless"
    );
}

/// What the analysis cannot see keeps its severity: a probe out of time, `IF NOT EXISTS` that may
/// find the object with its data, a name reached by a statement the timeline does not model
/// (`SET SCHEMA`), and qualified and unqualified names of one table.
#[test]
fn what_cannot_be_told_keeps_its_severity() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"Post\" (title) VALUES ('kept'); CREATE SCHEMA archive;")
        .unwrap();
    dir.add(
        "20240102000000_a",
        "ALTER TABLE \"Post\" ADD COLUMN IF NOT EXISTS \"title\" TEXT;\n\
         ALTER TABLE public.\"Post\" RENAME TO \"Article\";\n",
    );
    dir.add(
        "20240103000000_b",
        "ALTER TABLE \"Article\" DROP COLUMN \"title\";\n\
         ALTER TABLE \"Article\" SET SCHEMA archive;\n\
         DROP TABLE archive.\"Article\";\n",
    );
    let pending = ["20240102000000_a", "20240103000000_b"];
    let findings = review(&db, &dir, &pending);
    let title = of(&findings, "drop-column");
    assert_eq!(title.len(), 1, "{findings:#?}");
    assert_eq!(title[0].severity, Severity::Error, "{:#?}", title[0]);
    assert!(
        title[0]
            .facts
            .iter()
            .any(|f| f.contains("1 non-null values")),
        "probed as \"Post\".\"title\": {:#?}",
        title[0]
    );
    let moved = of(&findings, "drop-table");
    assert_eq!(moved.len(), 1, "{findings:#?}");
    assert_eq!(moved[0].severity, Severity::Error, "{:#?}", moved[0]);
    assert!(
        moved[0]
            .facts
            .iter()
            .any(|f| f.contains("no earlier statement")),
        "{:#?}",
        moved[0]
    );

    // Out of time, nothing can be told: no downgrade, even for IF EXISTS.
    dir.add("20240104000000_c", "DROP TABLE IF EXISTS \"Ghost\";\n");
    let mut gate = migrate_core::safety::SafetyGate::default();
    gate.data_budget = Some(std::time::Duration::ZERO);
    let review = engine(&db, dir.path())
        .safety(gate)
        .review(
            Scope::pending(["20240104000000_c".to_owned()]),
            Some(&mut db.client()),
        )
        .unwrap();
    let ghost: Vec<&Finding> = review
        .report
        .findings()
        .filter(|f| f.rule.name() == "drop-table")
        .collect();
    assert_eq!(ghost.len(), 1);
    assert_eq!(ghost[0].severity, Severity::Error, "{:#?}", ghost[0]);
}

/// trigger.dev's `ADD COLUMN IF NOT EXISTS` of a column the database lacks, dropped by a later
/// pending migration: the column is new, its drop needs no approval.
#[test]
fn if_not_exists_of_an_absent_column_creates_it() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"Post\" (title) VALUES ('kept')")
        .unwrap();
    dir.add(
        "20240102000000_add",
        "ALTER TABLE \"Post\" ADD COLUMN IF NOT EXISTS \"reason\" TEXT;\n",
    );
    dir.add(
        "20240103000000_drop",
        "ALTER TABLE \"Post\" DROP COLUMN \"reason\";\n",
    );
    let findings = review(&db, &dir, &["20240102000000_add", "20240103000000_drop"]);
    let drops = of(&findings, "drop-column");
    assert_eq!(drops.len(), 1, "{findings:#?}");
    assert_eq!(drops[0].severity, Severity::Info, "{:#?}", drops[0]);
}

/// A type change of an existing but empty table loses nothing: no approval.
#[test]
fn a_type_change_of_an_empty_table_is_harmless() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    engine(&db, dir.path()).deploy().unwrap();
    dir.add(
        "20240102000000_text",
        "ALTER TABLE \"Post\" ALTER COLUMN \"id\" SET DATA TYPE TEXT;\n",
    );
    let findings = review(&db, &dir, &["20240102000000_text"]);
    let change = of(&findings, "changing-column-type");
    assert_eq!(change.len(), 1, "{findings:#?}");
    assert_eq!(change[0].severity, Severity::Info, "{:#?}", change[0]);
    assert!(change[0]
        .facts
        .iter()
        .any(|f| f.contains("the table is empty")));
    // With a row it is a real change again.
    db.client()
        .batch_execute("INSERT INTO \"Post\" (title) VALUES ('kept')")
        .unwrap();
    let findings = review(&db, &dir, &["20240102000000_text"]);
    assert_eq!(
        of(&findings, "changing-column-type")[0].severity,
        Severity::Error
    );
}
