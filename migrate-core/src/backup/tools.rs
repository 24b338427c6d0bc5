//! Finding `pg_dump`, `pg_restore` and `psql` whose major version is at least the server's, and
//! running them with the connection in their environment (never the password in an argument).

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use super::BackupError;
use crate::connection::{DatabaseUrl, SslMode};

/// Where Debian and Ubuntu install one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Bytes of a tool's stderr kept for error messages; the rest is dropped so that a chatty tool
/// cannot grow our memory.
const STDERR_LIMIT: usize = 64 * 1024;

/// The PostgreSQL client programs used for backups, all from one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTools {
    dir: PathBuf,
    major: u32,
}

impl PgTools {
    /// Finds the client programs for a server of major version `server_major`.
    ///
    /// Searched in this order: `MIGRATE_PG_BIN` (which must then be suitable: no silent
    /// fallback from an explicit choice), the `pg_dump` on `PATH` (symlinks resolved), and the
    /// newest `/usr/lib/postgresql/<major>/bin`. Of the candidates found, the first whose
    /// `pg_dump` major version is at least the server's wins.
    ///
    /// # Errors
    ///
    /// [`BackupError::ToolNotFound`] when there is none, [`BackupError::ToolTooOld`] when the
    /// only ones found are older than the server; both name the package to install.
    pub fn find(server_major: u32) -> Result<Self, BackupError> {
        if let Some(dir) = std::env::var_os("MIGRATE_PG_BIN").filter(|d| !d.is_empty()) {
            return Self::in_dir(Path::new(&dir), server_major);
        }
        Self::search(
            std::env::var_os("PATH"),
            Path::new(DEBIAN_ROOT),
            server_major,
        )
    }

    /// The programs in `dir`, checked against the server's major version.
    ///
    /// # Errors
    ///
    /// As [`PgTools::find`], for this directory only.
    pub fn in_dir(dir: &Path, server_major: u32) -> Result<Self, BackupError> {
        for tool in ["pg_dump", "pg_restore"] {
            if !is_executable(&dir.join(tool)) {
                return Err(BackupError::ToolNotFound {
                    tool: if tool == "pg_dump" {
                        "pg_dump"
                    } else {
                        "pg_restore"
                    },
                    searched: dir.display().to_string(),
                    server_major,
                });
            }
        }
        let major = tool_major(&dir.join("pg_dump"))?;
        if major < server_major {
            return Err(BackupError::ToolTooOld {
                tool: "pg_dump",
                dir: dir.to_owned(),
                found_major: major,
                server_major,
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            major,
        })
    }

    fn search(
        path: Option<OsString>,
        debian_root: &Path,
        server_major: u32,
    ) -> Result<Self, BackupError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(path) = path {
            candidates.extend(
                std::env::split_paths(&path)
                    .map(|dir| dir.join("pg_dump"))
                    .filter(|f| is_executable(f))
                    .filter_map(|f| fs::canonicalize(f).ok())
                    .filter_map(|f| f.parent().map(Path::to_owned)),
            );
        }
        let mut debian: Vec<(u32, PathBuf)> = fs::read_dir(debian_root)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        debian.sort_by_key(|b| std::cmp::Reverse(b.0));
        candidates.extend(debian.into_iter().map(|(_, dir)| dir));

        let mut too_old: Option<BackupError> = None;
        for dir in candidates {
            match Self::in_dir(&dir, server_major) {
                Ok(tools) => return Ok(tools),
                Err(e @ BackupError::ToolTooOld { .. }) => {
                    too_old.get_or_insert(e);
                }
                Err(e) => {
                    log::debug!(target: "migrate_core::backup", "skipping {}: {e}", dir.display())
                }
            }
        }
        Err(too_old.unwrap_or(BackupError::ToolNotFound {
            tool: "pg_dump",
            searched: format!(
                "MIGRATE_PG_BIN (unset), PATH and {}/<major>/bin",
                debian_root.display()
            ),
            server_major,
        }))
    }

    /// The directory of the programs.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The major version of `pg_dump`.
    #[must_use]
    pub fn major(&self) -> u32 {
        self.major
    }

    /// `pg_dump --version`, e.g. `pg_dump (PostgreSQL) 15.18`.
    #[must_use]
    pub fn pg_dump_version(&self) -> String {
        version_line(&self.dir.join("pg_dump")).unwrap_or_else(|| format!("pg_dump {}", self.major))
    }

    /// A `psql` command connecting to `url`: from the tools' directory when it has one, else
    /// from `PATH`.
    #[must_use]
    pub fn psql_command(&self, url: &DatabaseUrl) -> Command {
        let command = self.command("psql", url);
        if !is_executable(&self.dir.join("psql")) {
            let env: Vec<_> = command
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(std::ffi::OsStr::to_owned)))
                .collect();
            let mut plain = Command::new("psql");
            for (key, value) in env {
                match value {
                    Some(value) => plain.env(key, value),
                    None => plain.env_remove(key),
                };
            }
            plain.stdin(Stdio::null());
            return plain;
        }
        command
    }

    /// A command for `tool` (`pg_dump`, `pg_restore`, `psql`) connecting to `url` through its
    /// environment: `PGPASSWORD` carries the password, so it never shows in the process list.
    #[must_use]
    pub fn command(&self, tool: &str, url: &DatabaseUrl) -> Command {
        let mut command = Command::new(self.dir.join(tool));
        // Inherited libpq settings (a PGSERVICE, another PGDATABASE) must not redirect the tool.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                command.env_remove(key);
            }
        }
        command
            .env("PGHOST", url.host())
            .env("PGPORT", url.port().to_string())
            .env("PGUSER", url.user())
            .env("PGDATABASE", url.database())
            .env("PGAPPNAME", format!("{}-{tool}", url.application_name()))
            .env(
                "PGCONNECT_TIMEOUT",
                url.connect_timeout().as_secs().max(1).to_string(),
            )
            .env(
                "PGSSLMODE",
                match url.ssl_mode() {
                    SslMode::Disable => "disable",
                    SslMode::Prefer => "prefer",
                    SslMode::Require => "require",
                    SslMode::VerifyCa => "verify-ca",
                    SslMode::VerifyFull => "verify-full",
                },
            )
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some(password) = url.password() {
            command.env("PGPASSWORD", password);
        }
        if let Some(cert) = url.ssl_root_cert() {
            command.env("PGSSLROOTCERT", cert);
        }
        if let Some(options) = url.options() {
            command.env("PGOPTIONS", options);
        }
        command
    }
}

fn is_executable(file: &Path) -> bool {
    fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `binary --version`, asked once per process and file (by its size and modification time): a
/// process takes tens of milliseconds to start, on the critical path of every backup.
fn version_line(binary: &Path) -> Option<String> {
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static SEEN: std::sync::Mutex<Vec<(Key, String)>> = std::sync::Mutex::new(Vec::new());
    let meta = fs::metadata(binary).ok()?;
    let key: Key = (binary.to_owned(), meta.len(), meta.modified().ok());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, line)) = seen.iter().find(|(k, _)| *k == key) {
        return Some(line.clone());
    }
    let line = ask_version(binary)?;
    seen.push((key, line.clone()));
    Some(line)
}

fn ask_version(binary: &Path) -> Option<String> {
    let output = Command::new(binary)
        .arg("--version")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The major version of a client tool from its `--version` output.
fn tool_major(binary: &Path) -> Result<u32, BackupError> {
    let line = version_line(binary).ok_or_else(|| BackupError::Tool {
        command: format!("{} --version", binary.display()),
        status: "failed".into(),
        output: "no version".into(),
    })?;
    parse_major(&line).ok_or_else(|| BackupError::Tool {
        command: format!("{} --version", binary.display()),
        status: "exit 0".into(),
        output: format!("unexpected output {line:?}"),
    })
}

/// `pg_dump (PostgreSQL) 15.18 (Debian …)` → 15; `9.6.24` → 9.
pub(crate) fn parse_major(text: &str) -> Option<u32> {
    let version = text
        .split_once("(PostgreSQL)")?
        .1
        .split_whitespace()
        .next()?;
    let end = version
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(version.len());
    version[..end].parse().ok()
}

/// A printable command line. Arguments never hold secrets, so this is safe to show.
pub(crate) fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str());
    std::iter::once(program)
        .chain(command.get_args())
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A running tool whose stderr is drained (bounded) by a thread, so it cannot block on a full
/// pipe while we read its stdout.
pub(crate) struct Running {
    pub(crate) child: Child,
    description: String,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    /// Spawns `command` with stderr captured; stdout as the caller configured it.
    pub(crate) fn spawn(command: &mut Command) -> Result<Self, BackupError> {
        let description = describe(command);
        log::debug!(target: "migrate_core::backup", "running `{description}`");
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .map_err(BackupError::io("run", command.get_program()))?;
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let room = STDERR_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                String::from_utf8_lossy(&kept).trim().to_owned()
            })
        });
        Ok(Self {
            child,
            description,
            stderr,
        })
    }

    /// Waits for the tool; an error carries its stderr when it failed.
    pub(crate) fn finish(mut self) -> Result<String, BackupError> {
        let status: ExitStatus = self
            .child
            .wait()
            .map_err(BackupError::io("wait for", self.description.clone()))?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            Ok(stderr)
        } else {
            Err(BackupError::Tool {
                command: self.description.clone(),
                status: status.to_string(),
                output: if stderr.is_empty() {
                    "no output".into()
                } else {
                    stderr
                },
            })
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached with the child still running on an early return: do not leave it behind.
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `command` to completion and returns its stdout.
pub(crate) fn run(command: &mut Command) -> Result<Vec<u8>, BackupError> {
    let mut running = Running::spawn(command.stdout(Stdio::piped()))?;
    let mut stdout = Vec::new();
    if let Some(mut pipe) = running.child.stdout.take() {
        pipe.read_to_end(&mut stdout).map_err(BackupError::io(
            "read the output of",
            running.description.clone(),
        ))?;
    }
    running.finish()?;
    Ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tools(dir: &Path, version: &str) {
        for tool in ["pg_dump", "pg_restore"] {
            let file = dir.join(tool);
            fs::write(
                &file,
                format!("#!/bin/sh\necho '{tool} (PostgreSQL) {version}'\n"),
            )
            .expect("write fake tool");
            fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    #[test]
    fn parses_tool_versions() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("pg_dump (PostgreSQL) 18beta2"), Some(18));
        assert_eq!(parse_major("pg_dump 15"), None);
    }

    #[test]
    fn too_old_tools_name_the_package_to_install() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fake_tools(tmp.path(), "9.6.24");
        let err = PgTools::in_dir(tmp.path(), 15).expect_err("9 < 15");
        let message = err.to_string();
        assert!(message.contains("older than the server"), "{message}");
        assert!(message.contains("postgresql-client-15"), "{message}");
    }

    #[test]
    fn newest_suitable_debian_directory_wins() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for (major, version) in [("12", "12.1"), ("16", "16.4"), ("17", "17.0")] {
            let bin = tmp.path().join(major).join("bin");
            fs::create_dir_all(&bin).expect("mkdir");
            fake_tools(&bin, version);
        }
        let tools = PgTools::search(None, tmp.path(), 15).expect("16 and 17 qualify");
        assert_eq!(tools.major(), 17);
        let err = PgTools::search(None, tmp.path(), 18).expect_err("none is 18");
        assert!(
            matches!(
                err,
                BackupError::ToolTooOld {
                    found_major: 17,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = PgTools::search(None, &tmp.path().join("none"), 15).expect_err("nothing");
        assert!(
            err.to_string().contains("install postgresql-client-15"),
            "{err}"
        );
    }
}
