//! Side-by-side deploy benchmark: migrate-core against psql, in one run, on one throwaway cluster.
//!
//! Deploys a whole Prisma history (default: the trigger.dev history of `../shared/corpus`, 820
//! migrations) to an empty database with:
//! - **migrate**: `PgExecutor::deploy` (lock, ledger rows, one simple query per file);
//! - **(a) psql per file**: one `psql -1 -f migration.sql` process per migration (files holding
//!   `CONCURRENTLY` run without `-1`, which would reject them), no ledger;
//! - **(b) psql, one session**: one psql session running every file concatenated: the floor.
//!
//! Rounds alternate the order of the tools; the table shows medians and ratios.
//!
//! ```text
//! cargo bench -p migrate-benches --bench deploy            # 3 rounds
//! MIGRATE_BENCH_ROUNDS=5 MIGRATE_BENCH_DIR=path/to/migrations cargo bench -p migrate-benches
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::embedded::EmbeddedCluster;
use migrate_core::executor::MigrationExecutor;
use migrate_core::{DeployOptions, MigrationSource, Migrations, PgExecutor};

/// Deploys to the named database of the cluster and returns how long it took.
type Tool<'a> = dyn Fn(&EmbeddedCluster, &str) -> Duration + 'a;

fn main() {
    let dir = std::env::var_os("MIGRATE_BENCH_DIR").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/trigger.dev/migrations")
        },
        PathBuf::from,
    );
    if !dir.is_dir() {
        println!("NOTICE: benchmark skipped: {} not found", dir.display());
        return;
    }
    let rounds: usize = std::env::var("MIGRATE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let migrations = MigrationSource::new(&dir)
        .load()
        .expect("reading the migrations");
    let cluster = EmbeddedCluster::start().expect("starting the embedded cluster");
    let psql = cluster.bin_dir().join("psql");
    let concatenated = concatenate(&migrations);

    let tools: [(&str, &Tool); 3] = [
        ("migrate (migrate-core deploy)", &|c, db| {
            ours(c, db, &migrations)
        }),
        ("(a) psql -1 -f, one process per file", &|c, db| {
            psql_per_file(c, db, &psql, &migrations)
        }),
        ("(b) psql, one session, all files (floor)", &|c, db| {
            psql_session(c, db, &psql, concatenated.path())
        }),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            let db = cluster
                .create_database("bench")
                .expect("creating a database");
            let t = (tools[i].1)(&cluster, &db);
            times[i].push(t);
            eprintln!(
                "round {}: {:<42} {:>8.3}s",
                round + 1,
                tools[i].0,
                t.as_secs_f64()
            );
        }
    }

    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    println!(
        "\nDeploying {} migrations ({}) to an empty database, PostgreSQL {}, median of {rounds} rounds\n",
        migrations.len(),
        dir.display(),
        cluster.server_major_version()
    );
    println!("| tool | median | vs floor (b) | vs (a) |");
    println!("|---|---:|---:|---:|");
    for (i, (name, _)) in tools.iter().enumerate() {
        println!(
            "| {name} | {:.3} s | {:.2}x | {:.2}x |",
            medians[i],
            medians[i] / medians[2],
            medians[i] / medians[1]
        );
    }
}

fn ours(cluster: &EmbeddedCluster, db: &str, migrations: &Migrations) -> Duration {
    let url = cluster.url(db).parse().expect("embedded URL");
    let t = Instant::now();
    let mut executor = PgExecutor::connect(&url).expect("connecting");
    let report = executor
        .deploy(migrations, &DeployOptions::default(), &mut |_| {})
        .expect("deploying");
    let elapsed = t.elapsed();
    assert_eq!(report.applied.len(), migrations.len());
    elapsed
}

fn psql_command(cluster: &EmbeddedCluster, db: &str, psql: &Path) -> Command {
    let mut cmd = Command::new(psql);
    cmd.args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
    ])
    .args(["-p", &cluster.port().to_string(), "-d", db])
    .env("PGPASSWORD", cluster.password())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

fn run(mut cmd: Command) {
    let out = cmd.output().expect("running psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn psql_per_file(
    cluster: &EmbeddedCluster,
    db: &str,
    psql: &Path,
    migrations: &Migrations,
) -> Duration {
    let t = Instant::now();
    for m in migrations {
        let script = m.script().expect("migration.sql");
        let mut cmd = psql_command(cluster, db, psql);
        if !script.text().to_ascii_uppercase().contains("CONCURRENTLY") {
            cmd.arg("-1");
        }
        cmd.arg("-f").arg(script.path());
        run(cmd);
    }
    t.elapsed()
}

fn psql_session(cluster: &EmbeddedCluster, db: &str, psql: &Path, file: &Path) -> Duration {
    let t = Instant::now();
    let mut cmd = psql_command(cluster, db, psql);
    cmd.arg("-f").arg(file);
    run(cmd);
    t.elapsed()
}

fn concatenate(migrations: &Migrations) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for m in migrations {
        let script = m.script().expect("migration.sql");
        writeln!(file, "{}\n;", script.sql()).expect("writing");
    }
    file.flush().expect("flushing");
    file
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}
