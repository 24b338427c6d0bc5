//! The safety gate of deploy, approvals, data-aware findings, `migrate plan`, and the corpus.

use crate::common::engine;
use std::collections::BTreeMap;
use std::path::PathBuf;

use migrate_core::safety::{
    DefaultAnalyzer, Rule, SafetyAnalyzer, SafetyError, Scope, Severity, Via,
};
use migrate_core::{Error, MigrationSource};
use migrate_tests::TestDb;
use serde_json::Value;

use crate::common::{migrate, rows, text, Dir};

const INIT: &str =
    "CREATE TABLE \"User\" (\"id\" SERIAL PRIMARY KEY, \"legacy\" TEXT, \"email\" TEXT);\n";
const DROP: &str = "-- AlterTable\nALTER TABLE \"User\" DROP COLUMN \"legacy\";\n";

fn has_column(db: &TestDb, column: &str) -> bool {
    db.client()
        .query_one(
            "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 'User' AND column_name = $1",
            &[&column],
        )
        .unwrap()
        .get(0)
}

#[test]
fn deploy_refuses_unapproved_destructive_changes_before_writing() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"User\" (legacy) VALUES ('keep me')")
        .unwrap();

    dir.add("20240102000000_drop_legacy", DROP);
    let err = engine.deploy().unwrap_err();
    match &err {
        Error::Safety(SafetyError::Unapproved { findings }) => {
            assert_eq!(findings, &["20240102000000_drop_legacy:2 drop-column"]);
        }
        other => panic!("expected an unapproved finding, got {other}"),
    }
    assert!(has_column(&db, "legacy"), "nothing was applied");
    assert_eq!(rows(&db).len(), 1, "no ledger row was written");

    // Approved by a directive with a reason, right above the statement.
    dir.add(
        "20240102000000_drop_legacy",
        &format!("-- migrate:approve drop-column reason: legacy unused since v2\n{DROP}"),
    );
    let report = engine.deploy().unwrap();
    assert_eq!(report.applied.len(), 1);
    assert!(!has_column(&db, "legacy"));
}

#[test]
fn data_proves_an_empty_column_drop_harmless() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"User\" (email) VALUES ('a@b.c')")
        .unwrap();
    dir.add("20240102000000_drop_legacy", DROP);

    let mut client = db.client();
    let review = engine
        .review(
            Scope::pending(["20240102000000_drop_legacy".to_owned()]),
            Some(&mut client),
        )
        .unwrap();
    let finding = review
        .report
        .findings()
        .find(|f| f.rule == Rule::DropColumn)
        .unwrap();
    assert_eq!(finding.severity, Severity::Info, "{finding:#?}");
    assert!(
        finding
            .facts
            .iter()
            .any(|f| f.contains("holds no non-null value")),
        "{:?}",
        finding.facts
    );
    assert!(
        finding
            .facts
            .iter()
            .any(|f| f.contains("User: 1 rows (counted: no statistics yet)")),
        "rows (never analysed: counted, not estimated) and size: {:?}",
        finding.facts
    );
    assert_eq!(
        engine.deploy().unwrap().applied.len(),
        1,
        "nothing left to approve"
    );
}

#[test]
fn data_aware_mode_predicts_failures() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"User\" (email) VALUES (NULL), ('x'), ('x')")
        .unwrap();
    dir.add("20240102000000_strict", "ALTER TABLE \"User\" ALTER COLUMN \"email\" SET NOT NULL;\nALTER TABLE \"User\" ADD CONSTRAINT \"User_email_key\" UNIQUE (\"email\");\n");
    let mut client = db.client();
    let review = engine
        .review(
            Scope::pending(["20240102000000_strict".to_owned()]),
            Some(&mut client),
        )
        .unwrap();
    let facts: BTreeMap<String, Vec<String>> = review
        .report
        .findings()
        .map(|f| (f.rule.name().to_owned(), f.facts.clone()))
        .collect();
    assert!(
        facts["setting-not-null-without-check"]
            .iter()
            .any(|f| f.contains("will fail: 1 rows have NULL")),
        "{facts:?}"
    );
    assert!(
        facts["adding-unique-constraint"]
            .iter()
            .any(|f| f.contains("will fail: 1 duplicated")),
        "{facts:?}"
    );
    // The session is usable and writable again afterwards.
    client
        .batch_execute("CREATE TABLE scratch (id int)")
        .unwrap();
}

#[test]
fn data_aware_mode_tests_type_changes_with_their_using_expression() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO \"User\" (legacy) VALUES ('12'), ('secret-value-7'), ('3')")
        .unwrap();
    let facts = |migration: &str, sql: &str| -> Vec<String> {
        dir.add(migration, sql);
        let review = engine
            .review(
                Scope::pending([migration.to_owned()]),
                Some(&mut db.client()),
            )
            .unwrap();
        std::fs::remove_dir_all(dir.path().join(migration)).unwrap();
        review
            .report
            .findings()
            .filter(|f| f.rule.name() == "changing-column-type")
            .flat_map(|f| f.facts.clone())
            .collect()
    };

    // A plain cast meets a value that is not a number: certain failure, named without the value.
    let plain = facts(
        "20240102000000_int",
        "ALTER TABLE \"User\" ALTER COLUMN \"legacy\" SET DATA TYPE INTEGER;",
    );
    assert!(
        plain
            .iter()
            .any(|f| f.contains("will fail") && f.contains("invalid input syntax for type integer")),
        "{plain:?}"
    );
    assert!(
        !plain.iter().any(|f| f.contains("secret-value")),
        "{plain:?}"
    );

    // The USING expression the ALTER really runs makes every value convert.
    let using = facts(
        "20240102000000_using",
        "ALTER TABLE \"User\" ALTER COLUMN \"legacy\" SET DATA TYPE INTEGER \
         USING length(\"legacy\");",
    );
    assert!(
        using.iter().any(|f| f.contains("all 3 values convert to")),
        "{using:?}"
    );

    // Prisma's DateTime type, as written: converts (NULLs), no false alarm.
    let timestamp = facts(
        "20240102000000_ts",
        "ALTER TABLE \"User\" ALTER COLUMN \"email\" SET DATA TYPE TIMESTAMP(3) \
         USING \"email\"::TIMESTAMP(3);",
    );
    assert!(
        timestamp
            .iter()
            .any(|f| f.contains("all 3 values convert to")),
        "{timestamp:?}"
    );
    // A type the same migration creates does not exist yet: untested, not a certain failure.
    let new_type = facts(
        "20240102000000_enum",
        "CREATE TYPE \"Role\" AS ENUM ('A');\nALTER TABLE \"User\" ALTER COLUMN \"email\" \
         SET DATA TYPE \"Role\" USING \"email\"::\"Role\";",
    );
    assert!(
        new_type.iter().any(|f| f.contains("could not be tested"))
            && !new_type.iter().any(|f| f.contains("will fail")),
        "{new_type:?}"
    );
}

#[test]
fn cli_deploy_needs_explicit_approval_and_plan_reports_json() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        migrate(&db.url, &["deploy", "--migrations-dir", d])
            .status
            .code(),
        Some(0)
    );
    db.client()
        .batch_execute("INSERT INTO \"User\" (legacy) VALUES ('keep me')")
        .unwrap();
    dir.add("20240102000000_drop_legacy", DROP);

    let out = migrate(
        &db.url,
        &["plan", "--format", "json", "--migrations-dir", d],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unapproved error finding fails the plan"
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["statements"], 1,
        "only the pending migration is analysed"
    );
    assert_eq!(plan["unrecognized"], 0);
    let f = &plan["findings"][0];
    for (key, want) in [
        ("rule", "drop-column"),
        ("severity", "error"),
        ("migration", "20240102000000_drop_legacy"),
        ("lock", "ACCESS_EXCLUSIVE"),
    ] {
        assert_eq!(f[key], want, "{key}: {f}");
    }
    assert_eq!(
        (
            f["stage"].as_u64(),
            f["line"].as_u64(),
            f["column"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert!(
        f["facts"][1]
            .as_str()
            .unwrap()
            .contains("1 non-null values"),
        "{f}"
    );

    let out = migrate(&db.url, &["deploy", "--yes", "--migrations-dir", d]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--yes never approves destructive changes"
    );
    assert!(
        text(&out.stderr).contains("need approval"),
        "{}",
        text(&out.stderr)
    );
    assert!(has_column(&db, "legacy"));

    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--approve",
            "20240102000000_drop_legacy:drop-column",
            "--migrations-dir",
            d,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!has_column(&db, "legacy"));

    for format in ["markdown", "sarif", "github", "human"] {
        let out = migrate(
            &db.url,
            &[
                "plan",
                "--offline",
                "--format",
                format,
                "--fail-on",
                "info",
                "--migrations-dir",
                d,
            ],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("drop-column"),
            "{format}: {}",
            text(&out.stdout)
        );
    }
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

#[test]
fn corpus_is_fully_classified_and_new_tables_are_not_flagged() {
    let Ok(entries) = std::fs::read_dir(corpus_dir()) else {
        eprintln!("NOTICE: corpus analysis skipped: ../shared/corpus not found");
        return;
    };
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let (mut statements, mut fallback) = (0, 0);
    for entry in entries {
        let dir = entry.unwrap().path().join("migrations");
        if !dir.is_dir() {
            continue;
        }
        let migrations = MigrationSource::new(&dir).load().unwrap();
        let report = DefaultAnalyzer::default().analyze(&migrations, &Scope::all());
        statements += report.statement_count();
        fallback += report
            .migrations
            .iter()
            .flat_map(|m| &m.statements)
            .filter(|s| s.via == Via::Fallback)
            .count();
        assert_eq!(report.unrecognized_count(), 0, "{}", dir.display());
        for analysis in &report.migrations {
            let created: Vec<String> = migrate_core::safety::parse_script(
                migrations
                    .get(&analysis.migration)
                    .unwrap()
                    .script()
                    .unwrap()
                    .sql(),
            )
            .into_iter()
            .flat_map(|s| s.actions)
            .filter_map(|a| match a {
                migrate_core::safety::ir::Action::CreateTable { table, .. } => {
                    Some(table.to_string())
                }
                _ => None,
            })
            .collect();
            for f in &analysis.findings {
                *per_rule.entry(f.rule.name().to_owned()).or_default() += 1;
                if matches!(
                    f.rule.built_in(),
                    Some(Rule::CreateIndexNonConcurrently | Rule::AddingForeignKeyWithoutNotValid)
                ) {
                    let table = f.table.clone().unwrap_or_default();
                    assert!(
                        !created.contains(&table),
                        "{} flagged on {table}, created in the same migration",
                        analysis.migration
                    );
                }
            }
        }
    }
    eprintln!("corpus analysis: {statements} statements, {fallback} by fallback, 0 not understood");
    eprintln!("findings per rule: {per_rule:?}");
    assert!(statements > 3000);
}
