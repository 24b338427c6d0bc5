//! Cost proportional to the data at risk (issue #12): on a `pgbench -i` database where a
//! migration changes only the small `pgbench_branches` table, a full backup and a rollback by
//! whole-database restore against a scoped backup and a table-level restore.
//!
//! ```text
//! cargo bench -p migrate-benches --bench scoped                 # scale 20, 3 rounds
//! MIGRATE_BENCH_SCALE=50 MIGRATE_BENCH_ROUNDS=1 cargo bench -p migrate-benches --bench scoped
//! ```

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::backup::{
    BackupProvider, BackupStore, PgDumpBackup, PgDumpOptions, RestoreOptions,
};
use migrate_core::embedded::EmbeddedCluster;
use migrate_core::pipeline::Step;
use migrate_core::rollback::{self, Preference, Selection};
use migrate_core::{DatabaseUrl, Engine};

const NAME: &str = "20240101000000_branches";
const MIGRATION: &str = "UPDATE pgbench_branches SET filler = 'changed';\n\
                         ALTER TABLE pgbench_branches ADD COLUMN note text;";

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let scale = env_number("MIGRATE_BENCH_SCALE", 20);
    let rounds = env_number("MIGRATE_BENCH_ROUNDS", 3).max(1);
    let cluster = match EmbeddedCluster::start() {
        Ok(c) => c,
        Err(e) => {
            println!("NOTICE: benchmark skipped: {e}");
            return;
        }
    };
    let db = cluster.create_database("scoped").expect("create database");
    let url: DatabaseUrl = cluster.url(&db).parse().expect("url");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut init = Command::new(cluster.bin_dir().join("pgbench"));
    init.args(["-i", "-q", "-s", &scale.to_string()])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.port().to_string())
        .env("PGUSER", cluster.superuser())
        .env("PGPASSWORD", cluster.password())
        .env("PGDATABASE", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    assert!(init.status().expect("pgbench").success(), "pgbench -i");
    let mut client = cluster.connect(&db).expect("connect");
    client
        .batch_execute(migrate_core::ledger::CREATE_TABLE_SQL)
        .expect("ledger");
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .expect("size")
        .get(0);

    let dir = tmp.path().join("migrations");
    std::fs::create_dir_all(dir.join(NAME)).expect("mkdir");
    std::fs::write(
        dir.join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .expect("lock");
    std::fs::write(dir.join(NAME).join("migration.sql"), MIGRATION).expect("write");
    // A new engine for each deployment: a whole-database restore ends every session.
    let engine = || {
        Engine::new(url.clone(), &dir)
            .without(Step::Backup)
            .without(Step::Safety)
    };
    let request = engine().pending_scope().expect("scope");

    let provider = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(cluster.bin_dir().to_owned()),
        ..PgDumpOptions::default()
    });
    let (mut full_t, mut scoped_t, mut whole_t, mut table_t) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut full_bytes, mut scoped_bytes) = (0, 0);
    let restore = RestoreOptions {
        keep_previous: false,
        ..RestoreOptions::default()
    };
    for round in 0..rounds {
        let full_store = BackupStore::new(tmp.path().join(format!("full_{round}")));
        let scoped_store = BackupStore::new(tmp.path().join(format!("scoped_{round}")));
        let t = Instant::now();
        let full = provider.backup(&url, &full_store).expect("full backup");
        full_t.push(t.elapsed());
        full_bytes = full.manifest.digests.bytes;
        let t = Instant::now();
        let scoped = provider
            .backup_scoped(&url, &scoped_store, &request, &mut |_| {})
            .expect("scoped backup");
        scoped_t.push(t.elapsed());
        scoped_bytes = scoped.manifest.digests.bytes;

        for (store, times) in [(&full_store, &mut whole_t), (&scoped_store, &mut table_t)] {
            let engine = engine();
            engine.deploy().expect("deploy");
            let t = Instant::now();
            let plan = rollback::plan(
                &url,
                &engine.migrations().expect("migrations"),
                &Selection::Migrations(vec![NAME.into()]),
                store,
                &provider,
                Preference::Restore,
            )
            .expect("plan");
            let outcome = rollback::execute(
                &plan,
                &url,
                &provider,
                migrate_core::ledger::LockWait::default(),
                &restore,
            )
            .expect("rollback");
            times.push(t.elapsed());
            assert_eq!(outcome.rolled_back, [NAME]);
        }
    }
    let covered: Vec<String> = provider
        .backups(&BackupStore::new(tmp.path().join("scoped_0")))
        .expect("list")
        .pop()
        .and_then(|b| b.manifest.scope)
        .map(|s| {
            s.covered
                .iter()
                .map(|t| format!("{} ({} rows)", t.table, t.rows))
                .collect()
        })
        .unwrap_or_default();
    println!();
    println!(
        "| pgbench -s {scale}, {:.0} MB; migration changes {} (median of {rounds}) | full | scoped | ratio |",
        size as f64 / 1e6,
        covered.join(", ")
    );
    println!("|---|---|---|---|");
    let row = |what: &str, a: Duration, b: Duration| {
        println!(
            "| {what} | {:.2} s | {:.2} s | {:.3}x |",
            a.as_secs_f64(),
            b.as_secs_f64(),
            b.as_secs_f64() / a.as_secs_f64()
        );
    };
    row(
        "backup (pg_dump + digests + manifest)",
        median(full_t),
        median(scoped_t),
    );
    println!(
        "| backup size | {:.1} MB | {:.3} MB | {:.4}x |",
        full_bytes as f64 / 1e6,
        scoped_bytes as f64 / 1e6,
        scoped_bytes as f64 / full_bytes as f64
    );
    row(
        "rollback (plan + whole-database restore / table-level restore)",
        median(whole_t),
        median(table_t),
    );
}
