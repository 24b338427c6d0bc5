//! `.env` files, read the way the Prisma CLI reads them: `./.env` at the project root and
//! `./prisma/.env` next to `schema.prisma`, a variable of the real environment always winning
//! over both.
//!
//! Prisma documents that it loads the root `.env` first, then the one next to the schema, and
//! refuses a variable that both files define ("There is a conflict between env vars in .env and
//! prisma/.env"). The rule here: the process environment, then `./.env`, then `./prisma/.env`;
//! a variable that both files define with *different* values is an error naming the variable
//! and both files (never the values), and only when it is read. The same value in both is
//! fine, and a conflict about a variable the deployment never reads does not stop it.
//!
//! The files are read, never loaded into the process environment: setting variables in a
//! running (possibly multi-threaded) service is not this library's business.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarSource {
    /// The process environment.
    Process,
    /// A `.env` file (its path as found, relative to the working directory by default).
    File(PathBuf),
}

/// The `.env` files of a project, read but not applied to the process environment.
#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    /// Each file found, in precedence order, with its variables in file order.
    files: Vec<(PathBuf, Vec<(String, String)>)>,
}

impl DotEnv {
    /// The files read, relative to the project root, in precedence order.
    pub const FILES: [&'static str; 2] = [".env", "prisma/.env"];

    /// Reads the `.env` files of the working directory (missing files are skipped).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] when a file exists but cannot be read, [`ConfigError::Invalid`]
    /// when a line cannot be parsed (its number, never its text: it may hold a password).
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_in(Path::new("."))
    }

    /// Reads the `.env` files of the project at `root` (missing files are skipped).
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn load_in(root: &Path) -> Result<Self, ConfigError> {
        let mut files = Vec::new();
        for name in Self::FILES {
            let path = if root == Path::new(".") {
                PathBuf::from(name)
            } else {
                root.join(name)
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if path.is_dir() => {
                    log::debug!(target: "migrate_core::config", "{} is a directory: {e}", path.display());
                    continue;
                }
                Err(source) => return Err(ConfigError::Read { path, source }),
            };
            let vars = parse(&path, &text)?;
            files.push((path, vars));
        }
        Ok(Self { files })
    }

    /// The files that were found, in precedence order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(path, _)| path.as_path())
    }

    /// The value of `name`: from the process environment when it is set (and not blank), else
    /// from the first `.env` file that defines it. Blank values count as unset.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DotEnvConflict`] when the process environment does not set `name` and
    /// both files define it with different values.
    pub fn var(&self, name: &str) -> Result<Option<(String, VarSource)>, ConfigError> {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(Some((value, VarSource::Process)));
        }
        let mut found: Option<(&str, &Path)> = None;
        for (path, vars) in &self.files {
            let Some((_, value)) = vars
                .iter()
                .rev()
                .find(|(k, v)| k == name && !v.trim().is_empty())
            else {
                continue;
            };
            match found {
                None => found = Some((value, path)),
                Some((first, first_path)) if first != value => {
                    return Err(ConfigError::DotEnvConflict {
                        name: name.to_owned(),
                        files: [first_path.to_owned(), path.clone()],
                    })
                }
                Some(_) => {}
            }
        }
        Ok(found.map(|(value, path)| (value.to_owned(), VarSource::File(path.to_owned()))))
    }

    /// The value of `name` (see [`var`](Self::var)), without where it came from.
    ///
    /// # Errors
    ///
    /// As [`var`](Self::var).
    pub fn value(&self, name: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.var(name)?.map(|(value, _)| value))
    }
}

/// Parses one file with `dotenvy` (quotes, `export`, comments, `${VAR}` expansion).
fn parse(path: &Path, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut vars = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(line, _)) => {
                // The line itself may hold a secret: say where, never what.
                let number = text
                    .lines()
                    .position(|l| l.contains(line.trim()) && !line.trim().is_empty())
                    .map_or_else(String::new, |i| format!(" {}", i + 1));
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    reason: format!("line{number} is not `NAME=value`"),
                });
            }
            Err(other) => {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    reason: match other {
                        dotenvy::Error::Io(e) => e.to_string(),
                        _ => "cannot be read as a .env file".to_owned(),
                    },
                })
            }
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn root_env_wins_over_prisma_env_and_names_its_file() {
        let dir = project(&[
            (".env", "MIGRATE_TEST_A=root\n"),
            (
                "prisma/.env",
                "MIGRATE_TEST_B=\"prisma dir\"\nexport MIGRATE_TEST_A=root\n",
            ),
        ]);
        let env = DotEnv::load_in(dir.path()).unwrap();
        let (a, from) = env.var("MIGRATE_TEST_A").unwrap().unwrap();
        assert_eq!(a, "root");
        assert_eq!(from, VarSource::File(dir.path().join(".env")));
        let (b, from) = env.var("MIGRATE_TEST_B").unwrap().unwrap();
        assert_eq!(b, "prisma dir");
        assert_eq!(from, VarSource::File(dir.path().join("prisma/.env")));
        assert_eq!(env.var("MIGRATE_TEST_NOWHERE").unwrap(), None);
    }

    #[test]
    fn different_values_in_both_files_are_a_conflict_that_never_shows_them() {
        let dir = project(&[
            (".env", "MIGRATE_TEST_C=postgresql://u:secret1@h/db\n"),
            (
                "prisma/.env",
                "MIGRATE_TEST_C=postgresql://u:secret2@h/db\n",
            ),
        ]);
        let env = DotEnv::load_in(dir.path()).unwrap();
        let err = env.var("MIGRATE_TEST_C").unwrap_err().to_string();
        assert!(
            err.contains("MIGRATE_TEST_C") && err.contains("prisma/.env"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn a_bad_line_is_named_by_number_not_text() {
        let dir = project(&[(".env", "A=1\nthis is secret9 garbage\n")]);
        let err = DotEnv::load_in(dir.path()).unwrap_err().to_string();
        assert!(!err.contains("secret9"), "{err}");
        assert!(err.contains(".env"), "{err}");
    }

    #[test]
    fn no_files_no_values() {
        let dir = project(&[]);
        let env = DotEnv::load_in(dir.path()).unwrap();
        assert_eq!(env.files().count(), 0);
        assert_eq!(env.var("MIGRATE_TEST_D").unwrap(), None);
    }
}
