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
        Error::Safety(SafetyError::Unapproved { findings, ignored }) => {
            assert_eq!(findings, &["20240102000000_drop_legacy:2 drop-column"]);
            assert!(ignored.is_empty(), "{ignored:?}");
        }
        other => panic!("expected an unapproved finding, got {other}"),
    }
    assert!(has_column(&db, "legacy"), "nothing was applied");
    assert_eq!(rows(&db).len(), 1, "no ledger row was written");

    // A directive without a reason does not count, and the refusal says why.
    dir.add(
        "20240102000000_drop_legacy",
        &format!("-- migrate:approve drop-column\n{DROP}"),
    );
    let err = engine.deploy().unwrap_err().to_string();
    assert!(
        err.contains("approvals ignored") && err.contains("no reason"),
        "{err}"
    );
    assert!(has_column(&db, "legacy"), "nothing was applied");

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

    // documenso's 20250522054050: a backfill right before the SET NOT NULL. The NULLs counted
    // before the deployment are then no prediction: said, not an error that needs approval.
    dir.add(
        "20240103000000_backfill",
        "UPDATE \"User\" SET \"email\" = 'id-' || \"id\" WHERE \"email\" IS NULL;\n\
         ALTER TABLE \"User\" ALTER COLUMN \"email\" SET NOT NULL;\n",
    );
    let review = engine
        .review(
            Scope::pending(["20240103000000_backfill".to_owned()]),
            Some(&mut client),
        )
        .unwrap();
    let not_null = review
        .report
        .findings()
        .find(|f| f.rule.name() == "setting-not-null-without-check")
        .unwrap();
    assert_eq!(not_null.severity, Severity::Warning, "{not_null:?}");
    assert!(
        not_null.facts.iter().any(|f| f.contains(
            "before this deployment, 1 rows have NULL in email; 20240103000000_backfill writes"
        )),
        "{:?}",
        not_null.facts
    );
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

/// A schema with a row in every table, for the hazards of issue 16.
const HAZARDS_INIT: &str = r#"CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "email" TEXT);
CREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "authorId" INTEGER, "title" TEXT);
CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");
CREATE TABLE "Log" ("message" TEXT);
CREATE TABLE "Empty" ("id" INTEGER);
CREATE DOMAIN "email_address" AS TEXT;
CREATE TABLE "Contact" ("id" SERIAL PRIMARY KEY, "address" "email_address");
CREATE TABLE "Event" ("id" INTEGER NOT NULL, "at" DATE NOT NULL) PARTITION BY RANGE ("at");
CREATE TABLE "Event_2023" PARTITION OF "Event" FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE "Event_2024" ("id" INTEGER NOT NULL, "at" DATE NOT NULL);
CREATE FUNCTION "stable_now"() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT now() $$;
CREATE FUNCTION "jitter"() RETURNS float8 LANGUAGE sql VOLATILE AS $$ SELECT random() $$;
"#;

const HAZARDS_ROWS: &str = r#"INSERT INTO "User" ("email") VALUES ('a@b.c'), ('d@e.f');
INSERT INTO "Post" ("authorId", "title") VALUES (1, 'x');
INSERT INTO "Log" ("message") VALUES ('m');
INSERT INTO "Contact" ("address") VALUES ('a@b.c');
INSERT INTO "Event" VALUES (1, '2023-06-01');
INSERT INTO "Event_2024" VALUES (2, '2024-06-01');
"#;

/// One hazard of issue 16: the statement a peer linter flags, and its safe form.
struct Hazard {
    rule: Rule,
    flagged: &'static str,
    safe: &'static str,
    /// Both forms run inside a transaction block (checked against PostgreSQL, rolled back).
    in_transaction: bool,
}

const fn hazard(rule: Rule, flagged: &'static str, safe: &'static str, tx: bool) -> Hazard {
    Hazard {
        rule,
        flagged,
        safe,
        in_transaction: tx,
    }
}

const HAZARDS: &[Hazard] = &[
    hazard(
        Rule::DropCascade,
        r#"DROP DOMAIN "email_address" CASCADE;"#,
        "ALTER TABLE \"Contact\" ALTER COLUMN \"address\" TYPE TEXT;\nDROP DOMAIN \"email_address\";",
        true,
    ),
    hazard(
        Rule::AddingUniqueConstraint,
        r#"ALTER TABLE "User" ADD COLUMN "handle" TEXT UNIQUE;"#,
        r#"ALTER TABLE "User" ADD COLUMN "handle" TEXT;"#,
        true,
    ),
    hazard(
        Rule::AddingUniqueConstraint,
        r#"ALTER TABLE "Log" ADD COLUMN "id" SERIAL PRIMARY KEY;"#,
        r#"ALTER TABLE "Log" ADD COLUMN "id" INTEGER;"#,
        true,
    ),
    hazard(
        Rule::AddingForeignKeyWithoutNotValid,
        r#"ALTER TABLE "Post" ADD COLUMN "editorId" INTEGER REFERENCES "User"("id");"#,
        "ALTER TABLE \"Post\" ADD COLUMN \"editorId\" INTEGER;\nALTER TABLE \"Post\" ADD CONSTRAINT \"Post_editorId_fkey\" FOREIGN KEY (\"editorId\") REFERENCES \"User\"(\"id\") NOT VALID;",
        true,
    ),
    hazard(
        Rule::AddingColumnWithVolatileDefault,
        r#"ALTER TABLE "User" ADD COLUMN "seed" DOUBLE PRECISION DEFAULT "jitter"();"#,
        r#"ALTER TABLE "User" ADD COLUMN "seenAt" TIMESTAMPTZ DEFAULT now();"#,
        true,
    ),
    hazard(
        Rule::RewriteByStorageChange,
        r#"ALTER TABLE "Log" SET UNLOGGED;"#,
        r#"ALTER TABLE "Log" SET (fillfactor = 70);"#,
        true,
    ),
    hazard(
        Rule::RewriteByStorageChange,
        r#"ALTER TABLE "Log" SET TABLESPACE pg_default;"#,
        r#"ALTER TABLE "Log" ALTER COLUMN "message" SET STATISTICS 200;"#,
        true,
    ),
    hazard(
        Rule::VacuumFullOrCluster,
        r#"VACUUM FULL "Log";"#,
        r#"VACUUM (FULL FALSE) "Log";"#,
        false,
    ),
    hazard(
        Rule::VacuumFullOrCluster,
        r#"CLUSTER "Post" USING "Post_authorId_idx";"#,
        r#"ANALYZE "Post";"#,
        true,
    ),
    hazard(
        Rule::ReindexNonConcurrently,
        r#"REINDEX TABLE "Post";"#,
        r#"REINDEX TABLE CONCURRENTLY "Post";"#,
        false,
    ),
    hazard(
        Rule::ReindexNonConcurrently,
        r#"REINDEX INDEX "Post_authorId_idx";"#,
        r#"REINDEX INDEX CONCURRENTLY "Post_authorId_idx";"#,
        false,
    ),
    hazard(
        Rule::ReindexNonConcurrently,
        "REINDEX SCHEMA public;",
        "REINDEX SCHEMA CONCURRENTLY public;",
        false,
    ),
    hazard(
        Rule::DetachPartitionNonConcurrently,
        r#"ALTER TABLE "Event" DETACH PARTITION "Event_2023";"#,
        r#"ALTER TABLE "Event" DETACH PARTITION "Event_2023" CONCURRENTLY;"#,
        false,
    ),
    hazard(
        Rule::AttachPartitionWithoutCheck,
        r#"ALTER TABLE "Event" ATTACH PARTITION "Event_2024" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"#,
        "ALTER TABLE \"Event_2024\" ADD CONSTRAINT \"Event_2024_bound\" CHECK (\"at\" >= DATE '2024-01-01' AND \"at\" < DATE '2025-01-01') NOT VALID;\nALTER TABLE \"Event_2024\" VALIDATE CONSTRAINT \"Event_2024_bound\";\nALTER TABLE \"Event\" ATTACH PARTITION \"Event_2024\" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        true,
    ),
    hazard(
        Rule::DropDatabase,
        r#"DROP DATABASE IF EXISTS "scratch";"#,
        r#"CREATE DATABASE "scratch";"#,
        false,
    ),
    hazard(
        Rule::AlterDomainAddConstraintWithoutNotValid,
        r#"ALTER DOMAIN "email_address" ADD CONSTRAINT "has_at" CHECK (VALUE LIKE '%@%');"#,
        r#"ALTER DOMAIN "email_address" ADD CONSTRAINT "has_at" CHECK (VALUE LIKE '%@%') NOT VALID;"#,
        true,
    ),
    hazard(
        Rule::RollbackInMigration,
        "ALTER TABLE \"User\" ADD COLUMN \"nick\" TEXT;\nROLLBACK;",
        "ALTER TABLE \"User\" ADD COLUMN \"nick\" TEXT;",
        false,
    ),
    hazard(
        Rule::TransactionLeftOpen,
        "BEGIN;\nALTER TABLE \"User\" ADD COLUMN \"nick\" TEXT;",
        "BEGIN;\nALTER TABLE \"User\" ADD COLUMN \"nick\" TEXT;\nCOMMIT;",
        false,
    ),
    hazard(
        Rule::CommitSplitsMigration,
        "SELECT 1;\nCOMMIT;",
        "SELECT 1;",
        false,
    ),
    hazard(
        Rule::MissingLockTimeout,
        r#"LOCK TABLE "User" IN SHARE MODE;"#,
        "SET lock_timeout = '2s';\nLOCK TABLE \"User\" IN SHARE MODE;",
        true,
    ),
    hazard(
        Rule::MissingStatementTimeout,
        r#"CREATE INDEX "User_email_idx" ON "User"("email");"#,
        "SET statement_timeout = '5min';\nCREATE INDEX \"User_email_idx\" ON \"User\"(\"email\");",
        true,
    ),
    hazard(
        Rule::PreferTimestamptz,
        r#"ALTER TABLE "User" ADD COLUMN "seenAt" TIMESTAMP(3);"#,
        r#"ALTER TABLE "User" ADD COLUMN "seenAt" TIMESTAMPTZ(3);"#,
        true,
    ),
    hazard(
        Rule::PreferTextOverChar,
        r#"ALTER TABLE "User" ADD COLUMN "country" CHAR(2);"#,
        r#"ALTER TABLE "User" ADD COLUMN "country" TEXT;"#,
        true,
    ),
];

/// Issue 16: every lock or data-loss hazard a peer linter catches is flagged with its rule, and
/// its safe form is not, offline and with a database holding rows (which must not talk the
/// finding down). Forms that may run in a transaction block are run too, and rolled back, so
/// each case is real PostgreSQL.
#[test]
fn peer_hazards_are_flagged_and_their_safe_forms_are_not() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", HAZARDS_INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client().batch_execute(HAZARDS_ROWS).unwrap();
    let mut client = db.client();
    for (i, h) in HAZARDS.iter().enumerate() {
        for (sql, flagged) in [(h.flagged, true), (h.safe, false)] {
            if h.in_transaction {
                client
                    .batch_execute(&format!("BEGIN;\n{sql}\nROLLBACK;"))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            let name = format!("2024010200{i:04}_{}", u8::from(flagged));
            dir.add(&name, sql);
            let scope = || Scope::pending([name.clone()]);
            let offline = engine.review(scope(), None).unwrap();
            let live = engine.review(scope(), Some(&mut client)).unwrap();
            std::fs::remove_dir_all(dir.path().join(&name)).unwrap();
            for (mode, review) in [("offline", &offline), ("with a database", &live)] {
                let found: Vec<_> = review
                    .report
                    .findings()
                    .filter(|f| f.rule == h.rule)
                    .collect();
                if flagged {
                    assert_eq!(found.len(), 1, "{mode}: {} not flagged: {sql}", h.rule);
                    assert_eq!(
                        found[0].severity,
                        h.rule.default_severity(),
                        "{mode}: {sql}: {:?}",
                        found[0].facts
                    );
                } else {
                    assert!(
                        found.is_empty(),
                        "{mode}: safe form flagged: {sql}: {found:#?}"
                    );
                }
            }
        }
    }
}

/// With a database, rewriting or rebuilding an empty table is instant: the finding becomes info,
/// saying why; with rows it keeps its severity and says how many.
#[test]
fn rewrites_of_empty_tables_are_harmless_with_a_database() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", HAZARDS_INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client().batch_execute(HAZARDS_ROWS).unwrap();
    for (table, severity, fact) in [
        ("Empty", Severity::Info, "the table is empty"),
        ("Log", Severity::Warning, "1 rows, rewritten or reindexed"),
    ] {
        for (rule, sql) in [
            (
                Rule::RewriteByStorageChange,
                format!("ALTER TABLE \"{table}\" SET UNLOGGED;"),
            ),
            (
                Rule::ReindexNonConcurrently,
                format!("REINDEX TABLE \"{table}\";"),
            ),
        ] {
            let name = "20240102000000_rewrite";
            dir.add(name, &sql);
            let review = engine
                .review(Scope::pending([name.to_owned()]), Some(&mut db.client()))
                .unwrap();
            std::fs::remove_dir_all(dir.path().join(name)).unwrap();
            let f = review
                .report
                .findings()
                .find(|f| f.rule == rule)
                .unwrap_or_else(|| panic!("{sql} not flagged"))
                .clone();
            assert_eq!(f.severity, severity, "{sql}: {:?}", f.facts);
            assert!(
                f.facts.iter().any(|x| x.contains(fact)),
                "{sql}: {:?}",
                f.facts
            );
        }
    }
}

/// A default calling a function the analyzer does not know is volatile offline, unless the
/// history declares it `IMMUTABLE` or `STABLE`; with a database, `pg_proc.provolatile` decides.
#[test]
fn unknown_default_functions_are_judged_by_pg_proc() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", HAZARDS_INIT)]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    db.client().batch_execute(HAZARDS_ROWS).unwrap();
    // Created outside the migrations: only the database knows them.
    db.client()
        .batch_execute(
            "CREATE FUNCTION db_stable() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT now() $$;\n\
             CREATE FUNCTION db_jitter() RETURNS float8 LANGUAGE sql AS $$ SELECT random() $$;",
        )
        .unwrap();
    let judged = |name: &str, sql: &str, client: Option<&mut postgres::Client>| {
        dir.add(name, sql);
        let review = engine
            .review(Scope::pending([name.to_owned()]), client)
            .unwrap();
        std::fs::remove_dir_all(dir.path().join(name)).unwrap();
        let found = review
            .report
            .findings()
            .find(|f| f.rule == Rule::AddingColumnWithVolatileDefault)
            .map(|f| (f.severity, f.facts.clone()));
        found
    };
    // The history declares "stable_now" STABLE: not flagged, even offline.
    let declared = r#"ALTER TABLE "User" ADD COLUMN "since" TIMESTAMPTZ DEFAULT "stable_now"();"#;
    assert_eq!(judged("20240102000000_declared", declared, None), None);

    let stable = r#"ALTER TABLE "User" ADD COLUMN "since" TIMESTAMPTZ DEFAULT db_stable();"#;
    let (severity, _) = judged("20240102000000_stable", stable, None).expect("flagged offline");
    assert_eq!(severity, Severity::Warning, "offline: unknown is volatile");
    let (severity, facts) =
        judged("20240102000000_stable", stable, Some(&mut db.client())).expect("kept, downgraded");
    assert_eq!(severity, Severity::Info, "{facts:?}");
    assert!(
        facts
            .iter()
            .any(|f| f.contains("db_stable() immutable or stable")),
        "{facts:?}"
    );
    let volatile = r#"ALTER TABLE "User" ADD COLUMN "seed" FLOAT8 DEFAULT db_jitter();"#;
    let (severity, facts) =
        judged("20240102000000_volatile", volatile, Some(&mut db.client())).expect("flagged");
    assert_eq!(severity, Severity::Warning, "{facts:?}");
    assert!(
        facts.iter().any(|f| f.contains("db_jitter() is volatile")),
        "{facts:?}"
    );
    let missing = r#"ALTER TABLE "User" ADD COLUMN "n" INT DEFAULT "not_there"();"#;
    let (severity, facts) =
        judged("20240102000000_missing", missing, Some(&mut db.client())).expect("flagged");
    assert_eq!(severity, Severity::Warning, "{facts:?}");
    assert!(
        facts.iter().any(|f| f.contains("not in pg_proc")),
        "{facts:?}"
    );
}

/// Every built-in rule is listed by `migrate plan --list-rules` and named in the README's rules
/// list.
#[test]
fn every_rule_is_listed_and_documented() {
    let out = migrate("postgres://unused", &["plan", "--list-rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    for rule in Rule::ALL {
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(rule.name())),
            "{rule} not in --list-rules"
        );
        assert!(readme.contains(rule.name()), "{rule} not in README.md");
    }
}
