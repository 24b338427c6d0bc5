//! Replicas deploying at once: 16 `migrate deploy` processes, and 8 threads of one service
//! calling `Engine::deploy()`, on one empty database, with trigger.dev's 71 non-transactional
//! (`CREATE INDEX CONCURRENTLY`) files among its 820 migrations.

use std::process::Child;
use std::time::Instant;

use migrate_tests::TestDb;

use super::{assert_complete, assert_ok, clean_state, history, spawn_deploy};

#[test]
fn sixteen_cli_deploys_at_once_all_succeed() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    let clean = clean_state("trigger.dev", &dir);
    let db = TestDb::new();
    let t0 = Instant::now();
    let children: Vec<Child> = (0..16).map(|_| spawn_deploy(&db, &dir)).collect();
    for (i, out) in super::outputs(children).into_iter().enumerate() {
        assert_ok(&out, &format!("deploy process {i}"));
    }
    assert_complete(&db, &dir, clean, "16 concurrent deploys");
    eprintln!(
        "corpus | 16 migrate deploy processes on trigger.dev | 16/16 exit 0 | {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn eight_threads_calling_engine_deploy_all_succeed() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    let clean = clean_state("trigger.dev", &dir);
    let db = TestDb::new();
    let url: migrate_core::DatabaseUrl = db.url.parse().unwrap();
    let t0 = Instant::now();
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let engine = migrate_core::Engine::new(url.clone(), &dir);
                s.spawn(move || {
                    engine
                        .deploy()
                        .map(|r| r.applied.len())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut applied = 0;
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(n) => applied += n,
            Err(e) => panic!("thread {i}: {e}"),
        }
    }
    assert_eq!(
        applied,
        super::migration_names(&dir).len(),
        "each migration applied by exactly one thread"
    );
    assert_complete(&db, &dir, clean, "8 Engine::deploy threads");
    eprintln!(
        "corpus | 8 threads of Engine::deploy() on trigger.dev | 8/8 Ok | {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Managed databases give no superuser: the same race as a role that only owns its database
/// (trusted extensions, no `pg_signal_backend`), four processes at once.
#[test]
fn four_cli_deploys_as_a_database_owner_without_superuser_all_succeed() {
    let Some(dir) = history("trigger.dev") else {
        return;
    };
    let clean = clean_state("trigger.dev", &dir);
    let admin = TestDb::new();
    let role = format!("owner_{}", std::process::id());
    let password = "owner-secret-7";
    let mut client = admin.client();
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'"
        ))
        .unwrap();
    let db_name = format!("{}_owned", admin.name);
    client
        .batch_execute(&format!("CREATE DATABASE {db_name} OWNER {role}"))
        .unwrap();
    let cluster = migrate_tests::cluster();
    let db = TestDb {
        name: db_name.clone(),
        url: format!(
            "postgresql://{role}:{password}@127.0.0.1:{}/{db_name}",
            cluster.port()
        ),
    };
    let children: Vec<Child> = (0..4).map(|_| spawn_deploy(&db, &dir)).collect();
    for (i, out) in super::outputs(children).into_iter().enumerate() {
        assert_ok(&out, &format!("deploy process {i} as {role}"));
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(password)
                && !String::from_utf8_lossy(&out.stderr).contains(password),
            "the password never appears in the output"
        );
    }
    assert_complete(&db, &dir, clean, "4 deploys as the database owner");
    eprintln!(
        "corpus | 4 migrate deploy processes on trigger.dev as a non-superuser owner | 4/4 exit 0"
    );
}
