//! Side-by-side analysis benchmark: `migrate plan` against squawk, in one run, on the same files.
//!
//! For each history of `../shared/corpus`, both tools analyse every `migration.sql` as separate
//! processes (`migrate plan --offline --format json` vs `squawk --reporter json FILES…`), the
//! order alternating per round; the table shows medians and the ratio.
//!
//! ```text
//! pip install squawk-cli
//! cargo bench -p migrate-benches --bench analyze
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let corpus = std::env::var_os("MIGRATE_CORPUS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    );
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        println!("NOTICE: benchmark skipped: {} not found", corpus.display());
        return;
    };
    let squawk = which("squawk");
    if squawk.is_none() {
        println!("NOTICE: squawk not found (pip install squawk-cli): only migrate is timed");
    }
    let migrate = build_migrate();
    let rounds = 11;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path().join("migrations")))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let (mut total_ours, mut total_theirs) = (0.0, 0.0);

    println!("| history | files | migrate | squawk | migrate / squawk |");
    println!("|---|---:|---:|---:|---:|");
    for dir in &dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path().join("migration.sql")))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let run_ours = |times: &mut Vec<Duration>| {
                let mut cmd = Command::new(&migrate);
                cmd.args(["plan", "--offline", "--format", "json", "--migrations-dir"])
                    .arg(dir);
                times.push(time(cmd));
            };
            let run_theirs = |times: &mut Vec<Duration>| {
                if let Some(squawk) = &squawk {
                    let mut cmd = Command::new(squawk);
                    cmd.args(["--reporter", "json"]).args(&files);
                    times.push(time(cmd));
                }
            };
            if round % 2 == 0 {
                run_ours(&mut ours);
                run_theirs(&mut theirs);
            } else {
                run_theirs(&mut theirs);
                run_ours(&mut ours);
            }
        }
        let name = dir
            .parent()
            .and_then(Path::file_name)
            .unwrap_or_default()
            .to_string_lossy();
        let m = median(&mut ours).expect("migrate ran");
        let s = median(&mut theirs);
        total_ours += m;
        total_theirs += s.unwrap_or(0.0);
        let ratio = s.map_or("n/a".to_owned(), |s| format!("{:.2}x", m / s));
        let s = s.map_or("n/a".to_owned(), |s| format!("{s:.3} s"));
        println!("| {name} | {} | {m:.3} s | {s} | {ratio} |", files.len());
    }
    if squawk.is_some() {
        let files: usize = dirs.iter().map(|d| count_files(d)).sum();
        println!(
            "| **corpus** | {files} | {total_ours:.3} s | {total_theirs:.3} s | **{:.2}x** |",
            total_ours / total_theirs
        );
    }
    println!("\nmedian of {rounds} rounds; both tools exit 1 because they find issues");
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("migration.sql").is_file())
                .count()
        })
        .unwrap_or(0)
}

fn time(mut cmd: Command) -> Duration {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let t = Instant::now();
    let status = cmd.status().expect("running the analyzer");
    let elapsed = t.elapsed();
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{cmd:?} failed: {status}"
    );
    elapsed
}

fn median(times: &mut [Duration]) -> Option<f64> {
    if times.is_empty() {
        return None;
    }
    times.sort();
    Some(times[times.len() / 2].as_secs_f64())
}

/// `$SQUAWK`, else the program on PATH. pyenv shims are skipped (they add a shell and a Python
/// start to every run, which would be unfair to squawk): the real binary is looked up instead.
fn which(program: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SQUAWK") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .filter(|dir| !dir.ends_with("shims"))
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let out = Command::new("pyenv")
            .args(["which", program])
            .output()
            .ok()?;
        let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        (out.status.success() && path.is_file()).then_some(path)
    })
}

/// The release `migrate` binary (built now, like the benchmark itself).
fn build_migrate() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "migrate-cli",
            "--bin",
            "migrate",
        ])
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building migrate failed");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/migrate")
}
