//! Deploying: Prisma's ledger semantics, schemas, idempotence, P3005 and baseline.

use crate::common::engine;
use migrate_core::executor::{BaselineOptions, MigrationExecutor};
use migrate_core::ledger::LedgerError;
use migrate_core::{DeployOptions, Engine, Error, Event};
use migrate_tests::TestDb;

use crate::common::{executor, rows, sha256_hex, table_exists, url, Dir};

const INIT: &str = "-- CreateTable\nCREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n    \"email\" TEXT NOT NULL,\n    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateIndex\nCREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");\n";
const POST: &str = "-- CreateTable\nCREATE TABLE \"Post\" (\"id\" SERIAL PRIMARY KEY, \"authorId\" INTEGER NOT NULL REFERENCES \"User\"(\"id\"));\n";

#[test]
fn deploy_writes_rows_exactly_like_prisma() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_init", INIT),
        ("20240102000000_add_post", POST),
    ]);
    let engine = engine(&db, dir.path());
    let before = chrono::Utc::now();
    let report = engine.deploy().unwrap();
    assert_eq!(report.applied.len(), 2);
    assert!(report.deploy.as_ref().unwrap().ledger_created);
    assert!(table_exists(&db, "public.\"Post\""));

    let rows = rows(&db);
    assert_eq!(rows.len(), 2);
    for (row, (name, sql)) in rows.iter().zip([
        ("20240101000000_init", INIT),
        ("20240102000000_add_post", POST),
    ]) {
        assert_eq!(row.migration_name, name);
        assert_eq!(row.checksum, sha256_hex(sql.as_bytes()));
        assert_eq!(row.applied_steps_count, 1);
        assert_eq!(row.logs, None, "logs is NULL on success");
        assert_eq!(row.rolled_back_at, None);
        let finished = row.finished_at.expect("finished_at set");
        assert!(
            row.started_at >= before - chrono::Duration::seconds(1) && finished >= row.started_at
        );
        let id = uuid::Uuid::parse_str(&row.id).expect("id is a uuid");
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(row.id, row.id.to_lowercase());
    }

    // The ledger DDL is Prisma's: same columns, types, nullability and defaults.
    let columns: Vec<(String, String, String, Option<String>)> = db
        .client()
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
             FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expected = [
        ("id", "character varying", "NO", None),
        ("checksum", "character varying", "NO", None),
        ("finished_at", "timestamp with time zone", "YES", None),
        ("migration_name", "character varying", "NO", None),
        ("logs", "text", "YES", None),
        ("rolled_back_at", "timestamp with time zone", "YES", None),
        (
            "started_at",
            "timestamp with time zone",
            "NO",
            Some("now()"),
        ),
        ("applied_steps_count", "integer", "NO", Some("0")),
    ];
    assert_eq!(columns.len(), expected.len());
    for (got, want) in columns.iter().zip(expected) {
        assert_eq!(
            (
                got.0.as_str(),
                got.1.as_str(),
                got.2.as_str(),
                got.3.as_deref()
            ),
            want
        );
    }

    let again = engine.deploy().unwrap();
    assert!(again.applied.is_empty(), "second deploy is a no-op");
    assert_eq!(crate::common::rows(&db).len(), 2);
    assert!(engine.status().unwrap().is_up_to_date());
}

#[test]
fn schema_parameter_holds_ledger_and_tables() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let url = format!(
        "{}?schema=tenant%20one&connection_limit=3&pool_timeout=2",
        db.url
    );
    let engine = Engine::new(url.parse().unwrap(), dir.path());
    engine.deploy().unwrap();
    assert!(table_exists(&db, "\"tenant one\"._prisma_migrations"));
    assert!(table_exists(&db, "\"tenant one\".\"User\""));
    assert!(!table_exists(&db, "public._prisma_migrations"));
    assert!(engine.status().unwrap().is_up_to_date());
}

#[test]
fn creates_a_missing_database_like_prisma() {
    let db = TestDb::new();
    let url = url(&db).with_database(&format!("{}_new", db.name));
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let report = Engine::new(url, dir.path()).deploy().unwrap();
    assert_eq!(report.applied.len(), 1);
}

#[test]
fn non_empty_database_is_refused_then_baselined() {
    let db = TestDb::new();
    db.client().batch_execute(INIT).unwrap();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    let engine = engine(&db, dir.path());

    let err = engine.deploy().unwrap_err();
    assert!(
        matches!(&err, Error::Ledger(LedgerError::NotEmpty { tables, .. }) if tables.contains("User")),
        "{err}"
    );
    assert!(err.to_string().contains("P3005") && err.to_string().contains("baseline"));
    assert!(
        !table_exists(&db, "_prisma_migrations"),
        "nothing was written"
    );

    let marked = engine.baseline(&BaselineOptions::default()).unwrap();
    assert_eq!(marked, ["20240101000000_init"]);
    let row = &rows(&db)[0];
    assert_eq!(
        (row.logs.as_deref(), row.applied_steps_count),
        (Some(""), 0)
    );
    assert_eq!(row.finished_at, Some(row.started_at));

    dir.add("20240102000000_add_post", POST);
    let report = engine.deploy().unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0], "20240102000000_add_post");
}

#[test]
fn postgis_tables_do_not_make_a_database_non_empty() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE spatial_ref_sys (srid int)")
        .unwrap();
    let dir = Dir::with(&[("20240101000000_init", INIT)]);
    assert_eq!(engine(&db, dir.path()).deploy().unwrap().applied.len(), 1);
}

#[test]
fn crlf_and_bom_files_are_hashed_raw_and_compared_tolerantly() {
    let db = TestDb::new();
    let crlf = INIT.replace('\n', "\r\n");
    let bom = format!("\u{feff}{POST}");
    let dir = Dir::with(&[
        ("20240101000000_init", &crlf),
        ("20240102000000_add_post", &bom),
    ]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    let rows = rows(&db);
    assert_eq!(rows[0].checksum, sha256_hex(crlf.as_bytes()));
    assert_eq!(rows[1].checksum, sha256_hex(bom.as_bytes()));

    // Converting the checkout to LF (git autocrlf) is not a modification.
    dir.add("20240101000000_init", INIT);
    let status = engine.status().unwrap();
    assert!(
        status.modified.is_empty() && status.is_up_to_date(),
        "{status:?}"
    );
}

#[test]
fn modified_and_missing_migrations_stop_deploy_unless_accepted() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_init", INIT),
        ("20240102000000_add_post", POST),
    ]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();

    dir.add("20240101000000_init", &format!("{INIT}\n-- edited\n"));
    dir.add("20240103000000_third", "CREATE TABLE third (id int);");
    let err = engine.deploy().unwrap_err().to_string();
    assert!(
        err.contains("changed on disk") && err.contains("20240101000000_init"),
        "{err}"
    );
    assert!(
        !table_exists(&db, "third"),
        "refused before applying anything"
    );
    let status = engine.status().unwrap();
    assert_eq!(status.modified, ["20240101000000_init"]);
    assert!(!status.is_up_to_date());

    let mut warnings = Vec::new();
    let options = DeployOptions::default().accept_modified(true);
    let modified = crate::common::engine(&db, dir.path()).with_deploy_options(options);
    let report = modified
        .deploy_with(&mut |e| {
            if let Event::Warning { migration, .. } = e {
                warnings.push(migration.clone().unwrap_or_default());
            }
        })
        .unwrap();
    assert!(table_exists(&db, "third"));
    assert_eq!(warnings, ["20240101000000_init"]);
    // The verification says what status says: the accepted file differs from what was applied.
    let checks = &report.verification.as_ref().unwrap().checks;
    let unchanged = checks
        .iter()
        .find(|c| c.name == "applied files unchanged")
        .unwrap();
    assert!(!unchanged.passed && unchanged.warning, "{unchanged:?}");
    assert!(
        unchanged.detail.contains("20240101000000_init"),
        "{unchanged:?}"
    );
    let checksums = checks.iter().find(|c| c.name == "checksums").unwrap();
    assert!(
        checksums.passed && checksums.detail.contains("the 1 migration(s) applied now"),
        "{checksums:?}"
    );

    std::fs::remove_dir_all(dir.path().join("20240102000000_add_post")).unwrap();
    dir.add("20240101000000_init", INIT);
    dir.add("20240104000000_fourth", "CREATE TABLE fourth (id int);");
    let err = engine.deploy().unwrap_err().to_string();
    assert!(
        err.contains("missing from the migrations directory")
            && err.contains("20240102000000_add_post"),
        "{err}"
    );
    assert_eq!(
        engine.status().unwrap().missing_locally,
        ["20240102000000_add_post"]
    );
    let options = DeployOptions::default().accept_missing_locally(true);
    crate::common::engine(&db, dir.path())
        .with_deploy_options(options)
        .deploy()
        .unwrap();
    assert!(table_exists(&db, "fourth"));
}

#[test]
fn concurrently_alone_works_and_mixed_is_refused_before_running() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_init", INIT),
        (
            "20240102000000_index",
            "-- CreateIndex\nCREATE INDEX CONCURRENTLY \"User_id_idx\" ON \"User\"(\"id\");\n",
        ),
    ]);
    let engine = engine(&db, dir.path());
    engine.deploy().unwrap();
    assert!(table_exists(&db, "\"User_id_idx\""));

    dir.add(
        "20240103000000_mixed",
        "CREATE TABLE t (id int);\nDROP INDEX CONCURRENTLY \"User_id_idx\";\n",
    );
    let err = engine.deploy().unwrap_err().to_string();
    assert!(
        err.contains("migration.sql:2:1") && err.contains("DROP INDEX CONCURRENTLY"),
        "{err}"
    );
    assert_eq!(
        rows(&db).len(),
        2,
        "no row written for the refused migration"
    );
    assert!(!table_exists(&db, "t"));
}

#[test]
fn a_commit_inside_a_file_is_reported_before_running() {
    let db = TestDb::new();
    let sql = "CREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\nCREATE TABLE c (id int);\n";
    let dir = Dir::with(&[("20240101000000_split", sql)]);
    let mut executor = executor(&db);
    let migrations = migrate_core::MigrationSource::new(dir.path())
        .load()
        .unwrap();
    let plan = executor
        .plan(&migrations, &DeployOptions::default())
        .unwrap();
    assert!(plan.migrations[0].shape.splits_atomicity());
    let mut events = Vec::new();
    executor
        .deploy(&migrations, &DeployOptions::default(), &mut |e| {
            events.push(e.clone())
        })
        .unwrap();
    let warning_pos = events
        .iter()
        .position(|e| matches!(e, Event::Warning { message, .. } if message.contains("line 4")));
    let started_pos = events
        .iter()
        .position(|e| matches!(e, Event::MigrationStarted { .. }));
    assert!(warning_pos.unwrap() < started_pos.unwrap(), "{events:?}");
}
