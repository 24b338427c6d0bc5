//! Drift before deploying: the schema changed by hand since the last deployment recorded it.

use migrate_tests::TestDb;

use crate::common::{migrate, text, Dir};

const ADD: &str = "20240102000000_tag";

fn deploy(db: &TestDb, dir: &Dir, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "deploy",
        "--dangerous-no-backup",
        "--migrations-dir",
        dir.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = migrate(&db.url, &args);
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

fn applied(db: &TestDb, name: &str) -> bool {
    db.client()
        .query_one(
            "SELECT count(*) > 0 FROM _prisma_migrations WHERE migration_name = $1 \
             AND finished_at IS NOT NULL AND rolled_back_at IS NULL",
            &[&name],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_hand_made_change_is_found_before_deploying_and_refused_on_request() {
    let (db, dir) = crate::backup::seeded_db();
    db.client()
        .batch_execute(
            "ALTER TABLE author ADD COLUMN nickname text; \
             CREATE INDEX author_name_idx ON author (name);",
        )
        .unwrap();
    dir.add(ADD, "CREATE TABLE tag (id int PRIMARY KEY, label text);");
    std::fs::write(dir.path().join(ADD).join("down.sql"), "DROP TABLE tag;").unwrap();

    // `status` says so too (its exit code stays Prisma's: 1 for the pending migration).
    let out = migrate(
        &db.url,
        &[
            "status",
            "--json",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let status = crate::common::last_json(&out.stdout);
    assert_eq!(status["pending"], serde_json::json!([ADD]));
    assert_eq!(
        status["drift"]["added"].as_array().unwrap().len(),
        2,
        "{status}"
    );

    // Refused: exit 1, what changed, nothing applied.
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("the schema changed since deployment"),
        "{output}"
    );
    assert!(
        output.contains("nickname") && output.contains("author_name_idx"),
        "{output}"
    );
    assert!(!applied(&db, ADD));

    // Warned (the default): the same words, then the deployment.
    let (code, output) = deploy(&db, &dir, &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("nickname"), "{output}");
    assert!(applied(&db, ADD));

    // What a deployment leaves is what the next one expects: no warning.
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains("schema changed"), "{output}");

    // Nor after the engine's own rollback.
    let out = migrate(
        &db.url,
        &[
            "rollback",
            "--last-deployment",
            "--yes",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!applied(&db, ADD));
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains("schema changed"), "{output}");
    assert!(applied(&db, ADD));

    // A reviewed hotfix is accepted once, with nothing pending; then it is the expected schema.
    db.client()
        .batch_execute("CREATE INDEX tag_label_idx ON tag (label)")
        .unwrap();
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(1), "{output}");
    let (code, output) = deploy(&db, &dir, &["--on-drift", "accept"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("tag_label_idx") && output.contains("accepted"),
        "{output}"
    );
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(0), "{output}");
}

/// What the engine itself did is never drift: migrations applied before a failure, and
/// another ledger's schema in the same database.
#[test]
fn the_engines_own_changes_are_not_drift() {
    let (db, dir) = crate::backup::seeded_db();
    // A deployment that applies one migration, then fails on the next.
    dir.add("20240102000000_ok", "CREATE TABLE kept (id int);");
    dir.add("20240103000000_bad", "SELECT * FROM nowhere;");
    let (code, output) = deploy(&db, &dir, &[]);
    assert_eq!(code, Some(1), "{output}");
    std::fs::remove_dir_all(dir.path().join("20240103000000_bad")).unwrap();
    let out = migrate(
        &db.url,
        &[
            "resolve",
            "--rolled-back",
            "20240103000000_bad",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.status.code().is_some(), "{}", text(&out.stderr));

    // Another tenant's ledger in its own schema changes nothing here.
    let tenant_url = format!("{}?schema=tenant", db.url);
    let tenant = Dir::with(&[("20240101000000_t", "CREATE TABLE t (id int);")]);
    let out = migrate(
        &tenant_url,
        &[
            "deploy",
            "--dangerous-no-backup",
            "--migrations-dir",
            tenant.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    dir.add("20240104000000_next", "CREATE TABLE next (id int);");
    let (code, output) = deploy(&db, &dir, &["--on-drift", "refuse"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains("schema changed"), "{output}");
    assert!(applied(&db, "20240104000000_next"));
}
