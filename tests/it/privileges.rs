//! Issue #12: rollback with a managed database's privileges. A role that owns its database but
//! has neither superuser nor CREATEDB once deployed, failed its health check, and could not
//! restore (`permission denied to create database`), so the migration stayed applied. The
//! preflight now proves the rollback executable before anything changes.

use migrate_tests::TestDb;

use crate::common::{last_json, migrate, project, text};

const PASSWORD: &str = "owner-secret-12";

/// A database owned by a new login role without superuser (and with CREATEDB only when asked),
/// as managed PostgreSQL services hand out; the URL connects as that role.
fn owned_db(createdb: bool) -> TestDb {
    let admin = TestDb::new();
    let role = format!("own_{}", admin.name);
    let createdb = if createdb { "CREATEDB" } else { "NOCREATEDB" };
    let mut client = admin.client();
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER {createdb} NOCREATEROLE PASSWORD '{PASSWORD}'"
        ))
        .unwrap();
    let name = format!("{}_owned", admin.name);
    client
        .batch_execute(&format!("CREATE DATABASE {name} OWNER {role}"))
        .unwrap();
    TestDb {
        url: format!(
            "postgresql://{role}:{PASSWORD}@127.0.0.1:{}/{name}",
            migrate_tests::cluster().port()
        ),
        name,
    }
}

const INIT: &str = "20240101000000_init";
const ADD: &str = "20240102000000_add_column";
const INIT_SQL: &str = "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT NULL);\n\
                        INSERT INTO \"User\" (email) VALUES ('a@x'), ('b@x');";
const ADD_SQL: &str = "ALTER TABLE \"User\" ADD COLUMN nickname text;";
const FAILING_HEALTH: &[&str] = &["--health-sql", "SELECT 1 => 2", "--health-window", "0"];

/// Deploys `INIT` as the owner (report-only rollback: without CREATEDB nothing could undo it),
/// then adds `ADD` (with `down` as its down.sql when given).
fn deployed_init(db: &TestDb, down: Option<&str>) -> tempfile::TempDir {
    let root = project(&[(INIT, INIT_SQL)]);
    let dir = root.path().join("prisma/migrations");
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--no-auto-rollback",
            "--migrations-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::create_dir_all(dir.join(ADD)).unwrap();
    std::fs::write(dir.join(ADD).join("migration.sql"), ADD_SQL).unwrap();
    if let Some(down) = down {
        std::fs::write(dir.join(ADD).join("down.sql"), down).unwrap();
    }
    root
}

fn deploy(db: &TestDb, root: &tempfile::TempDir, extra: &[&str]) -> std::process::Output {
    let dir = root.path().join("prisma/migrations");
    let mut args = vec![
        "deploy",
        "--json",
        "--migrations-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    migrate(&db.url, &args)
}

fn has_nickname(db: &TestDb) -> bool {
    db.client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
             WHERE table_name = 'User' AND column_name = 'nickname')",
            &[],
        )
        .unwrap()
        .get(0)
}

fn applied(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT migration_name FROM _prisma_migrations \
             WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The reported bug: with a full backup, without CREATEDB and without down.sql no strategy can
/// undo the migration after a failed health check, so the deploy is refused before anything
/// changes, naming the privilege.
#[test]
fn owner_without_createdb_is_refused_before_anything_changes() {
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    let mut args = FAILING_HEALTH.to_vec();
    args.extend(["--backup", "full"]);
    let out = deploy(&db, &root, &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json = last_json(&out.stdout);
    let message = json["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("CREATEDB"),
        "names the privilege: {json:#}"
    );
    assert!(message.contains("restore"), "names the strategy: {message}");
    assert!(message.contains("nothing was changed"), "{message}");
    assert!(!stderr.contains(PASSWORD) && !text(&out.stdout).contains(PASSWORD));
    assert!(!has_nickname(&db), "the migration never ran");
    assert_eq!(applied(&db), [INIT]);
    assert!(!message.contains("permission denied"), "{message}");
}

/// The same role, and a down.sql: the preflight picks the strategy it can run, the failed health
/// check is undone by it.
#[test]
fn owner_without_createdb_rolls_back_by_down_sql() {
    let db = owned_db(false);
    let root = deployed_init(&db, Some("ALTER TABLE \"User\" DROP COLUMN nickname;"));
    let out = deploy(&db, &root, FAILING_HEALTH);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json = last_json(&out.stdout);
    assert_eq!(json["rollback"]["strategy"], "down_migration", "{json:#}");
    assert!(!has_nickname(&db), "rolled back");
    assert_eq!(applied(&db), [INIT]);
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM \"User\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2);
}

/// With CREATEDB the owner can restore the whole database: the failed health check is undone by
/// the restore, which runs as that role.
#[test]
fn owner_with_createdb_rolls_back_by_restore() {
    let db = owned_db(true);
    let root = deployed_init(&db, None);
    let mut args = FAILING_HEALTH.to_vec();
    args.extend(["--backup", "full"]);
    let out = deploy(&db, &root, &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json = last_json(&out.stdout);
    assert_eq!(json["rollback"]["strategy"], "restore", "{json:#}");
    assert!(
        json["rollback"]["restore"]["previous_database"].is_string(),
        "a whole-database restore: {json:#}"
    );
    assert!(!has_nickname(&db), "restored: {stderr}");
    assert_eq!(applied(&db), [INIT]);
}

/// Without CREATEDB, the default scoped backup is restored table by table, which needs only
/// the ownership of the covered table: the preflight accepts it, and the failed health check is
/// undone without CREATEDB.
#[test]
fn owner_without_createdb_rolls_back_by_table_level_restore() {
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    let dir = root.path().join("prisma/migrations");
    // Data at risk: "User" gets a column and loses a row.
    std::fs::write(
        dir.join(ADD).join("migration.sql"),
        format!("{ADD_SQL}\nDELETE FROM \"User\" WHERE email = 'b@x';"),
    )
    .unwrap();
    let out = deploy(&db, &root, FAILING_HEALTH);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json = last_json(&out.stdout);
    assert_eq!(json["rollback"]["strategy"], "restore", "{json:#}");
    assert!(
        json["rollback"]["restore"]["previous_database"].is_null(),
        "table-level: {json:#}"
    );
    assert!(!has_nickname(&db), "rolled back");
    assert_eq!(applied(&db), [INIT]);
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM \"User\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "the deleted row is back");
}

/// A covered table the role does not own: the table-level restore could not run either, so the
/// preflight refuses, naming the table and its owner.
#[test]
fn covered_table_owned_by_another_role_is_refused_naming_it() {
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    // Another role takes the table over (as a DBA might).
    let mut admin = db.client();
    admin
        .batch_execute(&format!(
            "CREATE ROLE dba_{0} NOLOGIN; ALTER TABLE \"User\" OWNER TO dba_{0}; \
             GRANT ALL ON \"User\" TO PUBLIC",
            db.name
        ))
        .unwrap();
    let out = deploy(&db, &root, FAILING_HEALTH);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ownership of table"), "{json:#}");
    assert!(message.contains("User"), "{message}");
    assert!(!has_nickname(&db));
}

/// Report-only rollback needs no privilege: the deployment goes ahead (and stays applied).
#[test]
fn owner_without_createdb_may_deploy_with_report_only_rollback() {
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    let mut args = FAILING_HEALTH.to_vec();
    args.push("--no-auto-rollback");
    let out = deploy(&db, &root, &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(has_nickname(&db), "report only: stays applied");
}

/// The library says the same as the CLI: a refusal in preflight naming CREATEDB.
#[test]
fn engine_refuses_as_owner_without_createdb() {
    use migrate_core::pipeline::{PipelineError, Step};
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    let dir = root.path().join("prisma/migrations");
    let probe = migrate_core::health::SqlProbe::new("SELECT 1", Some("2".to_owned())).unwrap();
    let mut options = migrate_core::pipeline::PipelineOptions::default();
    options.backup_dir = crate::common::backup_dir();
    options.backup_mode = migrate_core::backup::BackupMode::Full;
    let engine = migrate_core::Engine::with_options(crate::common::url(&db), &dir, options)
        .probe(Box::new(probe));
    let err = engine.pipeline().run(&mut |_| {}).unwrap_err();
    match &err {
        PipelineError::Refused { step, source, .. } => {
            assert_eq!(*step, Step::Preflight);
            assert!(source.to_string().contains("CREATEDB"), "{source}");
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert!(!has_nickname(&db));
}

/// `migrate restore` as the same role: refused up front, naming CREATEDB, the database as it
/// was (PostgreSQL alone would say `permission denied to create database` half-way).
#[test]
fn whole_database_restore_without_createdb_names_the_privilege() {
    let db = owned_db(false);
    let root = deployed_init(&db, None);
    let backups = crate::common::backup_dir();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(crate::common::migrate_bin());
        cmd.args(args)
            .env("DATABASE_URL", &db.url)
            .env("MIGRATE_BACKUP_DIR", &backups)
            .env("NO_COLOR", "1")
            .current_dir(root.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["backup", "create", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_json(&out.stdout)["id"].as_str().unwrap().to_owned();
    let out = run(&["restore", &id, "--yes"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CREATEDB"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(!stderr.contains(PASSWORD));
    assert_eq!(applied(&db), [INIT]);
    let writable: String = db
        .client()
        .query_one("SHOW default_transaction_read_only", &[])
        .unwrap()
        .get(0);
    assert_eq!(writable, "off", "never made read-only");
}

/// An owner without CREATEDB deploying into its empty database (`auto`): a full backup could
/// not be restored by it, so the backup stays scoped (it covers no table), and the table-level
/// restore the preflight promised leaves the database empty again after a failed health check.
#[test]
fn owner_without_createdb_rolls_back_a_fresh_database_by_table_level_restore() {
    let db = owned_db(false);
    let note = crate::scoped::fresh_deploy_rolled_back(&db.url, || db.client(), "auto");
    assert!(note.contains("scoped: no existing table at risk"), "{note}");
}
