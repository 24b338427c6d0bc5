//! Support library of the `migrate-tests` integration tests.
//!
//! Every test binary shares one embedded PostgreSQL cluster, started on first
//! use by [`cluster`], and each test takes a fresh database of its own with
//! [`TestDb::new`], so tests can run in parallel without seeing each other.
//! The cluster is removed when the test binary exits, however it exits.
//!
//! ```no_run
//! use migrate_tests::TestDb;
//!
//! let db = TestDb::new();
//! let mut client = db.client();
//! client.batch_execute("CREATE TABLE t (id int)").unwrap();
//! ```

pub mod fault_matrix;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use migrate_core::embedded::EmbeddedCluster;

/// The cluster of this test binary, started on first use.
///
/// # Panics
/// If the cluster cannot be started, with the reason (e.g. which package to
/// install). The failure is remembered, so every test fails fast with the
/// same message instead of retrying the start.
pub fn cluster() -> &'static EmbeddedCluster {
    static CLUSTER: OnceLock<Result<EmbeddedCluster, String>> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| EmbeddedCluster::start().map_err(|e| e.to_string()));
    match cluster {
        Ok(cluster) => cluster,
        Err(message) => panic!("could not start the embedded PostgreSQL cluster: {message}"),
    }
}

/// A fresh, empty database on the shared [`cluster`], for one test.
///
/// Databases are not dropped: they disappear with the cluster.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// The database's name, derived from the test's name where possible.
    pub name: String,
    /// A `postgresql://` URL connecting to it as the superuser.
    pub url: String,
}

impl TestDb {
    /// Creates the database.
    ///
    /// # Panics
    /// If the cluster cannot be started or the database cannot be created.
    // No `Default`: creating a database is too much of a side effect for it.
    #[allow(clippy::new_without_default)]
    pub fn new() -> TestDb {
        let cluster = cluster();
        let name = cluster
            .create_database(&name_prefix())
            .unwrap_or_else(|e| panic!("could not create a test database: {e}"));
        let url = cluster.url(&name);
        TestDb { name, url }
    }

    /// A new connection to the database, as the superuser.
    ///
    /// # Panics
    /// If the connection fails.
    pub fn client(&self) -> postgres::Client {
        cluster()
            .connect(&self.name)
            .unwrap_or_else(|e| panic!("could not connect to the test database: {e}"))
    }
}

/// What a fault must leave as a clean run would: the schema fingerprint (every schema but the
/// journal's, the ledger table included) and the exact row counts of the application's tables
/// (ledger and journal rows aside: failed attempts add rows there).
pub type AppState = (String, Vec<(String, String, i64)>);

impl TestDb {
    /// The database's [`AppState`].
    ///
    /// # Panics
    /// If the catalog or a table cannot be read.
    #[must_use]
    pub fn app_state(&self) -> AppState {
        app_state_of(&mut self.client(), &self.name)
    }
}

/// The [`AppState`] of database `name`, read on `client` (a session on it).
///
/// # Panics
/// If the catalog or a table cannot be read.
#[must_use]
pub fn app_state_of(client: &mut postgres::Client, name: &str) -> AppState {
    let state = migrate_core::backup::DatabaseState::capture(client, name).unwrap();
    let tables = state
        .tables
        .into_iter()
        .filter(|t| t.table != "_prisma_migrations" && t.schema != "_migrate")
        .map(|t| (t.schema, t.table, t.rows))
        .collect();
    (state.schema_fingerprint.sha256, tables)
}

/// A database name prefix from the current test's name (the test harness names
/// each test's thread after it), to tell databases apart when debugging:
/// `module::some_test` becomes `some_test`. Falls back to `test`.
fn name_prefix() -> String {
    let thread = std::thread::current();
    let test = thread
        .name()
        .and_then(|name| name.rsplit("::").next())
        .unwrap_or("test");
    let prefix: String = test
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        // Room for the `_<counter>_<pid>` suffix within 63 bytes.
        .take(32)
        .collect();
    if prefix.is_empty() {
        "test".to_owned()
    } else {
        prefix
    }
}

/// The `migrate` binary, built once per test run with the profile of this test binary (`dev`,
/// `release`, or a custom one such as CI's `ci`).
///
/// # Panics
/// When the build fails.
pub fn migrate_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test binary>-<hash>
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "migrate-cli", "--bin", "migrate"]);
        // `debug` is the dev profile's directory; any other is a profile of that name.
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some(profile) => {
                cmd.args(["--profile", profile]);
            }
        }
        let status = cmd
            .status()
            .expect("running cargo build for the migrate binary");
        assert!(status.success(), "cargo build -p migrate-cli failed");
        let bin = profile_dir.join("migrate");
        assert!(bin.exists(), "{} not found after building", bin.display());
        bin
    })
}

/// A second cluster of this test binary, started on first use with `pg_stat_statements`
/// preloaded (`shared_preload_libraries`), for the tests of the backward-compatibility check:
/// they read which statements a running application sent. Kept apart from [`cluster`] so that
/// the other tests run as before.
///
/// # Panics
/// As [`cluster`].
pub fn stats_cluster() -> &'static EmbeddedCluster {
    static CLUSTER: OnceLock<Result<EmbeddedCluster, String>> = OnceLock::new();
    started_with(
        &CLUSTER,
        &[
            ("shared_preload_libraries", "pg_stat_statements"),
            ("pg_stat_statements.track", "top"),
        ],
        "the pg_stat_statements cluster",
    )
}

/// The cluster in `cell`, started on first use with `settings`; a failed start is remembered
/// and every caller panics with its reason, naming `what`.
fn started_with(
    cell: &'static OnceLock<Result<EmbeddedCluster, String>>,
    settings: &[(&str, &str)],
    what: &str,
) -> &'static EmbeddedCluster {
    let cluster = cell.get_or_init(|| {
        let options = migrate_core::embedded::EmbeddedOptions {
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..migrate_core::embedded::EmbeddedOptions::default()
        };
        EmbeddedCluster::start_with(&options).map_err(|e| e.to_string())
    });
    match cluster {
        Ok(cluster) => cluster,
        Err(message) => panic!("could not start {what}: {message}"),
    }
}

/// A fresh database on [`stats_cluster`] with the `pg_stat_statements` extension created.
#[derive(Debug, Clone)]
pub struct StatsDb {
    /// The database's name.
    pub name: String,
    /// A `postgresql://` URL connecting to it as the superuser.
    pub url: String,
}

impl StatsDb {
    /// Creates the database and the extension.
    ///
    /// # Panics
    /// If the cluster cannot be started or the database cannot be created.
    #[allow(clippy::new_without_default)]
    pub fn new() -> StatsDb {
        let cluster = stats_cluster();
        let name = cluster
            .create_database(&name_prefix())
            .unwrap_or_else(|e| panic!("could not create a test database: {e}"));
        let url = cluster.url(&name);
        let db = StatsDb { name, url };
        db.client()
            .batch_execute("CREATE EXTENSION pg_stat_statements")
            .expect("CREATE EXTENSION pg_stat_statements");
        db
    }

    /// A new connection, as the superuser.
    ///
    /// # Panics
    /// If the connection fails.
    pub fn client(&self) -> postgres::Client {
        stats_cluster()
            .connect(&self.name)
            .unwrap_or_else(|e| panic!("could not connect to the test database: {e}"))
    }

    /// A new connection whose `application_name` is `app` (a version of the application).
    ///
    /// # Panics
    /// If the connection fails.
    pub fn app_client(&self, app: &str) -> postgres::Client {
        let mut config: postgres::Config = self.url.parse().expect("the cluster's URL");
        config
            .application_name(app)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("could not connect as {app}: {e}"))
    }
}

/// A third cluster of this test binary, started on first use with `wal_level = logical`, for
/// the tests of keeping the writes made after a backup (a replication slot decodes them). Kept
/// apart so that the other tests run on a default server, where no slot can be made.
///
/// # Panics
/// As [`cluster`].
pub fn logical_cluster() -> &'static EmbeddedCluster {
    static CLUSTER: OnceLock<Result<EmbeddedCluster, String>> = OnceLock::new();
    started_with(
        &CLUSTER,
        &[("wal_level", "logical"), ("max_replication_slots", "20")],
        "the wal_level = logical cluster",
    )
}

/// A fresh database on [`logical_cluster`]. One at a time: creating a replication slot waits
/// for every write transaction of the cluster to end, so a test's long rollback would hold up
/// another test's backup.
#[derive(Debug)]
pub struct LogicalDb {
    /// The database's name.
    pub name: String,
    /// A `postgresql://` URL connecting to it as the superuser.
    pub url: String,
    _alone: std::sync::MutexGuard<'static, ()>,
}

impl LogicalDb {
    /// Creates the database.
    ///
    /// # Panics
    /// If the cluster cannot be started or the database cannot be created.
    #[allow(clippy::new_without_default)]
    pub fn new() -> LogicalDb {
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cluster = logical_cluster();
        let name = cluster
            .create_database(&name_prefix())
            .unwrap_or_else(|e| panic!("could not create a test database: {e}"));
        let url = cluster.url(&name);
        LogicalDb {
            name,
            url,
            _alone: alone,
        }
    }

    /// A new connection, as the superuser.
    ///
    /// # Panics
    /// If the connection fails.
    pub fn client(&self) -> postgres::Client {
        logical_cluster()
            .connect(&self.name)
            .unwrap_or_else(|e| panic!("could not connect to the test database: {e}"))
    }

    /// The database's [`AppState`].
    ///
    /// # Panics
    /// If the catalog or a table cannot be read.
    #[must_use]
    pub fn app_state(&self) -> AppState {
        app_state_of(&mut self.client(), &self.name)
    }
}
