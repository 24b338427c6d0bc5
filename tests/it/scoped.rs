//! Issue #12: scoped backups (the whole schema, the data of the tables at risk) and the
//! table-level restore that rolls back from them while every other table keeps its writes.

use std::time::Duration;

use migrate_core::health::{HealthProbe, ProbeContext, ProbeFailure};
use migrate_core::pipeline::{PipelineError, PipelineOptions};
use migrate_tests::TestDb;

use crate::common::{backup_dir, last_json, migrate, text, url, Dir};

const INIT: &str = "20240101000000_init";
const CHANGE: &str = "20240102000000_prune_posts";
const INIT_SQL: &str = "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT NULL UNIQUE);\n\
    CREATE TABLE \"Post\" (id serial PRIMARY KEY, \"userId\" int NOT NULL REFERENCES \"User\"(id), title text);\n\
    CREATE INDEX \"Post_title_idx\" ON \"Post\"(title);\n\
    CREATE TABLE \"Audit\" (id serial PRIMARY KEY, note text);\n\
    INSERT INTO \"User\" (email) VALUES ('a@x'), ('b@x');\n\
    INSERT INTO \"Post\" (\"userId\", title) VALUES (1, 'one'), (1, 'two'), (2, 'three');\n\
    INSERT INTO \"Audit\" (note) VALUES ('before');";
/// Deletes a post and changes the table, and creates a new one: only "Post" is at risk.
const CHANGE_SQL: &str = "DELETE FROM \"Post\" WHERE id = 1;\n\
    ALTER TABLE \"Post\" ADD COLUMN flag boolean;\n\
    CREATE TABLE \"New\" (id int);";

/// The application writing while the deployment is checked (after the backup), then reporting
/// the deployment unhealthy.
#[derive(Debug)]
struct WritesThenFails {
    db: String,
}

impl HealthProbe for WritesThenFails {
    fn name(&self) -> String {
        "writes then fails".to_owned()
    }

    fn check(&self, _: &ProbeContext) -> Result<(), ProbeFailure> {
        let mut client = migrate_tests::cluster().connect(&self.db).unwrap();
        client
            .batch_execute(
                "INSERT INTO \"Audit\" (id, note) VALUES (100, 'after the backup') ON CONFLICT DO NOTHING;\n\
                 INSERT INTO \"User\" (id, email) VALUES (100, 'new@x') ON CONFLICT DO NOTHING;",
            )
            .unwrap();
        Err(ProbeFailure::Other("unhealthy on purpose".to_owned()))
    }
}

fn count(db: &TestDb, table: &str) -> i64 {
    db.client()
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .unwrap()
        .get(0)
}

fn column_exists(db: &TestDb, table: &str, column: &str) -> bool {
    db.client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2)",
            &[&table, &column],
        )
        .unwrap()
        .get(0)
}

fn applied(db: &TestDb) -> Vec<String> {
    migrate_core::ledger::read_rows(&mut db.client())
        .unwrap()
        .into_iter()
        .filter(|r| r.finished_at.is_some() && r.rolled_back_at.is_none())
        .map(|r| r.migration_name)
        .collect()
}

fn options(backups: &std::path::Path) -> PipelineOptions {
    let mut options = PipelineOptions::default();
    options.backup_dir = backups.to_owned();
    options.health_window.window = Duration::ZERO;
    options
}

/// The whole loop through the library: a scoped backup covering only "Post", a failed health
/// check, the table-level restore; the writes made to "Audit" and "User" after the backup
/// survive, "Post" is back (rows, column, index, foreign key), "New" is gone.
#[test]
fn failed_health_check_restores_only_the_covered_table_and_keeps_other_writes() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = backup_dir();
    migrate_core::Engine::with_options(url(&db), dir.path(), options(&backups))
        .deploy()
        .unwrap();
    dir.add(CHANGE, CHANGE_SQL);
    let engine = migrate_core::Engine::with_options(url(&db), dir.path(), options(&backups)).probe(
        Box::new(WritesThenFails {
            db: db.name.clone(),
        }),
    );
    let mut events = Vec::new();
    let err = engine
        .pipeline()
        .run(&mut |e| events.push(serde_json::to_string(e).unwrap()))
        .unwrap_err();
    let PipelineError::Failed { report, .. } = &err else {
        panic!("expected a failed deployment, got {err}");
    };
    let rollback = report.rollback.as_ref().expect("rolled back");
    let restore = rollback.restore.as_ref().expect("by restore");
    assert_eq!(
        restore.previous_database, None,
        "table-level, not a database swap"
    );

    // The backup covered "Post" only, and says so.
    let backup = migrate_core::backup::BackupStore::new(&backups)
        .list()
        .unwrap()
        .pop()
        .unwrap();
    let scope = backup.manifest.scope.as_ref().expect("a scoped backup");
    let covered: Vec<(&str, i64)> = scope
        .covered
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(covered, [("Post", 3)]);
    assert!(scope.excluded.iter().any(|(_, t)| t == "Audit"));
    assert!(scope.excluded.iter().any(|(_, t)| t == "User"));

    // Rolled back: the deleted post is back, the added column and the created table are gone.
    assert_eq!(count(&db, "Post"), 3);
    assert!(!column_exists(&db, "Post", "flag"));
    assert!(!crate::common::table_exists(&db, "public.\"New\""));
    assert_eq!(applied(&db), [INIT]);
    // Writes made after the backup to the other tables are still there.
    assert_eq!(
        count(&db, "Audit"),
        2,
        "the write after the backup survives"
    );
    assert_eq!(count(&db, "User"), 3, "the write after the backup survives");
    // Index and foreign key of "Post" are back, and enforced.
    let index: bool = db
        .client()
        .query_one("SELECT to_regclass('\"Post_title_idx\"') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(index);
    // The sequence goes on after the restored rows.
    let next: i32 = db
        .client()
        .query_one(
            "INSERT INTO \"Post\" (\"userId\", title) VALUES (1, 'next') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(next, 4);
    let fk = db
        .client()
        .batch_execute("INSERT INTO \"Post\" (\"userId\", title) VALUES (999, 'orphan')");
    assert!(fk.is_err(), "the foreign key is enforced again");
}

/// `migrate backup create --scope pending` takes the scoped backup outside a deployment, lists
/// the covered tables with counts and digests, and passes L4 (a test restore).
#[test]
fn backup_create_scope_pending_covers_the_tables_at_risk_and_verifies_at_l4() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir.add(CHANGE, CHANGE_SQL);
    let out = migrate(
        &db.url,
        &[
            "backup",
            "create",
            "--scope",
            "pending",
            "--verify-level",
            "4",
            "--json",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let json = last_json(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{json:#}",
        text(&out.stderr)
    );
    let covered = json["scope"]["covered"].as_array().unwrap();
    assert_eq!(covered.len(), 1, "{json:#}");
    assert_eq!(covered[0]["table"], "Post");
    assert_eq!(covered[0]["rows"], 3);
    assert!(covered[0]["digest"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(json["scope"]["migrations"][0], CHANGE);
    assert_eq!(json["verification"]["passed"], true, "{json:#}");
    assert_eq!(json["verification"]["level"], 4);
}

/// `--backup scoped` with a migration the analyzer cannot bound is refused before anything
/// changes; `auto` takes a full backup and says why.
#[test]
fn unbounded_migration_scoped_is_refused_and_auto_takes_a_full_backup() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir.add(
        CHANGE,
        "DO $$ BEGIN EXECUTE 'DELETE FROM ' || quote_ident('Audit'); END $$;",
    );
    let args = |mode: &'static str| {
        vec![
            "deploy",
            "--json",
            "--backup",
            mode,
            "--dangerous-skip-safety",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ]
    };
    let out = migrate(&db.url, &args("scoped"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot cover"), "{json:#}");
    assert!(message.contains(CHANGE), "names the migration: {message}");
    assert_eq!(count(&db, "Audit"), 1, "nothing changed");
    assert_eq!(applied(&db), [INIT]);

    let out = migrate(&db.url, &args("auto"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    let backup_step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "backup")
        .unwrap()
        .to_string();
    assert!(
        backup_step.contains("full, because the analyzer cannot bound"),
        "{backup_step}"
    );
    assert_eq!(count(&db, "Audit"), 0);
}

/// `--backup full` keeps today's whole-database backup (no scope in the manifest).
#[test]
fn backup_full_takes_the_whole_database() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = backup_dir();
    let out = std::process::Command::new(crate::common::migrate_bin())
        .args([
            "deploy",
            "--json",
            "--backup",
            "full",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_BACKUP_DIR", &backups)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let backup = migrate_core::backup::BackupStore::new(&backups)
        .list()
        .unwrap()
        .pop()
        .unwrap();
    assert!(backup.manifest.scope.is_none());
    // A bad mode is a clear error that changes nothing.
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--backup",
            "partial",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("full, scoped or auto"),
        "{}",
        text(&out.stderr)
    );
}

/// Through the CLI: a Prisma enum rebuild (rename, create, retype with USING, drop) after
/// deleting the rows with the removed value, a failed health check, and the table-level restore
/// puts the enum's labels, the column and the deleted rows back.
#[test]
fn cli_rollback_of_an_enum_rebuild_restores_labels_and_rows() {
    let db = TestDb::new();
    let dir = Dir::with(&[(
        INIT,
        "CREATE TYPE \"Role\" AS ENUM ('A', 'B');\n\
         CREATE TABLE \"User\" (id serial PRIMARY KEY, role \"Role\" NOT NULL);\n\
         CREATE TABLE \"Other\" (id int);\n\
         INSERT INTO \"User\" (role) VALUES ('A'), ('B'), ('B');",
    )]);
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.path().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir.add(
        CHANGE,
        "DELETE FROM \"User\" WHERE role = 'B';\n\
         ALTER TYPE \"Role\" RENAME TO \"Role_old\";\n\
         CREATE TYPE \"Role\" AS ENUM ('A');\n\
         ALTER TABLE \"User\" ALTER COLUMN \"role\" TYPE \"Role\" USING (\"role\"::text::\"Role\");\n\
         DROP TYPE \"Role_old\";",
    );
    let out = migrate(
        &db.url,
        &[
            "deploy",
            "--json",
            "--dangerous-skip-safety",
            "--health-sql",
            "SELECT 1 => 2",
            "--health-window",
            "0",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    assert_eq!(json["rollback"]["strategy"], "restore", "{json:#}");
    assert!(json["rollback"]["restore"]["previous_database"].is_null());
    let labels: String = db
        .client()
        .query_one(
            "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum \
             WHERE enumtypid = '\"Role\"'::regtype",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(labels, "A,B");
    let b: i64 = db
        .client()
        .query_one("SELECT count(*) FROM \"User\" WHERE role = 'B'", &[])
        .unwrap()
        .get(0);
    assert_eq!(b, 2, "the deleted rows are back");
    assert_eq!(applied(&db), [INIT]);
}

/// `migrate plan` says what the backup before deploying would hold: the tables the pending
/// migrations put at risk for a bounded change, the whole database (and why) for an unbounded
/// one.
#[test]
fn plan_shows_what_the_backup_would_hold() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let path = dir.path().to_str().unwrap();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    dir.add(CHANGE, CHANGE_SQL);
    let plan_args = [
        "plan",
        "--json",
        "--no-compat-check",
        "--migrations-dir",
        path,
    ];
    let plan = last_json(&migrate(&db.url, &plan_args).stdout);
    assert_eq!(plan["backup"]["kind"], "scoped", "{plan}");
    let tables: Vec<&str> = plan["backup"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["Post"], "{plan}");
    let out = migrate(
        &db.url,
        &["plan", "--no-compat-check", "--migrations-dir", path],
    );
    assert!(
        text(&out.stdout).contains("Backup before deploying: scoped to 1 table(s) at risk"),
        "{}",
        text(&out.stdout)
    );

    dir.add(
        "20240103000000_dynamic",
        "DO $$ BEGIN EXECUTE 'DELETE FROM \"Audit\"'; END $$;",
    );
    let plan = last_json(&migrate(&db.url, &plan_args).stdout);
    assert_eq!(plan["backup"]["kind"], "full", "{plan}");
    assert!(
        plan["backup"]["full_because"]
            .as_str()
            .unwrap()
            .contains("20240103000000_dynamic"),
        "{plan}"
    );
}

/// A history that creates, in an empty database, more than tables: an enum, a domain, a
/// sequence, a (trigger) function, a view, a schema with a table of its own.
pub const FRESH: &str = "20240101000000_fresh";
pub const FRESH_SQL: &str = "CREATE TYPE \"Status\" AS ENUM ('on', 'off');\n\
    CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');\n\
    CREATE SEQUENCE ticket_seq;\n\
    CREATE TABLE \"Account\" (id serial PRIMARY KEY, email email NOT NULL, \
    status \"Status\" NOT NULL DEFAULT 'on', updated timestamptz);\n\
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated = now(); RETURN NEW; END $$;\n\
    CREATE VIEW active AS SELECT id FROM \"Account\" WHERE status = 'on';\n\
    CREATE SCHEMA reporting;\n\
    CREATE TABLE reporting.daily (day date, n int);\n\
    INSERT INTO \"Account\" (email) VALUES ('a@x');";

/// The application's objects left in `url`'s database (the ledger aside): relations, types,
/// domains, routines and schemas other than `public`.
pub fn objects_left(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate') \
             AND n.nspname NOT LIKE 'pg\\_%' AND c.relname NOT LIKE '\\_prisma\\_migrations%' \
             UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate') \
             AND n.nspname NOT LIKE 'pg\\_%' AND t.typtype IN ('e', 'd') \
             UNION ALL SELECT 'routine ' || n.nspname || '.' || p.proname FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate') \
             AND n.nspname NOT LIKE 'pg\\_%' \
             UNION ALL SELECT 'schema ' || n.nspname FROM pg_namespace n \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_migrate', 'public') \
             AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Deploys [`FRESH`] into the empty database of `url` with a failing health check and
/// `--backup <mode>`: the rollback runs, the database is empty again, and the backup step's
/// note is returned. `connect` opens a session on it (a whole-database restore ends those
/// before it).
pub fn fresh_deploy_rolled_back(
    url: &str,
    connect: impl Fn() -> postgres::Client,
    mode: &str,
) -> String {
    assert_eq!(
        objects_left(&mut connect()),
        Vec::<String>::new(),
        "empty before"
    );
    let dir = Dir::with(&[(FRESH, FRESH_SQL)]);
    let out = migrate(
        url,
        &[
            "deploy",
            "--json",
            "--backup",
            mode,
            "--health-cmd",
            "false",
            "--health-window",
            "0",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let json = last_json(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{json:#}{}", text(&out.stderr));
    assert_eq!(json["rollback"]["strategy"], "restore", "{json:#}");
    let mut client = connect();
    assert_eq!(
        objects_left(&mut client),
        Vec::<String>::new(),
        "everything the history created is gone: {json:#}"
    );
    let applied: Vec<String> = migrate_core::ledger::read_rows(&mut client)
        .map(|rows| {
            rows.into_iter()
                .filter(|r| r.finished_at.is_some() && r.rolled_back_at.is_none())
                .map(|r| r.migration_name)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(applied, Vec::<String>::new(), "{json:#}");
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "backup")
        .unwrap()
        .to_string()
}

/// `auto` into an empty database: no existing table is at risk, so the backup is the whole
/// (empty) database, and the rollback restores it whole: the enum, the function, the schema…
/// the history created are gone with the tables.
#[test]
fn auto_backup_of_a_fresh_database_is_full_and_the_rollback_leaves_it_empty() {
    let db = TestDb::new();
    let note = fresh_deploy_rolled_back(&db.url, || db.client(), "auto");
    assert!(note.contains("full: no existing table at risk"), "{note}");
}

/// `scoped` into an empty database: the scope covers no table, and the table-level restore
/// drops every object created since the backup (types, domains, sequences, functions, views,
/// schemas, not only tables), so its own fingerprint check passes.
#[test]
fn scoped_rollback_of_a_fresh_database_drops_every_object_created_since() {
    let db = TestDb::new();
    let note = fresh_deploy_rolled_back(&db.url, || db.client(), "scoped");
    assert!(note.contains("scoped: no existing table at risk"), "{note}");
}
