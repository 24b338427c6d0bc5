//! The embedded cluster: a throwaway PostgreSQL server in a temporary directory.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use super::binaries::{check_bin_dir, find_bin_dir, server_major_version};
use super::error::{error_chain, EmbeddedError};
use super::names::{quote_identifier, unique_database_name, url_component};
use super::os_user::{give, run_as, OsUser};
use super::reaper::Reaper;
use super::{password, process, settings};

/// The superuser created by `initdb`.
const SUPERUSER: &str = "postgres";

/// Attempts at starting the server when its port was taken in the meantime.
const START_ATTEMPTS: u32 = 5;

/// Cluster locales in order of preference: C.UTF-8 sorts bytewise like C
/// (stable, fast) but knows Unicode character classes; not every system has it.
const LOCALES: [&str; 2] = ["C.UTF-8", "C"];

/// Lines of the server log quoted in startup errors.
const LOG_TAIL_LINES: usize = 20;

/// Longest Unix socket path (`sun_path` is 108 bytes including the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The longest path below the temporary directory's parent, for the length check.
const LONGEST_SOCKET_SUFFIX: &str = "/migrate-pg-XXXXXX/sock/.s.PGSQL.65535";

/// How to start an [`EmbeddedCluster`].
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Directory holding `initdb`, `pg_ctl` and `postgres`; `None` searches
    /// as [`find_bin_dir`] does.
    pub bin_dir: Option<PathBuf>,
    /// Extra server settings as (name, value), e.g. `("work_mem", "64MB")`.
    /// They are applied after, and so override, the embedded defaults.
    pub settings: Vec<(String, String)>,
    /// How long to wait for the server to accept connections.
    pub startup_timeout: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            bin_dir: None,
            settings: Vec::new(),
            startup_timeout: Duration::from_secs(60),
        }
    }
}

/// A throwaway PostgreSQL cluster started from the installed server binaries.
///
/// It listens on a free port of 127.0.0.1 only, with password authentication
/// for the superuser `postgres`, and trades durability for speed
/// (`fsync=off`). When running as root, the server runs as the `postgres` (or
/// else `nobody`) OS user, as PostgreSQL refuses to run as root.
///
/// Dropping the cluster stops the server (immediate shutdown) and deletes its
/// directory; so does the death of the process, even by SIGKILL, as a helper
/// process watches for it. A cluster kept in a `static` is therefore cleaned
/// up too.
pub struct EmbeddedCluster {
    tools: Tools,
    port: u16,
    password: String,
    server_major_version: u32,
    startup_timeout: Duration,
    /// Dropping it stops the server and removes the directory.
    reaper: Reaper,
}

impl EmbeddedCluster {
    /// Starts a cluster with [`EmbeddedOptions::default`].
    ///
    /// # Errors
    /// See [`EmbeddedCluster::start_with`].
    pub fn start() -> Result<Self, EmbeddedError> {
        Self::start_with(&EmbeddedOptions::default())
    }

    /// Starts a cluster: creates its directory, runs `initdb` and starts the
    /// server on a free port.
    ///
    /// # Errors
    /// When no server binaries are found (the error names what to install),
    /// a setting is invalid, a tool fails (with its output), or the server
    /// does not start (with the end of its log).
    pub fn start_with(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin_dir = match &options.bin_dir {
            Some(dir) => check_bin_dir(dir).map(|()| dir.clone())?,
            None => find_bin_dir()?,
        };
        // Absolute, because the tools run in the cluster directory.
        let bin_dir =
            fs::canonicalize(&bin_dir).map_err(|e| EmbeddedError::io("resolve", &bin_dir, e))?;
        settings::validate(&options.settings)?;
        let server_major_version = server_major_version(&bin_dir)?;
        let user = OsUser::for_server()?;
        let (layout, reaper) = Layout::create(user.as_ref())?;
        let tools = Tools {
            bin_dir,
            user,
            layout,
        };
        let password = password::generate();
        tools.initdb(&password, &LOCALES)?;
        tools.configure(&options.settings)?;
        let port = tools.start_on_free_port(options.startup_timeout)?;
        log::info!(
            "embedded postgresql {server_major_version} listening on 127.0.0.1:{port}, data in {}",
            tools.layout.data_dir.display()
        );
        Ok(Self {
            tools,
            port,
            password,
            server_major_version,
            startup_timeout: options.startup_timeout,
            reaper,
        })
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.tools.layout.socket_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.tools.layout.data_dir
    }

    /// The directory of the server binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.tools.bin_dir
    }

    /// The server's major version, e.g. 15.
    pub fn server_major_version(&self) -> u32 {
        self.server_major_version
    }

    /// The superuser's name: `postgres`.
    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    /// The superuser's password (random, per cluster).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A connection URL for `database` as the superuser:
    /// `postgresql://postgres:PASSWORD@127.0.0.1:PORT/DATABASE`, components percent-encoded.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{}:{}@127.0.0.1:{}/{}",
            url_component(SUPERUSER),
            url_component(&self.password),
            self.port,
            url_component(database)
        )
    }

    /// Creates a new, empty database from `template0` and returns its name,
    /// `<prefix>_<counter>_<pid>`, unique within the cluster.
    ///
    /// # Errors
    /// [`EmbeddedError::InvalidName`] unless `prefix` is non-empty `[a-z0-9_]`
    /// and short enough; connection or statement failures otherwise.
    pub fn create_database(&self, prefix: &str) -> Result<String, EmbeddedError> {
        let name = unique_database_name(prefix)?;
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_identifier(&name)
        );
        self.connect("postgres")?
            .batch_execute(&sql)
            .map_err(|source| EmbeddedError::Query {
                action: format!("create database {name}"),
                port: self.port,
                detail: error_chain(&source),
                source,
            })?;
        log::debug!("created database {name} on port {}", self.port);
        Ok(name)
    }

    /// Connects to `database` as the superuser, over TCP without TLS.
    ///
    /// # Errors
    /// [`EmbeddedError::Connect`] with the server's message.
    pub fn connect(&self, database: &str) -> Result<postgres::Client, EmbeddedError> {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .password(&self.password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(10))
            .connect(postgres::NoTls)
            .map_err(|source| EmbeddedError::Connect {
                database: database.to_owned(),
                port: self.port,
                detail: error_chain(&source),
                source,
            })
    }

    /// Stops the server (fast shutdown, which rolls back open transactions and
    /// disconnects clients) and removes the cluster directory, reporting
    /// failures that dropping would only log.
    ///
    /// # Errors
    /// When `pg_ctl stop` fails or the directory cannot be removed; cleanup is
    /// attempted in either case.
    pub fn stop(mut self) -> Result<(), EmbeddedError> {
        let stopped = self.tools.stop("fast");
        let cleaned = self.reaper.finish();
        stopped.and(cleaned)
    }

    /// Crashes the server on purpose (`pg_ctl stop -m immediate`: no
    /// checkpoint, clients cut off) and starts it again on the same port, so
    /// that it goes through crash recovery. For fault-injection tests; it
    /// disrupts every user of the cluster, so such tests want their own cluster.
    ///
    /// # Errors
    /// When stopping fails or the server does not come back (with its log).
    pub fn restart_immediate(&self) -> Result<(), EmbeddedError> {
        self.tools.stop("immediate")?;
        let mut attempt = 1;
        loop {
            match self.tools.start(self.port, self.startup_timeout) {
                // The port is ours, but something may grab it while we are down.
                Err(e) if attempt < START_ATTEMPTS && is_address_in_use(&e) => {
                    log::debug!("port {} busy after restart, retrying", self.port);
                    thread::sleep(Duration::from_millis(200) * attempt);
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// Omits the password.
impl fmt::Debug for EmbeddedCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedCluster")
            .field("port", &self.port)
            .field("data_dir", &self.tools.layout.data_dir)
            .field("bin_dir", &self.tools.bin_dir)
            .field("server_major_version", &self.server_major_version)
            .field("os_user", &self.tools.user.as_ref().map(|user| &user.name))
            .finish_non_exhaustive()
    }
}

/// The paths of a cluster, all inside one temporary directory.
#[derive(Debug)]
struct Layout {
    dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
}

impl Layout {
    /// Creates the cluster directory, owned by `user`, and its reaper, which
    /// from then on is responsible for deleting it.
    fn create(user: Option<&OsUser>) -> Result<(Self, Reaper), EmbeddedError> {
        let base = temp_base(user.is_some());
        let temp = tempfile::Builder::new()
            .prefix("migrate-pg-")
            .tempdir_in(&base)
            .map_err(|e| EmbeddedError::io("create a temporary directory in", &base, e))?;
        // Canonical, because the reaper compares the data directory with the
        // server's working directory.
        let dir = fs::canonicalize(temp.path())
            .map_err(|e| EmbeddedError::io("resolve", temp.path(), e))?;
        let layout = Self {
            data_dir: dir.join("data"),
            socket_dir: dir.join("sock"),
            log_file: dir.join("server.log"),
            dir,
        };
        let reaper = Reaper::spawn(&layout.dir, &layout.data_dir)?;
        // From here on the reaper, not `TempDir`, deletes the directory: it
        // must also happen when our process dies without unwinding.
        let _ = temp.keep();
        give(&layout.dir, user)?;
        fs::create_dir(&layout.socket_dir)
            .map_err(|e| EmbeddedError::io("create directory", &layout.socket_dir, e))?;
        give(&layout.socket_dir, user)?;
        Ok((layout, reaper))
    }
}

/// The system temporary directory, unless the socket path would not fit in
/// it, or (when the server runs as another user) that user cannot reach it:
/// then `/tmp`.
fn temp_base(other_user: bool) -> PathBuf {
    let base = std::env::temp_dir();
    let base = fs::canonicalize(&base).unwrap_or(base);
    let fits = base.as_os_str().len() + LONGEST_SOCKET_SUFFIX.len() <= MAX_SOCKET_PATH;
    if fits && (!other_user || others_can_traverse(&base)) {
        base
    } else {
        PathBuf::from("/tmp")
    }
}

/// Whether every directory from `/` to `dir` is searchable by other users.
fn others_can_traverse(dir: &Path) -> bool {
    dir.ancestors().all(|ancestor| {
        fs::metadata(ancestor).is_ok_and(|meta| meta.permissions().mode() & 0o001 != 0)
    })
}

/// Runs the PostgreSQL tools on one cluster.
#[derive(Debug)]
struct Tools {
    bin_dir: PathBuf,
    /// `Some` when running as root: the user the tools and server run as.
    user: Option<OsUser>,
    layout: Layout,
}

impl Tools {
    /// A command for `tool`, run as the server's user, in the cluster
    /// directory (the user may not be allowed into ours), with English messages
    /// (we look for text in them).
    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(tool));
        command.current_dir(&self.layout.dir).env("LC_ALL", "C");
        run_as(&mut command, self.user.as_ref());
        command
    }

    /// Creates the data directory, with `password` for the superuser, in the
    /// first of `locales` that exists (`initdb` rejects unknown ones).
    fn initdb(&self, password: &str, locales: &[&str]) -> Result<(), EmbeddedError> {
        let pwfile = self.layout.dir.join("pwfile");
        with_secret_file(&pwfile, password, self.user.as_ref(), || {
            let (last, fallbacks) = locales.split_last().expect("at least one locale");
            for locale in fallbacks {
                match self.run_initdb(&pwfile, locale) {
                    Err(EmbeddedError::Command { output, .. }) if output.contains("locale") => {
                        log::debug!("initdb cannot use locale {locale}, trying the next: {output}");
                        remove_dir_if_exists(&self.layout.data_dir)?;
                    }
                    result => return result,
                }
            }
            self.run_initdb(&pwfile, last)
        })
    }

    fn run_initdb(&self, pwfile: &Path, locale: &str) -> Result<(), EmbeddedError> {
        let mut pwfile_arg = OsString::from("--pwfile=");
        pwfile_arg.push(pwfile);
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(&self.layout.data_dir)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "-E", "UTF8"])
            .arg(format!("--locale={locale}"))
            .arg(pwfile_arg)
            // Durability is pointless for a throwaway cluster; fsync is slow.
            .arg("--no-sync");
        process::run(&mut command).map(drop)
    }

    /// Appends our settings to `postgresql.conf`.
    fn configure(&self, user_settings: &[(String, String)]) -> Result<(), EmbeddedError> {
        let block = settings::config_block(&self.layout.socket_dir, user_settings)?;
        let conf = self.layout.data_dir.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(block.as_bytes()))
            .map_err(|e| EmbeddedError::io("append settings to", &conf, e))
    }

    /// Starts the server on a free port, trying another port if one is
    /// taken between our probe and the server's bind.
    fn start_on_free_port(&self, timeout: Duration) -> Result<u16, EmbeddedError> {
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            match self.start(port, timeout) {
                Err(e) if attempt < START_ATTEMPTS && is_address_in_use(&e) => {
                    log::debug!("port {port} was taken, retrying with another one");
                    attempt += 1;
                }
                result => return result.map(|()| port),
            }
        }
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    fn start(&self, port: u16, timeout: Duration) -> Result<(), EmbeddedError> {
        let log_offset = fs::metadata(&self.layout.log_file).map_or(0, |meta| meta.len());
        let mut command = self.command("pg_ctl");
        command
            .args(["start", "-w", "-t"])
            .arg(timeout.as_secs().max(1).to_string())
            .arg("-D")
            .arg(&self.layout.data_dir)
            .arg("-l")
            .arg(&self.layout.log_file)
            .arg("-o")
            .arg(format!("-p {port}"));
        process::run(&mut command).map(drop).map_err(|e| match e {
            EmbeddedError::Command { output, .. } => EmbeddedError::Start {
                data_dir: self.layout.data_dir.clone(),
                port,
                output,
                log_file: self.layout.log_file.clone(),
                log_tail: log_tail(&self.layout.log_file, log_offset),
            },
            other => other,
        })
    }

    /// `pg_ctl stop` with the given shutdown mode, waiting for the server to exit.
    fn stop(&self, mode: &str) -> Result<(), EmbeddedError> {
        let mut command = self.command("pg_ctl");
        command
            .args(["stop", "-w", "-t", "60", "-m", mode, "-D"])
            .arg(&self.layout.data_dir);
        process::run(&mut command).map(drop)
    }
}

/// Writes `secret` to a new file only its owner (`user`, if given) can read,
/// runs `body`, and removes the file again whatever happened.
fn with_secret_file(
    path: &Path,
    secret: &str,
    user: Option<&OsUser>,
    body: impl FnOnce() -> Result<(), EmbeddedError>,
) -> Result<(), EmbeddedError> {
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| writeln!(file, "{secret}"))
        .map_err(|e| EmbeddedError::io("write", path, e))
        .and_then(|()| give(path, user))
        .and_then(|()| body());
    let removed = match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(EmbeddedError::io("remove", path, e))
        }
        _ => Ok(()),
    };
    result.and(removed)
}

fn remove_dir_if_exists(dir: &Path) -> Result<(), EmbeddedError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(EmbeddedError::io("remove", dir, e))
        }
        _ => Ok(()),
    }
}

/// A port that was free a moment ago. The server binds it later, so another
/// process may win the race; callers retry on "address already in use".
fn free_port() -> Result<u16, EmbeddedError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| EmbeddedError::io("bind a free TCP port on", "127.0.0.1", e))
}

fn is_address_in_use(error: &EmbeddedError) -> bool {
    matches!(error, EmbeddedError::Start { log_tail, .. } if log_tail.contains("Address already in use"))
}

/// The last lines written to the log from byte `offset` on, i.e. by the
/// latest start attempt.
fn log_tail(log_file: &Path, offset: u64) -> String {
    let text = match fs::read(log_file) {
        Ok(bytes) => {
            let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(e) => return format!("(could not read the log: {e})"),
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    if tail.trim().is_empty() {
        "(empty)".to_owned()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Write};
    use std::net::TcpStream;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::ExitStatusExt;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::process::Stdio;
    use std::time::Instant;

    use super::*;

    fn start() -> EmbeddedCluster {
        EmbeddedCluster::start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The cluster directory (parent of the data directory).
    fn cluster_dir(cluster: &EmbeddedCluster) -> PathBuf {
        cluster
            .data_dir()
            .parent()
            .expect("data dir has a parent")
            .to_owned()
    }

    fn refuses_connections(port: u16) -> bool {
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err()
    }

    fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !condition() {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
        true
    }

    #[test]
    fn serves_databases() {
        let cluster = start();
        let first = cluster
            .create_database("embedded_test")
            .expect("create first database");
        let second = cluster
            .create_database("embedded_test")
            .expect("create second database");
        assert_ne!(first, second);
        for database in [&first, &second] {
            let mut client = cluster.connect(database).expect("connect");
            let row = client
                .query_one("SELECT 1, current_database(), current_user, current_setting('server_version_num')::int", &[])
                .expect("query");
            assert_eq!(row.get::<_, i32>(0), 1);
            assert_eq!(row.get::<_, String>(1), *database);
            assert_eq!(row.get::<_, String>(2), cluster.superuser());
            let version_num: i32 = row.get(3);
            assert_eq!(
                version_num / 10_000,
                i32::try_from(cluster.server_major_version()).expect("small")
            );
        }
        // The URL is well-formed and carries the credentials.
        let config: postgres::Config = cluster.url(&first).parse().expect("url parses");
        let mut client = config.connect(postgres::NoTls).expect("connect via url");
        let fsync: String = client.query_one("SHOW fsync", &[]).expect("show").get(0);
        assert_eq!(fsync, "off");
        assert!(cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port()))
            .exists());
        assert!(cluster.bin_dir().join("postgres").exists());
        // The password file is gone once initdb is done.
        assert!(!cluster_dir(&cluster).join("pwfile").exists());
        if let Some(user) = OsUser::for_server().expect("os user") {
            let owner = fs::metadata(cluster.data_dir())
                .expect("stat data dir")
                .uid();
            assert_eq!(owner, user.uid, "as root, the server runs as {}", user.name);
        }
        let err = cluster
            .create_database("Bad-Prefix")
            .expect_err("invalid prefix");
        assert!(matches!(err, EmbeddedError::InvalidName { .. }), "{err:?}");
        let err = cluster
            .connect("no_such_database")
            .err()
            .expect("missing database");
        assert!(err.to_string().contains("does not exist"), "{err}");
        cluster.stop().expect("explicit stop");
    }

    #[test]
    fn drop_stops_server_and_removes_directory() {
        let cluster = start();
        let dir = cluster_dir(&cluster);
        let port = cluster.port();
        assert!(dir.join("data/postmaster.pid").exists());
        // A child started after the cluster must not inherit the reaper's pipe,
        // or the cleanup below would wait for it.
        let mut bystander = Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep");
        let started = Instant::now();
        drop(cluster);
        let took = started.elapsed();
        bystander.kill().expect("kill sleep");
        bystander.wait().expect("reap sleep");
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(
            refuses_connections(port),
            "port {port} still accepts connections"
        );
        assert!(took < Duration::from_secs(10), "drop took {took:?}");
    }

    #[test]
    fn panic_unwinding_cleans_up() {
        let mut seen: Option<(PathBuf, u16)> = None;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let cluster = start();
            seen = Some((cluster_dir(&cluster), cluster.port()));
            panic!("deliberate panic while a cluster is alive");
        }));
        assert!(result.is_err());
        let (dir, port) = seen.expect("the cluster started before the panic");
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(refuses_connections(port));
    }

    const KILLED_CHILD: &str = "MIGRATE_EMBEDDED_TEST_KILLED_CHILD";
    const CHILD_MARKER: &str = "embedded-cluster:";

    /// Re-runs this test in a child process that starts a cluster and then
    /// kills itself with SIGKILL: no destructor runs, only the reaper can clean up.
    #[test]
    fn sigkill_cleans_up() {
        if std::env::var_os(KILLED_CHILD).is_some() {
            let cluster = start();
            let mut stdout = std::io::stdout();
            writeln!(
                stdout,
                "{CHILD_MARKER}{} {}",
                cluster.port(),
                cluster_dir(&cluster).display()
            )
            .and_then(|()| stdout.flush())
            .expect("report to the parent");
            let _ = Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            thread::sleep(Duration::from_secs(60));
            unreachable!("SIGKILL did not arrive");
        }
        let module = module_path!().split_once("::").expect("crate::module").1;
        let output = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                &format!("{module}::sigkill_cleans_up"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(KILLED_CHILD, "1")
            .stdin(Stdio::null())
            .output()
            .expect("run child");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGKILL),
            "child failed: {stderr}"
        );
        let report = output
            .stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_once(CHILD_MARKER)
                    .map(|(_, report)| report.to_owned())
            })
            .expect("child reported its cluster");
        let (port, dir) = report.split_once(' ').expect("port and directory");
        let port: u16 = port.parse().expect("port");
        let dir = PathBuf::from(dir);
        assert!(
            wait_until(Duration::from_secs(20), || !dir.exists()),
            "{} still exists",
            dir.display()
        );
        assert!(
            refuses_connections(port),
            "port {port} still accepts connections"
        );
    }

    #[test]
    fn settings_apply_and_survive_immediate_restart() {
        let options = EmbeddedOptions {
            settings: vec![("work_mem".to_owned(), "7MB".to_owned())],
            ..EmbeddedOptions::default()
        };
        let cluster = EmbeddedCluster::start_with(&options).unwrap_or_else(|e| panic!("{e}"));
        let database = cluster.create_database("restart").expect("create database");
        let mut before = cluster.connect(&database).expect("connect");
        before
            .batch_execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
            .expect("write");
        cluster.restart_immediate().expect("restart");
        assert!(
            before.simple_query("SELECT 1").is_err(),
            "old connections are cut off"
        );
        let mut after = cluster
            .connect(&database)
            .expect("reconnect on the same port");
        let work_mem: String = after.query_one("SHOW work_mem", &[]).expect("show").get(0);
        assert_eq!(work_mem, "7MB");
        let count: i64 = after
            .query_one("SELECT count(*) FROM kept", &[])
            .expect("count")
            .get(0);
        assert_eq!(count, 1, "committed data survives crash recovery");
    }

    #[test]
    fn bad_bin_dir_is_explained() {
        let options = EmbeddedOptions {
            bin_dir: Some(PathBuf::from("/nonexistent")),
            ..EmbeddedOptions::default()
        };
        let err = EmbeddedCluster::start_with(&options).expect_err("no binaries there");
        assert!(
            matches!(err, EmbeddedError::InvalidBinDir { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("/nonexistent"), "{message}");
        assert!(message.contains("initdb, pg_ctl, postgres"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("MIGRATE_PG_BIN"), "{message}");
    }

    #[test]
    fn invalid_setting_is_rejected_before_starting() {
        let options = EmbeddedOptions {
            settings: vec![("bad name".to_owned(), "1".to_owned())],
            ..EmbeddedOptions::default()
        };
        let err = EmbeddedCluster::start_with(&options).expect_err("invalid setting");
        assert!(
            matches!(err, EmbeddedError::InvalidSetting { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn bad_setting_value_reports_server_log() {
        let options = EmbeddedOptions {
            settings: vec![("shared_buffers".to_owned(), "lots".to_owned())],
            ..EmbeddedOptions::default()
        };
        let err = EmbeddedCluster::start_with(&options).expect_err("invalid value");
        assert!(matches!(err, EmbeddedError::Start { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("shared_buffers"), "{message}");
    }

    #[test]
    fn debug_hides_password() {
        let cluster = start();
        let debug = format!("{cluster:?}");
        assert!(!debug.contains(cluster.password()), "{debug}");
        assert!(debug.contains(&cluster.port().to_string()), "{debug}");
        assert!(cluster.url("postgres").contains(cluster.password()));
    }

    /// Tools for a fresh, not yet initialized cluster directory.
    fn uninitialized() -> (Tools, Reaper) {
        let user = OsUser::for_server().expect("os user");
        let (layout, reaper) = Layout::create(user.as_ref()).expect("create cluster directory");
        let bin_dir = find_bin_dir().expect("server binaries");
        (
            Tools {
                bin_dir,
                user,
                layout,
            },
            reaper,
        )
    }

    #[test]
    fn initdb_falls_back_to_next_locale() {
        let (tools, _reaper) = uninitialized();
        tools
            .initdb("secret", &["xx_XX.UTF-8", "C"])
            .expect("falls back to C");
        assert!(tools.layout.data_dir.join("PG_VERSION").exists());
        assert!(!tools.layout.dir.join("pwfile").exists());
    }

    #[test]
    fn initdb_failure_reports_output_and_removes_password_file() {
        let (tools, _reaper) = uninitialized();
        let err = tools
            .initdb("secret", &["xx_XX.UTF-8"])
            .expect_err("no such locale");
        let message = err.to_string();
        assert!(message.contains("initdb -D"), "{message}");
        assert!(message.contains("xx_XX.UTF-8"), "{message}");
        assert!(!message.contains("secret"), "{message}");
        assert!(!tools.layout.dir.join("pwfile").exists());
    }

    #[test]
    fn log_tail_keeps_last_lines_of_latest_attempt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("server.log");
        let old = "old attempt\n";
        let new: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        fs::write(&log, format!("{old}{new}")).expect("write log");
        let tail = log_tail(&log, old.len() as u64);
        assert!(tail.starts_with("line 11\n"), "{tail}");
        assert!(tail.ends_with("line 30"), "{tail}");
        assert!(log_tail(&dir.path().join("missing"), 0).contains("could not read"));
    }
}
