//! Locating the PostgreSQL server binaries and asking them for their version.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::EmbeddedError;
use super::process;

/// The binaries a cluster needs, all of which must live in one directory
/// (`pg_ctl` looks for `postgres` next to itself).
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian and Ubuntu install one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Finds the directory holding the PostgreSQL server binaries
/// (`initdb`, `pg_ctl`, `postgres`).
///
/// Searched in this order:
/// 1. the environment variable `MIGRATE_PG_BIN` (it must then be valid, there is
///    no silent fallback from an explicit choice);
/// 2. the directory of the `initdb` found on `PATH`, after resolving symlinks
///    (e.g. `/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`);
/// 3. the newest `/usr/lib/postgresql/<major>/bin` (Debian, Ubuntu).
///
/// # Errors
/// [`EmbeddedError::InvalidBinDir`] when `MIGRATE_PG_BIN` lacks a binary,
/// [`EmbeddedError::BinariesNotFound`] (naming the package to install) otherwise.
pub fn find_bin_dir() -> Result<PathBuf, EmbeddedError> {
    let explicit = std::env::var_os("MIGRATE_PG_BIN").filter(|dir| !dir.is_empty());
    search(explicit, std::env::var_os("PATH"), Path::new(DEBIAN_ROOT))
}

/// [`find_bin_dir`] with its inputs made explicit, for tests.
fn search(
    explicit: Option<OsString>,
    path: Option<OsString>,
    debian_root: &Path,
) -> Result<PathBuf, EmbeddedError> {
    if let Some(dir) = explicit {
        let dir = PathBuf::from(dir);
        check_bin_dir(&dir)?;
        return Ok(dir);
    }
    if let Some(dir) = path.as_deref().and_then(from_path) {
        return Ok(dir);
    }
    if let Some(dir) = newest_debian(debian_root) {
        return Ok(dir);
    }
    Err(EmbeddedError::BinariesNotFound {
        searched: format!(
            "MIGRATE_PG_BIN (unset), PATH and {}/<major>/bin",
            debian_root.display()
        ),
    })
}

/// Checks that `dir` holds all required binaries, naming the missing ones.
pub(crate) fn check_bin_dir(dir: &Path) -> Result<(), EmbeddedError> {
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|name| !is_executable(&dir.join(name)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EmbeddedError::InvalidBinDir {
            dir: dir.to_owned(),
            missing: missing.join(", "),
        })
    }
}

fn is_complete(dir: &Path) -> bool {
    check_bin_dir(dir).is_ok()
}

fn is_executable(file: &Path) -> bool {
    fs::metadata(file).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The real directory of the first `initdb` on `path`. Symlinks are resolved
/// because wrappers such as `/usr/local/bin/initdb` usually point into the
/// versioned directory that also holds `postgres`.
fn from_path(path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join("initdb"))
        .filter(|initdb| is_executable(initdb))
        .filter_map(|initdb| fs::canonicalize(initdb).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_owned))
        .find(|dir| is_complete(dir))
}

/// `<root>/<major>/bin` with the numerically highest major that is complete.
fn newest_debian(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, dir)| is_complete(dir))
        .max_by_key(|(major, _)| *major)
        .map(|(_, dir)| dir)
}

/// The major version of the server in `bin_dir`, from `postgres --version`
/// (which, unlike starting the server, also works as root).
///
/// # Errors
/// [`EmbeddedError::Version`] when `postgres` cannot run or prints no version.
pub fn server_major_version(bin_dir: &Path) -> Result<u32, EmbeddedError> {
    let binary = bin_dir.join("postgres");
    let version_error = |detail: String| EmbeddedError::Version {
        binary: binary.clone(),
        detail,
    };
    let output = process::run(Command::new(&binary).arg("--version").env("LC_ALL", "C"))
        .map_err(|e| version_error(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_major_version(&text)
        .ok_or_else(|| version_error(format!("unexpected output {:?}", text.trim())))
}

/// Parses `postgres (PostgreSQL) 15.18 (Debian 15.18-1)` or `... 17beta1` into the major.
fn parse_major_version(text: &str) -> Option<u32> {
    let after_name = text.split_once("(PostgreSQL)")?.1;
    let version = after_name.split_whitespace().next()?;
    let digits_end = version
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(version.len());
    version[..digits_end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding fake executables with the given names.
    fn fake_bin_dir(parent: &Path, relative: &str, names: &[&str]) -> PathBuf {
        let dir = parent.join(relative);
        fs::create_dir_all(&dir).expect("create fake bin dir");
        for name in names {
            let file = dir.join(name);
            fs::write(&file, "#!/bin/sh\n").expect("write fake binary");
            fs::set_permissions(&file, fs::Permissions::from_mode(0o755))
                .expect("chmod fake binary");
        }
        dir
    }

    #[test]
    fn parses_versions() {
        let debian = "postgres (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)\n";
        assert_eq!(parse_major_version(debian), Some(15));
        assert_eq!(
            parse_major_version("postgres (PostgreSQL) 17beta1"),
            Some(17)
        );
        assert_eq!(parse_major_version("postgres (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major_version("postgres 16.1"), None);
        assert_eq!(parse_major_version("postgres (PostgreSQL)"), None);
    }

    #[test]
    fn explicit_dir_wins_and_must_be_complete() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let good = fake_bin_dir(tmp.path(), "good", &REQUIRED);
        let found = search(Some(good.clone().into()), None, Path::new("/nonexistent"));
        assert_eq!(found.expect("complete dir"), good);

        let partial = fake_bin_dir(tmp.path(), "partial", &["initdb"]);
        let err = search(Some(partial.into()), None, Path::new("/nonexistent"))
            .expect_err("pg_ctl and postgres are missing");
        let message = err.to_string();
        assert!(message.contains("pg_ctl, postgres"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
    }

    #[test]
    fn path_entry_is_resolved_through_symlinks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = fake_bin_dir(tmp.path(), "lib/pg/15/bin", &REQUIRED);
        let links = fake_bin_dir(tmp.path(), "links", &[]);
        std::os::unix::fs::symlink(real.join("initdb"), links.join("initdb")).expect("symlink");
        let path = std::env::join_paths([tmp.path().join("empty"), links]).expect("join PATH");
        let found = search(None, Some(path), Path::new("/nonexistent")).expect("found via PATH");
        assert_eq!(found, fs::canonicalize(real).expect("canonicalize"));
    }

    #[test]
    fn newest_debian_major_is_numeric_max() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for major in ["9", "15", "100"] {
            fake_bin_dir(tmp.path(), &format!("{major}/bin"), &REQUIRED);
        }
        // Incomplete or non-numeric directories are ignored.
        fake_bin_dir(tmp.path(), "200/bin", &["initdb"]);
        fake_bin_dir(tmp.path(), "latest/bin", &REQUIRED);
        let found = search(None, None, tmp.path()).expect("found a debian dir");
        assert_eq!(found, tmp.path().join("100/bin"));
    }

    #[test]
    fn nothing_found_names_the_package() {
        let err = search(None, Some(OsString::new()), Path::new("/nonexistent"))
            .expect_err("nothing installed there");
        assert!(
            matches!(err, EmbeddedError::BinariesNotFound { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("install the PostgreSQL server package"),
            "{message}"
        );
        assert!(message.contains("MIGRATE_PG_BIN"), "{message}");
    }

    #[test]
    fn finds_installed_server() {
        let dir = find_bin_dir().expect("postgresql server binaries are installed on this machine");
        let major = server_major_version(&dir).expect("postgres --version");
        assert!(
            major >= 10,
            "unexpectedly old server {major} in {}",
            dir.display()
        );
    }
}
