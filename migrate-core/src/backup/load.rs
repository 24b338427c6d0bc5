//! Loading a backup file into an existing, empty database: `pg_restore` for archives, `psql` fed
//! by a gzip decoder for plain dumps. Shared by the level-4 check and the real restore.

use std::fs::File;
use std::io::{BufReader, Write};
use std::process::Stdio;

use flate2::read::GzDecoder;
use postgres::Client;

use super::hash::copy_chunked;
use super::tools::Running;
use super::{Backup, BackupError, BackupFormat, PgTools};
use crate::connection::DatabaseUrl;
use crate::sql::quote_ident;

/// How to load a backup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Parallel `pg_restore` jobs (custom format only).
    pub(crate) jobs: usize,
    /// Leave out ownership and privileges, for a server whose roles differ (a throwaway cluster).
    pub(crate) no_owner: bool,
}

/// Loads `backup` into the database of `url`, stopping at the first error.
pub(crate) fn load(
    tools: &PgTools,
    backup: &Backup,
    url: &DatabaseUrl,
    how: Load,
) -> Result<(), BackupError> {
    let path = backup.path();
    match backup.manifest.format {
        BackupFormat::Custom => {
            let mut command = tools.command("pg_restore", url);
            command
                .arg("--exit-on-error")
                .arg("--no-password")
                .arg(format!("--jobs={}", how.jobs.max(1)))
                // The name alone: the rest of the connection comes from the environment.
                .arg(format!("--dbname={}", url.database()))
                .stdout(Stdio::null());
            if how.no_owner {
                command.arg("--no-owner").arg("--no-privileges");
            }
            // A scoped backup leaves out the rows that its foreign keys point to: loaded alone,
            // those keys cannot be validated, so they stay out (the table-level restore, which
            // loads into the live database, keeps them and checks them).
            let _list = match &backup.manifest.scope {
                Some(_) => {
                    let list = without_foreign_keys(tools, &path)?;
                    command.arg(format!("--use-list={}", list.path().display()));
                    Some(list)
                }
                None => None,
            };
            command.arg(&path);
            Running::spawn(&mut command)?.finish().map(drop)
        }
        BackupFormat::PlainGzip => {
            let mut command = tools.psql_command(url);
            command
                .args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "--no-password",
                    "-f",
                    "-",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::null());
            let mut running = Running::spawn(&mut command)?;
            let file = File::open(&path).map_err(BackupError::io("open", &path))?;
            let mut decoder = GzDecoder::new(BufReader::new(file));
            let fed = match running.child.stdin.take() {
                Some(mut stdin) => {
                    copy_chunked(&mut decoder, &mut stdin).and_then(|_| stdin.flush())
                }
                None => Ok(()),
            };
            // psql's own error explains a broken pipe better than the pipe does.
            let finished = running.finish();
            finished?;
            fed.map_err(BackupError::io("decompress", &path))
        }
    }
}

/// The archive's listing without its `FK CONSTRAINT` entries, in a temporary file.
fn without_foreign_keys(
    tools: &PgTools,
    path: &std::path::Path,
) -> Result<tempfile::NamedTempFile, BackupError> {
    let mut command = std::process::Command::new(tools.dir().join("pg_restore"));
    command.arg("--list").arg(path).env("LC_ALL", "C");
    let listing = super::tools::run(&mut command)?;
    let kept: String = String::from_utf8_lossy(&listing)
        .lines()
        .filter(|l| !l.contains(" FK CONSTRAINT "))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut file =
        tempfile::NamedTempFile::new().map_err(BackupError::io("create", "a listing"))?;
    file.write_all(kept.as_bytes())
        .map_err(BackupError::io("write", file.path().to_owned()))?;
    Ok(file)
}

/// A database created for a test restore, dropped (sessions ended) when this is dropped.
pub(crate) struct ScratchDatabase {
    admin: Client,
    name: String,
    target: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the server of `admin` (connected to a maintenance database).
    pub(crate) fn create(
        mut admin: Client,
        name: String,
        target: String,
    ) -> Result<Self, BackupError> {
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE template0",
                quote_ident(&name)
            ))
            .map_err(BackupError::query(
                format!("creating scratch database {name}"),
                target.clone(),
            ))?;
        Ok(Self {
            admin,
            name,
            target,
        })
    }

    /// The database's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&self.name],
        );
        if let Err(e) = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            quote_ident(&self.name)
        )) {
            log::warn!(
                target: "migrate_core::backup",
                "could not drop scratch database {} on {}: {e}",
                self.name,
                self.target
            );
        }
    }
}
