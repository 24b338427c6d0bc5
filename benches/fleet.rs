//! Side-by-side fleet benchmark, in one run on one throwaway cluster: N fresh databases
//! deployed with the whole pipeline (preflight, safety gate, verified backup, apply,
//! verification) one after another, against `Fleet` with `parallel(4)`.
//!
//! The history is documenso's (`../shared/corpus/documenso/migrations`, read in place; override
//! with `MIGRATE_BENCH_DIR`). Target counts come from `MIGRATE_BENCH_TARGETS` (default `8,50`);
//! rounds alternate which side runs first; the table shows medians and the ratio.
//!
//! ```text
//! cargo bench -p migrate-benches --bench fleet
//! MIGRATE_BENCH_TARGETS=8 MIGRATE_BENCH_ROUNDS=3 cargo bench -p migrate-benches --bench fleet
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_core::embedded::EmbeddedCluster;
use migrate_core::fleet::{Fleet, Target};
use migrate_core::pipeline::{Pipeline, PipelineOptions};

const PARALLEL: usize = 4;

fn main() {
    let dir = std::env::var_os("MIGRATE_BENCH_DIR").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/documenso/migrations")
        },
        PathBuf::from,
    );
    if !dir.is_dir() {
        println!("NOTICE: benchmark skipped: {} not found", dir.display());
        return;
    }
    let counts: Vec<usize> = std::env::var("MIGRATE_BENCH_TARGETS")
        .unwrap_or_else(|_| "8,50".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rounds: usize = std::env::var("MIGRATE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let cluster = EmbeddedCluster::start().expect("starting the embedded cluster");
    let migrations = migrate_core::MigrationSource::new(&dir)
        .load()
        .expect("reading the migrations")
        .len();
    let backups = tempfile::tempdir().expect("temp dir");

    let mut rows = Vec::new();
    for &n in &counts {
        let (mut serial, mut fleet) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for side in 0..2 {
                let targets = fresh(&cluster, n);
                let options = options(backups.path());
                if (side + round) % 2 == 0 {
                    let t = one_after_another(&targets, &dir, &options);
                    eprintln!("{n} targets, one after another: {:.2}s", t.as_secs_f64());
                    serial.push(t);
                } else {
                    let t = as_fleet(targets, &dir, options);
                    eprintln!(
                        "{n} targets, fleet --parallel {PARALLEL}: {:.2}s",
                        t.as_secs_f64()
                    );
                    fleet.push(t);
                }
            }
        }
        rows.push((n, median(&mut serial), median(&mut fleet)));
    }

    println!(
        "\nFresh databases x {} ({migrations} migrations), whole pipeline per target, PostgreSQL {}, \
         {} CPU(s), median of {rounds} round(s)\n",
        dir.display(),
        cluster.server_major_version(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!("| targets | one after another | fleet --parallel {PARALLEL} | ratio | per target (fleet) |");
    println!("|---:|---:|---:|---:|---:|");
    for (n, serial, fleet) in rows {
        println!(
            "| {n} | {serial:.2} s | {fleet:.2} s | {:.2}x | {:.2} s |",
            fleet / serial,
            fleet / n as f64
        );
    }
}

fn options(backups: &Path) -> PipelineOptions {
    let mut options = PipelineOptions::default();
    options.backup_dir = backups.join(format!("{:?}", Instant::now()));
    options
}

fn fresh(cluster: &EmbeddedCluster, n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| {
            let db = cluster
                .create_database("fleet")
                .expect("creating a database");
            let url = cluster.url(&db).parse().expect("embedded URL");
            Target::new(format!("t{i}"), url)
        })
        .collect()
}

fn one_after_another(targets: &[Target], dir: &Path, options: &PipelineOptions) -> Duration {
    let t = Instant::now();
    let mut steps: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for target in targets {
        let mut options = options.clone();
        options.backup_dir = options.backup_dir.join(&target.name);
        let report = Pipeline::new(target.url.clone(), dir, options)
            .run(&mut |_| {})
            .expect("deploying");
        assert!(!report.applied.is_empty());
        for step in &report.steps {
            *steps.entry(step.step.to_string()).or_default() += step.duration_ms;
        }
    }
    let elapsed = t.elapsed();
    // Where one after another spends its time: what a fleet can overlap, and what it cannot.
    eprintln!(
        "  time by step over {} targets (ms): {steps:?}",
        targets.len()
    );
    elapsed
}

fn as_fleet(targets: Vec<Target>, dir: &Path, options: PipelineOptions) -> Duration {
    let t = Instant::now();
    let report = Fleet::new(targets, dir, options)
        .parallel(PARALLEL)
        .deploy(&|_| {})
        .expect("deploying the fleet");
    let elapsed = t.elapsed();
    assert!(report.is_success(), "{report:#?}");
    elapsed
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}
