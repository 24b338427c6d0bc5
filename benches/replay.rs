//! A rollback that keeps the writes made after the backup (issue #12), on a `pgbench -i`
//! database served with `wal_level = logical`:
//!
//! 1. the backup of a deployment dropping `pgbench_tellers.filler` (scoped, with its
//!    replication slot) against `pg_dump -Fc` of the whole database, the reference a team runs
//!    by hand, rounds alternating;
//! 2. that deployment through `Engine::deploy()`, failing its health check while a writer
//!    commits inserts and updates on `pgbench_tellers` before, during and after it: the
//!    automatic rollback's time (RTO), what it replayed, and that every committed write is
//!    there, the schema is the one before and no slot remains;
//! 3. the same for `pgbench_accounts.filler`: the table in scope is the big one (about 1 GB
//!    at scale 75).
//!
//! ```text
//! cargo bench -p migrate-benches --bench replay                    # scale 30, 3 rounds
//! MIGRATE_BENCH_SCALE=75 cargo bench -p migrate-benches --bench replay
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use migrate_core::backup::{BackupProvider, BackupStore, PgDumpBackup, PgDumpOptions};
use migrate_core::embedded::{EmbeddedCluster, EmbeddedOptions};
use migrate_core::health::{HealthProbe, ProbeContext, ProbeFailure};
use migrate_core::pipeline::{PipelineOptions, Step};
use migrate_core::{DatabaseUrl, Engine, Error};

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

/// Unhealthy after a while: the application keeps writing to the migrated table meanwhile.
#[derive(Debug)]
struct FailsAfter(Duration);

impl HealthProbe for FailsAfter {
    fn name(&self) -> String {
        "fails after a while".to_owned()
    }

    fn check(&self, _: &ProbeContext) -> Result<(), ProbeFailure> {
        std::thread::sleep(self.0);
        Err(ProbeFailure::Other("unhealthy on purpose".to_owned()))
    }
}

/// Commits, one small transaction at a time, an insert and an update on `table` (keyed by
/// `key`, balance `balance`), keeping what committed.
fn writer(
    cluster: &EmbeddedCluster,
    db: &str,
    table: &'static str,
    key: &'static str,
    balance: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(BTreeMap<i32, i32>, u64)> {
    let mut client = cluster.connect(db).expect("connect");
    let insert = format!("INSERT INTO {table} ({key}, bid, {balance}) VALUES ($1, 1, $2)");
    let update = format!("UPDATE {table} SET {balance} = {balance} + $2 WHERE {key} = $1");
    std::thread::spawn(move || {
        let mut written: BTreeMap<i32, i32> = BTreeMap::new();
        let mut commits = 0;
        let mut next = 10_000_000;
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let existing = 1 + (i * 7) % 10;
            let done = (|| -> Result<(), postgres::Error> {
                let mut tx = client.transaction()?;
                tx.execute(insert.as_str(), &[&next, &i])?;
                tx.execute(update.as_str(), &[&existing, &i])?;
                tx.commit()
            })();
            if done.is_ok() {
                written.insert(next, i);
                *written.entry(-existing).or_insert(0) += i;
                commits += 1;
                next += 1;
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        (written, commits)
    })
}

struct Rto {
    rollback: Duration,
    commits: u64,
    replayed: u64,
    reconcile: u64,
}

/// Deploys `migration` (dropping `table`'s filler) through the engine, failing its health
/// check after a second while a writer commits; checks what the rollback left.
fn failed_deployment(
    cluster: &EmbeddedCluster,
    db: &str,
    url: &DatabaseUrl,
    dir: &Path,
    backups: &Path,
    (table, key, balance): (&'static str, &'static str, &'static str),
) -> Rto {
    let mut client = cluster.connect(db).expect("connect");
    let schema = |client: &mut postgres::Client| {
        migrate_core::backup::DatabaseState::capture(client, db)
            .expect("state")
            .schema_fingerprint
            .sha256
    };
    let before = schema(&mut client);
    let balances = |client: &mut postgres::Client| -> BTreeMap<i32, i32> {
        client
            .query(
                &format!(
                    "SELECT {key}, {balance} FROM {table} WHERE {key} <= 10 OR {key} >= 10000000"
                ),
                &[],
            )
            .expect("read")
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let start = balances(&mut client);
    let stop = Arc::new(AtomicBool::new(false));
    let handle = writer(cluster, db, table, key, balance, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let mut options = PipelineOptions::default();
    options.backup_dir = backups.to_owned();
    options.health_window.window = Duration::ZERO;
    let engine = Engine::with_options(url.clone(), dir, options)
        .without(Step::Safety)
        .probe(Box::new(FailsAfter(Duration::from_secs(1))));
    let result = engine.deploy();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (written, commits) = handle.join().expect("writer");

    let report = match result {
        Err(Error::Pipeline(e)) => e.report().clone(),
        other => panic!("expected a failed deployment, got {other:?}"),
    };
    let rollback = report.rollback.expect("rolled back");
    let restore = rollback.restore.expect("by restore");
    let replay = restore.replay.expect("with a replay");
    // Every committed write is there: inserted rows with their values, and the updated rows'
    // balances moved by every committed delta.
    let mut expected = start.clone();
    for (k, v) in written {
        if k < 0 {
            *expected.get_mut(&-k).expect("an existing row") += v;
        } else {
            expected.insert(k, v);
        }
    }
    assert_eq!(
        balances(&mut client),
        expected,
        "every committed write is there"
    );
    assert_eq!(schema(&mut client), before, "the schema is the one before");
    let slots: i64 = client
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .expect("slots")
        .get(0);
    assert_eq!(slots, 0, "no slot remains");
    Rto {
        rollback: rollback.duration,
        commits,
        replayed: replay.changes,
        reconcile: replay.reconcile_entries(),
    }
}

fn main() {
    let scale = env_number("MIGRATE_BENCH_SCALE", 30);
    let rounds = env_number("MIGRATE_BENCH_ROUNDS", 3).max(1);
    let options = EmbeddedOptions {
        settings: vec![("wal_level".to_owned(), "logical".to_owned())],
        ..EmbeddedOptions::default()
    };
    let cluster = match EmbeddedCluster::start_with(&options) {
        Ok(c) => c,
        Err(e) => {
            println!("NOTICE: benchmark skipped: {e}");
            return;
        }
    };
    let db = cluster.create_database("replay").expect("create database");
    let url: DatabaseUrl = cluster.url(&db).parse().expect("url");
    let tmp = tempfile::tempdir().expect("tempdir");
    let pg = |program: &str| {
        let mut command = Command::new(cluster.bin_dir().join(program));
        command
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", cluster.port().to_string())
            .env("PGUSER", cluster.superuser())
            .env("PGPASSWORD", cluster.password())
            .env("PGDATABASE", &db)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let t = Instant::now();
    assert!(
        pg("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string()])
            .status()
            .expect("pgbench")
            .success(),
        "pgbench -i"
    );
    eprintln!("pgbench -i -s {scale}: {:.0} s", t.elapsed().as_secs_f64());
    let mut client = cluster.connect(&db).expect("connect");
    client
        .batch_execute(migrate_core::ledger::CREATE_TABLE_SQL)
        .expect("ledger");
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .expect("size")
        .get(0);
    let accounts: i64 = client
        .query_one("SELECT pg_total_relation_size('pgbench_accounts')", &[])
        .expect("size")
        .get(0);

    let migrations = |name: &str, sql: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(dir.join(name)).expect("mkdir");
        std::fs::write(
            dir.join("migration_lock.toml"),
            "provider = \"postgresql\"\n",
        )
        .expect("lock");
        std::fs::write(dir.join(name).join("migration.sql"), sql).expect("write");
        dir
    };
    let tellers = migrations(
        "20240101000000_drop_teller_filler",
        "ALTER TABLE pgbench_tellers DROP COLUMN filler;",
    );

    // 1. The backup against pg_dump -Fc.
    let provider = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(cluster.bin_dir().to_owned()),
        ..PgDumpOptions::default()
    });
    let mut request = Engine::new(url.clone(), &tellers)
        .pending_scope()
        .expect("scope");
    request.replay = true;
    let (mut dump_t, mut scoped_t) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let file = tmp.path().join(format!("full_{round}.dump"));
        let store = BackupStore::new(tmp.path().join(format!("scoped_{round}")));
        let mut run_dump = || {
            let t = Instant::now();
            assert!(pg("pg_dump")
                .arg("-Fc")
                .arg("-f")
                .arg(&file)
                .status()
                .expect("pg_dump")
                .success());
            dump_t.push(t.elapsed());
        };
        let mut run_scoped = || {
            let t = Instant::now();
            let backup = provider
                .backup_scoped(&url, &store, &request, &mut |_| {})
                .expect("scoped backup");
            scoped_t.push(t.elapsed());
            assert!(backup
                .manifest
                .scope
                .as_ref()
                .and_then(|s| s.replay.as_ref())
                .is_some());
            provider.release(&backup);
        };
        if round % 2 == 0 {
            run_dump();
            run_scoped();
        } else {
            run_scoped();
            run_dump();
        }
    }

    // 2. and 3. Failed deployments rolled back while a writer commits.
    let backups = tmp.path().join("backups");
    let small = failed_deployment(
        &cluster,
        &db,
        &url,
        &tellers,
        &backups,
        ("pgbench_tellers", "tid", "tbalance"),
    );
    let big_dir = migrations(
        "20240101000000_drop_account_filler",
        "ALTER TABLE pgbench_accounts DROP COLUMN filler;",
    );
    let big = failed_deployment(
        &cluster,
        &db,
        &url,
        &big_dir,
        &backups,
        ("pgbench_accounts", "aid", "abalance"),
    );

    println!();
    println!(
        "| pgbench -s {scale}, {:.0} MB, wal_level = logical (median of {rounds}) | pg_dump -Fc | migrate (scoped, with slot) | ratio |",
        size as f64 / 1e6
    );
    println!("|---|---|---|---|");
    let (a, b) = (median(dump_t), median(scoped_t));
    println!(
        "| backup before `DROP COLUMN filler` on pgbench_tellers | {:.2} s | {:.3} s | {:.3}x |",
        a.as_secs_f64(),
        b.as_secs_f64(),
        b.as_secs_f64() / a.as_secs_f64()
    );
    println!();
    println!("| failed deployment, writer committing meanwhile | table in scope | rollback (RTO) | writer commits | changes replayed | to reconcile |");
    println!("|---|---|---|---|---|---|");
    for (what, table, rto) in [
        (
            "drop pgbench_tellers.filler",
            "pgbench_tellers (small)".to_owned(),
            small,
        ),
        (
            "drop pgbench_accounts.filler",
            format!("pgbench_accounts ({:.0} MB)", accounts as f64 / 1e6),
            big,
        ),
    ] {
        println!(
            "| {what} | {table} | {:.2} s | {} | {} | {} |",
            rto.rollback.as_secs_f64(),
            rto.commits,
            rto.replayed,
            rto.reconcile
        );
    }
}
