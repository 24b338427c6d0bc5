//! Side-by-side backup benchmark on ~1 GB (`pgbench -i -s 70`), in one run on one throwaway
//! cluster:
//! - **bare**: `pg_dump -Fc > file` (a shell redirect, no hashing, no manifest);
//! - **migrate**: `PgDumpBackup::backup` (same pg_dump, streamed through MD5 + SHA-256 into the
//!   file, plus the manifest's exact row counts and schema fingerprint in the same snapshot);
//! - peak memory (VmHWM) of this process during our backup;
//! - restore (RTO: verify L2, stop writes, load with `pg_restore -j`, check, swap) and a rollback
//!   by restore of a migration deployed after the backup.
//!
//! Rounds alternate the order of the two backups; the table shows medians.
//!
//! ```text
//! cargo bench -p migrate-benches --bench backup                 # scale 70, 3 rounds
//! MIGRATE_BENCH_SCALE=10 MIGRATE_BENCH_ROUNDS=1 cargo bench -p migrate-benches --bench backup
//! ```

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::backup::{
    BackupProvider, BackupStore, PgDumpBackup, PgDumpOptions, RestoreOptions,
};
use migrate_core::embedded::EmbeddedCluster;
use migrate_core::rollback::{self, Preference, Selection};
use migrate_core::{DatabaseUrl, Engine};

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process since the last reset, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak (VmHWM) to the current resident size.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn pg_env(cmd: &mut Command, cluster: &EmbeddedCluster, db: &str) {
    cmd.env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.port().to_string())
        .env("PGUSER", cluster.superuser())
        .env("PGPASSWORD", cluster.password())
        .env("PGDATABASE", db);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let scale = env_number("MIGRATE_BENCH_SCALE", 70);
    let rounds = env_number("MIGRATE_BENCH_ROUNDS", 3).max(1);
    let cluster = match EmbeddedCluster::start() {
        Ok(c) => c,
        Err(e) => {
            println!("NOTICE: benchmark skipped: {e}");
            return;
        }
    };
    let db = cluster.create_database("bench").expect("create database");
    let url: DatabaseUrl = cluster.url(&db).parse().expect("url");
    let tmp = tempfile::tempdir().expect("tempdir");

    let t = Instant::now();
    let mut init = Command::new(cluster.bin_dir().join("pgbench"));
    init.args(["-i", "-q", "-s", &scale.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    pg_env(&mut init, &cluster, &db);
    assert!(
        init.status().expect("pgbench").success(),
        "pgbench -i failed"
    );
    let size: i64 = cluster
        .connect(&db)
        .expect("connect")
        .query_one("SELECT pg_database_size(current_database())", &[])
        .expect("size")
        .get(0);
    println!(
        "pgbench -i -s {scale}: {:.0} MB in {:.1}s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let provider = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(cluster.bin_dir().to_owned()),
        ..PgDumpOptions::default()
    });
    let mut bare = Vec::new();
    let mut ours = Vec::new();
    let mut peak = 0;
    let mut last_backup = None;
    let mut bare_bytes = 0;
    for round in 0..rounds {
        let run_bare = |n: u32| {
            let out = tmp.path().join(format!("bare_{n}.dump"));
            let file = File::create(&out).expect("create");
            let mut cmd = Command::new(cluster.bin_dir().join("pg_dump"));
            cmd.arg("-Fc").stdout(file);
            pg_env(&mut cmd, &cluster, &db);
            let t = Instant::now();
            assert!(cmd.status().expect("pg_dump").success());
            let d = t.elapsed();
            let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            let _ = std::fs::remove_file(&out);
            (d, bytes)
        };
        let mut run_ours = || {
            let store = BackupStore::new(tmp.path().join(format!("ours_{round}")));
            reset_peak_rss();
            let t = Instant::now();
            let backup = provider.backup(&url, &store).expect("backup");
            let d = t.elapsed();
            peak = peak.max(peak_rss_kib());
            (d, backup)
        };
        if round % 2 == 0 {
            let (d, b) = run_bare(round);
            bare.push(d);
            bare_bytes = b;
            let (d, backup) = run_ours();
            ours.push(d);
            last_backup = Some(backup);
        } else {
            let (d, backup) = run_ours();
            ours.push(d);
            last_backup = Some(backup);
            let (d, b) = run_bare(round);
            bare.push(d);
            bare_bytes = b;
        }
    }
    let backup = last_backup.expect("at least one round");
    let (bare, ours) = (median(bare), median(ours));

    // Restore (RTO) of the database as it is.
    let report = provider
        .restore(
            &backup,
            &url,
            &RestoreOptions {
                keep_previous: false,
                ..RestoreOptions::default()
            },
        )
        .expect("restore");

    // Rollback by restore of a deployment made after the backup.
    let migrations = tmp.path().join("migrations");
    let name = "20240101000000_bench";
    std::fs::create_dir_all(migrations.join(name)).expect("mkdir");
    std::fs::write(
        migrations.join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .expect("lock");
    std::fs::write(
        migrations.join(name).join("migration.sql"),
        "CREATE TABLE bench_extra (id int PRIMARY KEY REFERENCES pgbench_branches(bid));",
    )
    .expect("write");
    // pgbench made no ledger: create it empty, so the backup below is "before the deployment".
    cluster
        .connect(&db)
        .expect("connect")
        .batch_execute(migrate_core::ledger::CREATE_TABLE_SQL)
        .expect("ledger");
    let store = BackupStore::new(tmp.path().join("rollback"));
    let pre = provider
        .backup(&url, &store)
        .expect("backup before the deployment");
    let engine = Engine::new(url.clone(), &migrations);
    let _deployed = engine.deploy().expect("deploy");
    let t = Instant::now();
    let plan = rollback::plan(
        &url,
        &engine.migrations().expect("migrations"),
        &Selection::Migrations(vec![name.into()]),
        &store,
        &provider,
        Preference::Restore,
    )
    .expect("plan");
    let outcome = rollback::execute(
        &plan,
        &url,
        &provider,
        migrate_core::ledger::LockWait::default(),
        &RestoreOptions {
            keep_previous: false,
            ..RestoreOptions::default()
        },
    )
    .expect("rollback");
    let rollback_time = t.elapsed();
    assert_eq!(
        plan.backup.as_ref().map(|b| b.id().to_owned()),
        Some(pre.id().to_owned())
    );
    assert_eq!(outcome.rolled_back, [name]);

    println!();
    println!(
        "| measure (pgbench -s {scale}, {:.0} MB database, median of {rounds}) | value |",
        size as f64 / 1e6
    );
    println!("|---|---|");
    println!(
        "| bare `pg_dump -Fc > file` | {:.2} s ({:.0} MB) |",
        bare.as_secs_f64(),
        bare_bytes as f64 / 1e6
    );
    println!(
        "| `migrate backup create` (pg_dump + MD5 + SHA-256 + same-snapshot counts and fingerprint) | {:.2} s ({:.0} MB) |",
        ours.as_secs_f64(),
        backup.manifest.digests.bytes as f64 / 1e6
    );
    println!(
        "| ratio | {:.3}x |",
        ours.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "| peak memory of our process during backup (VmHWM) | {:.1} MB |",
        peak as f64 / 1024.0
    );
    println!(
        "| restore, RTO (verify L2, read-only, pg_restore -j{}, check, swap) | {:.2} s |",
        RestoreOptions::default().jobs,
        report.duration.as_secs_f64()
    );
    for (phase, secs) in &report.phases {
        println!("| &nbsp;&nbsp;{phase} | {secs:.2} s |");
    }
    println!(
        "| rollback by restore (plan + restore) | {:.2} s |",
        rollback_time.as_secs_f64()
    );
}
