//! Concurrency: many `migrate` processes at once on one database, `resolve` and `backup create`
//! racing `deploy`, two environments deployed in parallel. Every process's exit status is
//! asserted, and the ledger, the schema and the rows afterwards.

use std::process::{Child, Output};
use std::time::Instant;

use migrate_core::ledger::RowState;
use migrate_tests::TestDb;

use crate::common::{last_json, text, Dir};
use crate::faults::{
    applied, count, deploy_without_backup, ledger, run, spawn_deploy, tmp_backups, wait_for,
};

/// Waits for `children` (`deploy --json`), each of which must exit 0 (`what` prefixes the
/// failure message); how many migrations each applied.
fn applied_by(children: Vec<Child>, what: &str) -> Vec<usize> {
    children
        .into_iter()
        .map(|child| {
            let out = finish(child);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{what}{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
            last_json(&out.stdout)["applied"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect()
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// `n` migrations, each failing if run twice.
fn counted_migrations(dir: &Dir, n: usize) {
    for i in 0..n {
        dir.add(
            &format!("2024010100{i:04}_m{i}"),
            &format!("CREATE TABLE t{i} (id int); INSERT INTO t{i} VALUES ({i});"),
        );
    }
}

#[test]
fn sixteen_deploys_at_once_on_an_empty_database_apply_each_migration_once() {
    let db = TestDb::new();
    let dir = Dir::new();
    counted_migrations(&dir, 10);
    // One backup directory per process (each replica its own disk): processes sharing one
    // directory race on the backup's file name (see races_shared_backup_dir.rs, not compiled).
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let children: Vec<Child> = (0..16)
        .map(|i| {
            let backups = tmp.path().join(i.to_string());
            spawn_deploy(&db, &dir, &backups, &["--json", "--lock-timeout", "120"])
        })
        .collect();
    let applied_by = applied_by(children, "");
    let elapsed = t0.elapsed();
    assert_eq!(applied_by.iter().sum::<usize>(), 10, "{applied_by:?}");
    assert_eq!(
        applied_by.iter().filter(|n| **n > 0).count(),
        1,
        "one process applied everything, the others found nothing to do: {applied_by:?}"
    );
    let ledger = ledger(&db);
    assert_eq!(ledger.len(), 10);
    assert!(ledger.iter().all(|(_, s)| *s == RowState::Applied));
    for i in 0..10 {
        assert_eq!(count(&db, &format!("SELECT count(*) FROM t{i}")), 1);
    }
    eprintln!(
        "race | 16 deploys on an empty database | all exit 0, {applied_by:?} | {:.2} s",
        elapsed.as_secs_f64()
    );
}

/// Replicas started at once on a database that does not exist yet all try to create it; the
/// server refuses all but one, with 42P04 (duplicate database) or, when the catalog rows are
/// inserted at the same moment, 23505 on `pg_database`'s unique name index. Either means
/// "someone else created it": every replica goes on. Two rounds: without the second case, a
/// replica exited 2 in about two rounds out of three.
#[test]
fn six_deploys_at_once_on_a_missing_database_create_it_once_and_all_succeed() {
    let base = TestDb::new();
    let dir = Dir::new();
    counted_migrations(&dir, 3);
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let name = format!("{}_new{round}", base.name);
        let db = TestDb {
            url: base.url.replace(&base.name, &name),
            name,
        };
        let children: Vec<Child> = (0..6)
            .map(|i| {
                let backups = tmp.path().join(format!("{round}_{i}"));
                spawn_deploy(&db, &dir, &backups, &["--json", "--lock-timeout", "120"])
            })
            .collect();
        let applied_by = applied_by(children, &format!("round {round}: "));
        assert_eq!(applied_by.iter().sum::<usize>(), 3, "{applied_by:?}");
        let ledger = ledger(&db);
        assert_eq!(ledger.len(), 3, "{ledger:?}");
        assert!(ledger.iter().all(|(_, s)| *s == RowState::Applied));
        for i in 0..3 {
            assert_eq!(count(&db, &format!("SELECT count(*) FROM t{i}")), 1);
        }
    }
}

#[test]
fn resolve_applied_racing_a_deploy_waits_for_it_and_is_refused() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let (_tmp, backups) = tmp_backups();
    let dir_arg = dir.path().to_str().unwrap();
    let out = deploy_without_backup(&db, &backups, dir_arg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int); SELECT pg_sleep(2);",
    );
    dir.add(
        "20240103000000_c",
        "CREATE TABLE c (id int); INSERT INTO c VALUES (1);",
    );
    let deploy = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    // The deploy holds the lock once its first attempt is in the ledger.
    wait_for("the deploy to start the slow migration", || {
        ledger(&db).len() == 2
    });
    let t0 = Instant::now();
    let resolve = run(
        &db,
        &backups,
        &[
            "resolve",
            "--applied",
            "20240103000000_c",
            "--lock-timeout",
            "60",
            "--migrations-dir",
            dir_arg,
        ],
    );
    let waited = t0.elapsed();
    let deploy = finish(deploy);
    assert_eq!(
        deploy.status.code(),
        Some(0),
        "{}{}",
        text(&deploy.stdout),
        text(&deploy.stderr)
    );
    // The resolve waited for the lock, then found the migration applied: P3008, exit 1.
    let said = format!("{}{}", text(&resolve.stdout), text(&resolve.stderr));
    assert_eq!(resolve.status.code(), Some(1), "{said}");
    assert!(said.contains("P3008"), "{said}");
    assert!(
        waited.as_secs_f64() > 0.5,
        "it waited for the deploy: {waited:?}"
    );
    assert_eq!(
        ledger(&db),
        [
            applied("20240101000000_a"),
            applied("20240102000000_slow"),
            applied("20240103000000_c")
        ]
    );
    assert_eq!(count(&db, "SELECT count(*) FROM c"), 1, "c ran once");
    eprintln!(
        "race | resolve --applied vs deploy | deploy 0, resolve 1 (P3008) after waiting {:.2} s",
        waited.as_secs_f64()
    );
}

#[test]
fn resolve_applied_and_deploy_started_together_record_the_migration_once() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let (_tmp, backups) = tmp_backups();
    let dir_arg = dir.path().to_str().unwrap();
    let out = deploy_without_backup(&db, &backups, dir_arg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    dir.add(
        "20240102000000_b",
        "CREATE TABLE b (id int); INSERT INTO b VALUES (1);",
    );
    let deploy = spawn_deploy(&db, &dir, &backups, &["--dangerous-no-backup"]);
    let resolve = run(
        &db,
        &backups,
        &[
            "resolve",
            "--applied",
            "20240102000000_b",
            "--lock-timeout",
            "60",
            "--migrations-dir",
            dir_arg,
        ],
    );
    let deploy = finish(deploy);
    assert_eq!(
        deploy.status.code(),
        Some(0),
        "{}{}",
        text(&deploy.stdout),
        text(&deploy.stderr)
    );
    let ran = crate::common::table_exists(&db, "b");
    match resolve.status.code() {
        // The resolve won: the deploy found nothing to do, the SQL never ran.
        Some(0) => assert!(!ran, "resolved and also run"),
        // The deploy won: the resolve is refused.
        Some(1) => {
            assert!(text(&resolve.stderr).contains("P3008"));
            assert_eq!(count(&db, "SELECT count(*) FROM b"), 1);
        }
        other => panic!("resolve exited {other:?}: {}", text(&resolve.stderr)),
    }
    assert_eq!(
        ledger(&db),
        [applied("20240101000000_a"), applied("20240102000000_b")]
    );
}

#[test]
fn backup_create_racing_a_deploy_both_succeed_and_the_backup_verifies() {
    let (db, dir) = crate::backup::seeded_db();
    dir.add(
        "20240102000000_slow",
        "CREATE TABLE slow (id int);\nINSERT INTO post (author_id, title) VALUES (1, 'new');\n\
         SELECT pg_sleep(1);",
    );
    let (_tmp, backups) = tmp_backups();
    let deploy = spawn_deploy(&db, &dir, &backups, &["--json"]);
    // Its own directory: see races_shared_backup_dir.rs for the same directory.
    let (_tmp_manual, manual) = tmp_backups();
    let backup = crate::faults::command(&db, &manual, &["backup", "create", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (deploy, backup) = (finish(deploy), finish(backup));
    assert_eq!(
        deploy.status.code(),
        Some(0),
        "{}{}",
        text(&deploy.stdout),
        text(&deploy.stderr)
    );
    assert_eq!(
        backup.status.code(),
        Some(0),
        "{}{}",
        text(&backup.stdout),
        text(&backup.stderr)
    );
    let made = last_json(&backup.stdout);
    let id = made["id"].as_str().unwrap().to_owned();
    // The manual backup is a consistent snapshot: before or after the migration, never between.
    let ledger_in_backup: Vec<(String, bool)> = made["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["migration_name"].as_str().unwrap().to_owned(),
                !e["finished_at"].is_null(),
            )
        })
        .collect();
    let post_rows = made["state"]["tables"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["table"] == "post" || t["name"] == "post")
                .cloned()
        })
        .map(|t| t["rows"].clone());
    assert!(
        ledger_in_backup == [("20240101000000_init".to_owned(), true)]
            || ledger_in_backup
                == [
                    ("20240101000000_init".to_owned(), true),
                    ("20240102000000_slow".to_owned(), true)
                ],
        "{ledger_in_backup:?} (rows of post: {post_rows:?})"
    );
    for level in ["2", "3"] {
        let out = run(&db, &manual, &["backup", "verify", &id, "--level", level]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "level {level}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    assert_eq!(
        ledger(&db),
        [
            applied("20240101000000_init"),
            applied("20240102000000_slow")
        ]
    );
    assert_eq!(count(&db, "SELECT count(*) FROM post"), 2001);
    let listed = run(&db, &backups, &["backup", "list", "--json"]);
    assert_eq!(
        last_json(&listed.stdout)["backups"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the deploy's own backup"
    );
    eprintln!(
        "race | backup create vs deploy | both exit 0; manual backup saw {} migration(s)",
        ledger_in_backup.len()
    );
}

#[test]
fn two_environments_deploy_in_parallel_independently() {
    let (staging, production) = (TestDb::new(), TestDb::new());
    let dir = Dir::new();
    counted_migrations(&dir, 6);
    let (_tmp_s, backups_s) = tmp_backups();
    let (_tmp_p, backups_p) = tmp_backups();
    let children = [
        spawn_deploy(&staging, &dir, &backups_s, &["--json"]),
        spawn_deploy(&production, &dir, &backups_p, &["--json"]),
    ];
    for (db, child) in [&staging, &production].into_iter().zip(children) {
        let out = finish(child);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}{}",
            db.name,
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(
            last_json(&out.stdout)["applied"].as_array().unwrap().len(),
            6
        );
        let ledger = ledger(db);
        assert_eq!(ledger.len(), 6);
        assert!(ledger.iter().all(|(_, s)| *s == RowState::Applied));
        for i in 0..6 {
            assert_eq!(count(db, &format!("SELECT count(*) FROM t{i}")), 1);
        }
    }
    // Each environment got its own backup, of its own database.
    for (db, backups) in [(&staging, &backups_s), (&production, &backups_p)] {
        let out = run(db, backups, &["backup", "list", "--json"]);
        let listed = last_json(&out.stdout)["backups"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["database"], db.name.as_str());
    }
}
