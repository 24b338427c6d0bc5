//! The real histories of `../shared/corpus`, deployed as users deploy them: through the `migrate`
//! CLI (or `Engine::deploy`) with its defaults, safety gate and backup included.
//!
//! - every history deploys into a fresh database without any approval, and the rest of
//!   trigger.dev deploys without approval after a partial deploy;
//! - 16 `migrate deploy` processes, and 8 threads calling `Engine::deploy()`, at once;
//! - SIGKILL at four moments and inside a `CREATE INDEX CONCURRENTLY` build, the session
//!   terminated, the server crashed: each followed by one immediate rerun.
//!
//! Each ends with every migration applied once, no failed row, and the schema and row counts
//! equal to a clean deploy's. These tests are slow (minutes): `.ci/run` runs this binary after
//! the workspace tests. Without the corpus they say so and pass.

mod faults;
mod histories;
mod replicas;
mod scope;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use migrate_core::ledger::{self, RowState};
use migrate_tests::{migrate_bin, AppState, TestDb};

/// `../shared/corpus`, or `MIGRATE_CORPUS_DIR`.
fn corpus_root() -> PathBuf {
    std::env::var_os("MIGRATE_CORPUS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    )
}

/// The `migrations` directory of a corpus project, or `None` (with a notice) without a corpus.
fn history(project: &str) -> Option<PathBuf> {
    let dir = corpus_root().join(project).join("migrations");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("NOTICE: {} not found: test skipped", dir.display());
        None
    }
}

/// Every corpus history, sorted.
fn histories() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(corpus_root()) else {
        eprintln!(
            "NOTICE: {} not found: test skipped",
            corpus_root().display()
        );
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path().join("migrations")))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The migration directories of `dir`, in order.
fn migration_names(dir: &Path) -> Vec<String> {
    migrate_core::MigrationSource::new(dir)
        .load()
        .unwrap()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// `migrate ARGS` on `db`, with defaults (a backup directory of its own, no terminal).
/// A migrations directory in `to` holding the migrations `names` of `dir`: the lock file, and
/// real directories of links to the files. The corpus is never copied, and a linked directory
/// would not do: like Prisma (`isDirectory()` of a `readdir` entry), the loader skips it.
fn link_migrations(dir: &Path, to: &Path, names: &[String]) {
    std::fs::copy(
        dir.join("migration_lock.toml"),
        to.join("migration_lock.toml"),
    )
    .unwrap();
    for name in names {
        std::fs::create_dir(to.join(name)).unwrap();
        for file in std::fs::read_dir(dir.join(name)).unwrap() {
            let file = file.unwrap();
            std::os::unix::fs::symlink(file.path(), to.join(name).join(file.file_name())).unwrap();
        }
    }
}

fn migrate(db: &TestDb, args: &[&str]) -> Command {
    migrate_url(&db.url, args)
}

/// `migrate ARGS` with `DATABASE_URL=url`, its backups out of the repository, no terminal.
fn migrate_url(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(migrate_bin());
    cmd.args(args)
        .env("DATABASE_URL", url)
        .env("MIGRATE_BACKUP_DIR", backup_dir())
        .env("NO_COLOR", "1")
        .env_remove("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// `migrate deploy --migrations-dir DIR`, waited for.
fn deploy(db: &TestDb, dir: &Path) -> Output {
    migrate(db, &["deploy", "--migrations-dir", dir.to_str().unwrap()])
        .output()
        .unwrap()
}

/// `migrate deploy --migrations-dir DIR` in the background.
fn spawn_deploy(db: &TestDb, dir: &Path) -> Child {
    migrate(db, &["deploy", "--migrations-dir", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for every child, reading their pipes at the same time: read one after the other, a
/// later child blocks on a full pipe (64 kB) while holding the migration lock, and the one being
/// read times out waiting for it.
fn outputs(children: Vec<Child>) -> Vec<Output> {
    std::thread::scope(|s| {
        let waiting: Vec<_> = children
            .into_iter()
            .map(|child| s.spawn(move || child.wait_with_output().unwrap()))
            .collect();
        waiting.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn backup_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("corpus-backups-{}", std::process::id()))
        .join(N.fetch_add(1, Ordering::Relaxed).to_string())
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts a run exited 0, showing its output otherwise.
fn assert_ok(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", text(out));
}

/// Asserts that `db` holds every migration of `dir` exactly once, applied, with no failed or
/// rolled-back row left unresolved, and the application state of a clean deploy.
fn assert_complete(db: &TestDb, dir: &Path, clean: &AppState, what: &str) {
    let names = migration_names(dir);
    let rows = ledger::read_rows(&mut db.client()).unwrap();
    for name in &names {
        let applied = rows
            .iter()
            .filter(|r| &r.migration_name == name && r.state() == RowState::Applied)
            .count();
        assert_eq!(applied, 1, "{what}: {name} applied {applied} times");
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.state() == RowState::Failed)
        .map(|r| r.migration_name.as_str())
        .collect();
    assert!(failed.is_empty(), "{what}: failed rows {failed:?}");
    assert!(
        db.app_state() == *clean,
        "{what}: the schema or row counts differ from a clean deploy's"
    );
}

/// The application state after a clean CLI deploy of `project`, computed once per run.
fn clean_state(project: &'static str, dir: &Path) -> &'static AppState {
    static STATES: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static AppState)>>> =
        OnceLock::new();
    let states = STATES.get_or_init(Default::default);
    let mut states = states.lock().unwrap();
    if let Some((_, state)) = states.iter().find(|(p, _)| *p == project) {
        return state;
    }
    let db = TestDb::new();
    assert_ok(&deploy(&db, dir), "clean deploy");
    let state: &'static AppState = Box::leak(Box::new(db.app_state()));
    states.push((project, state));
    state
}

/// Waits up to `limit` for `cond`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
