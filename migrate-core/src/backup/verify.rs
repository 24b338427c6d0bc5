//! Verification levels 1–4, each including the ones below it.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::str::FromStr;

use flate2::read::GzDecoder;

use super::hash::hash_file;
use super::load::{load, Load, ScratchDatabase};
use super::pg_dump::{require_file, tools_for};
use super::{tools, Backup, BackupError, BackupFormat, DatabaseState, PgDumpBackup, PgTools};
use crate::connection::{connect, DatabaseUrl};
use crate::embedded::{EmbeddedCluster, EmbeddedOptions};

/// How thoroughly a backup is checked. Each level includes the ones below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum VerifyLevel {
    /// L1: the file's size, MD5 and SHA-256 equal the manifest's.
    Hashes = 1,
    /// L2: the archive's table of contents parses and lists every table of the manifest.
    #[default]
    Contents = 2,
    /// L3: the whole archive reads to the end (`pg_restore -f /dev/null`; gzip's CRC for plain
    /// dumps), which catches damaged compressed data.
    FullRead = 3,
    /// L4: a test restore into a scratch database whose row counts and schema fingerprint equal
    /// the manifest's.
    TestRestore = 4,
}

impl VerifyLevel {
    /// Every level, lowest first.
    pub const ALL: [VerifyLevel; 4] = [
        Self::Hashes,
        Self::Contents,
        Self::FullRead,
        Self::TestRestore,
    ];

    /// The level's number, 1–4.
    #[must_use]
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for VerifyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.number())
    }
}

impl FromStr for VerifyLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim_start_matches(['L', 'l']) {
            "1" => Ok(Self::Hashes),
            "2" => Ok(Self::Contents),
            "3" => Ok(Self::FullRead),
            "4" => Ok(Self::TestRestore),
            other => Err(format!("verification level {other:?} is not 1, 2, 3 or 4")),
        }
    }
}

/// Where a level-4 test restore goes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Scratch {
    /// A throwaway cluster from the installed server binaries (no privileges needed on the real
    /// server, no load on it). Ownership and privileges are left out of the restore there.
    #[default]
    EmbeddedCluster,
    /// A scratch database on this server (the URL of any database there, used to create and
    /// drop it; needs `CREATEDB`).
    Server(Box<DatabaseUrl>),
}

/// How verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Where the level-4 restore goes. By default, [`Scratch::EmbeddedCluster`].
    pub scratch: Scratch,
    /// Parallel `pg_restore` jobs for the level-4 restore. By default, 2.
    pub jobs: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            scratch: Scratch::default(),
            jobs: 2,
        }
    }
}

/// One check of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// The level the check belongs to, 1–4.
    pub level: u8,
    /// What was checked, e.g. `sha256`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[must_use]
pub struct VerifyReport {
    /// The backup id.
    pub backup: String,
    /// The level asked for, 1–4.
    pub level: u8,
    /// Every check that ran, lowest level first. Levels above a failed one do not run.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// This report when it passed, else [`BackupError::VerificationFailed`] naming the backup
    /// `id`, the `level` asked for and every failure: the one refusal of a backup that does not
    /// verify, before a deployment or a restore relies on it.
    pub(crate) fn required(self, id: &str, level: VerifyLevel) -> Result<Self, BackupError> {
        if self.passed() {
            return Ok(self);
        }
        Err(BackupError::VerificationFailed {
            id: id.to_owned(),
            level: level.number(),
            failures: self.failures().join("; "),
        })
    }

    /// True when every check passed and every level up to the one asked for ran.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
            && self.checks.iter().map(|c| c.level).max() == Some(self.level)
    }

    /// The failed checks, as `name: detail` lines.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("L{} {}: {}", c.level, c.name, c.detail))
            .collect()
    }

    fn push(&mut self, level: VerifyLevel, name: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            level: level.number(),
            name: name.to_owned(),
            passed,
            detail: detail.into(),
        });
    }

    fn level_failed(&self, level: VerifyLevel) -> bool {
        self.checks
            .iter()
            .any(|c| c.level == level.number() && !c.passed)
    }
}

pub(crate) fn verify(
    provider: &PgDumpBackup,
    backup: &Backup,
    level: VerifyLevel,
    options: &VerifyOptions,
) -> Result<VerifyReport, BackupError> {
    let mut report = VerifyReport {
        backup: backup.id().to_owned(),
        level: level.number(),
        checks: Vec::new(),
    };
    for current in VerifyLevel::ALL.into_iter().filter(|l| *l <= level) {
        match current {
            VerifyLevel::Hashes => check_hashes(backup, &mut report),
            VerifyLevel::Contents => {
                check_contents(&tools_for(provider, backup)?, backup, &mut report)?
            }
            VerifyLevel::FullRead => {
                check_full_read(&tools_for(provider, backup)?, backup, &mut report)?
            }
            VerifyLevel::TestRestore => {
                check_test_restore(&tools_for(provider, backup)?, backup, options, &mut report)?;
            }
        }
        if report.level_failed(current) {
            break;
        }
    }
    log::info!(
        target: "migrate_core::backup",
        "verification of {} at {level}: {}",
        backup.id(),
        if report.passed() { "passed" } else { "failed" }
    );
    Ok(report)
}

fn check_hashes(backup: &Backup, report: &mut VerifyReport) {
    let path = backup.path();
    let expected = &backup.manifest.digests;
    match hash_file(&path) {
        Err(e) => report.push(
            VerifyLevel::Hashes,
            "file",
            false,
            format!("cannot read {}: {e}", path.display()),
        ),
        Ok(actual) => {
            report.push(
                VerifyLevel::Hashes,
                "size",
                actual.bytes == expected.bytes,
                format!("{} bytes, manifest {}", actual.bytes, expected.bytes),
            );
            report.push(
                VerifyLevel::Hashes,
                "md5",
                actual.md5 == expected.md5,
                actual.md5,
            );
            report.push(
                VerifyLevel::Hashes,
                "sha256",
                actual.sha256 == expected.sha256,
                actual.sha256,
            );
        }
    }
}

fn check_contents(
    tools: &PgTools,
    backup: &Backup,
    report: &mut VerifyReport,
) -> Result<(), BackupError> {
    let path = backup.path();
    require_file(&path)?;
    let listed: Vec<String> = match backup.manifest.format {
        BackupFormat::Custom => {
            let mut command = std::process::Command::new(tools.dir().join("pg_restore"));
            command.arg("--list").arg(&path).env("LC_ALL", "C");
            match tools::run(&mut command) {
                Ok(out) => String::from_utf8_lossy(&out)
                    .lines()
                    .filter(|l| !l.starts_with(';'))
                    .map(str::to_owned)
                    .collect(),
                Err(e) => {
                    report.push(
                        VerifyLevel::Contents,
                        "pg_restore --list",
                        false,
                        e.to_string(),
                    );
                    return Ok(());
                }
            }
        }
        BackupFormat::PlainGzip => match plain_statements(&path) {
            Ok(lines) => lines,
            Err(e) => {
                report.push(VerifyLevel::Contents, "gzip", false, e);
                return Ok(());
            }
        },
    };
    report.push(
        VerifyLevel::Contents,
        "table of contents",
        true,
        format!("{} entries", listed.len()),
    );
    let missing: Vec<String> = backup
        .manifest
        .state
        .tables
        .iter()
        .filter(|t| {
            // A scoped backup holds the definition of every table, the data of some.
            let data = !backup.manifest.scope.as_ref().is_some_and(|s| {
                s.excluded
                    .iter()
                    .any(|(schema, table)| *schema == t.schema && *table == t.table)
            });
            !lists_table(backup.manifest.format, &listed, &t.schema, &t.table, data)
        })
        .map(|t| format!("{}.{}", t.schema, t.table))
        .collect();
    report.push(
        VerifyLevel::Contents,
        "tables",
        missing.is_empty(),
        if missing.is_empty() {
            format!(
                "all {} tables of the manifest listed",
                backup.manifest.state.tables.len()
            )
        } else {
            format!("not in the archive: {}", missing.join(", "))
        },
    );
    Ok(())
}

/// Whether the listing has the table's definition and (when `data`) its data.
fn lists_table(
    format: BackupFormat,
    listed: &[String],
    schema: &str,
    table: &str,
    data: bool,
) -> bool {
    match format {
        // `215; 1259 16386 TABLE public t postgres` and `3339; 0 16390 TABLE DATA public t postgres`
        BackupFormat::Custom => {
            let def = format!(" TABLE {schema} {table} ");
            let data_line = format!(" TABLE DATA {schema} {table} ");
            listed.iter().any(|l| l.contains(&def))
                && (!data || listed.iter().any(|l| l.contains(&data_line)))
        }
        BackupFormat::PlainGzip => {
            let names = [
                format!("{schema}.{table}"),
                format!(
                    "{}.{}",
                    crate::sql::quote_ident(schema),
                    crate::sql::quote_ident(table)
                ),
                format!("{schema}.{}", crate::sql::quote_ident(table)),
                format!("{}.{table}", crate::sql::quote_ident(schema)),
            ];
            let has = |prefix: &str| {
                listed.iter().any(|l| {
                    names
                        .iter()
                        .any(|n| l.starts_with(&format!("{prefix}{n} ")))
                })
            };
            has("CREATE TABLE ") && (!data || has("COPY "))
        }
    }
}

/// The `CREATE TABLE` and `COPY` lines of a gzip'd plain dump.
fn plain_statements(path: &PathBuf) -> Result<Vec<String>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for line in BufReader::new(GzDecoder::new(BufReader::new(file))).split(b'\n') {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with(b"CREATE TABLE ") || line.starts_with(b"COPY ") {
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
    }
    Ok(out)
}

fn check_full_read(
    tools: &PgTools,
    backup: &Backup,
    report: &mut VerifyReport,
) -> Result<(), BackupError> {
    let path = backup.path();
    require_file(&path)?;
    match backup.manifest.format {
        BackupFormat::Custom => {
            let mut command = std::process::Command::new(tools.dir().join("pg_restore"));
            command
                .arg("--file=/dev/null")
                .arg(&path)
                .env("LC_ALL", "C");
            let result = tools::run(&mut command);
            report.push(
                VerifyLevel::FullRead,
                "pg_restore -f /dev/null",
                result.is_ok(),
                result
                    .err()
                    .map_or_else(|| "read to the end".to_owned(), |e| e.to_string()),
            );
        }
        BackupFormat::PlainGzip => {
            let result = (|| -> Result<bool, String> {
                let file = File::open(&path).map_err(|e| e.to_string())?;
                // pg_dump ends with this comment; only comments, blank lines and psql's
                // `\unrestrict` may follow it.
                let mut complete = false;
                for line in BufReader::new(GzDecoder::new(BufReader::new(file))).split(b'\n') {
                    let line = line.map_err(|e| e.to_string())?;
                    if line.starts_with(b"-- PostgreSQL database dump complete") {
                        complete = true;
                    } else if !(line.is_empty()
                        || line.starts_with(b"--")
                        || line.starts_with(b"\\unrestrict"))
                    {
                        complete = false;
                    }
                }
                Ok(complete)
            })();
            let (passed, detail) = match result {
                Ok(true) => (true, "decompressed to the end".to_owned()),
                Ok(false) => (
                    false,
                    "the dump does not end with pg_dump's completion line".to_owned(),
                ),
                Err(e) => (false, e),
            };
            report.push(VerifyLevel::FullRead, "gzip read", passed, detail);
        }
    }
    Ok(())
}

fn check_test_restore(
    tools: &PgTools,
    backup: &Backup,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<(), BackupError> {
    let restored = match &options.scratch {
        Scratch::EmbeddedCluster => {
            let embedded_bin = crate::embedded::find_bin_dir()
                .ok()
                .or_else(|| Some(tools.dir().to_owned()));
            let cluster = EmbeddedCluster::start_with(&EmbeddedOptions {
                bin_dir: embedded_bin,
                ..EmbeddedOptions::default()
            })?;
            let name = cluster.create_database("verify")?;
            let url: DatabaseUrl = cluster.url(&name).parse()?;
            restore_and_capture(
                tools,
                backup,
                &url,
                Load {
                    jobs: options.jobs,
                    no_owner: true,
                },
            )
        }
        Scratch::Server(server) => {
            let admin = super::read_only::admin_client(server)?;
            let server: &DatabaseUrl = server;
            let name = format!("{}_verify_{}", backup.id(), std::process::id());
            let scratch = ScratchDatabase::create(admin, name, server.target())?;
            let url = server.with_database(scratch.name());
            restore_and_capture(
                tools,
                backup,
                &url,
                Load {
                    jobs: options.jobs,
                    no_owner: false,
                },
            )
        }
    };
    match restored {
        Err(e) => report.push(
            VerifyLevel::TestRestore,
            "test restore",
            false,
            e.to_string(),
        ),
        Ok(state) => {
            report.push(
                VerifyLevel::TestRestore,
                "test restore",
                true,
                "restored without error",
            );
            let (state, digests) = state;
            let diffs = backup.manifest.expected_state().differences(&state);
            let (schema, counts): (Vec<_>, Vec<_>) =
                diffs.into_iter().partition(|d| d.starts_with("schema"));
            if backup.manifest.is_scoped() {
                // Loaded without the foreign keys (see `load`): the fingerprint cannot match.
                report.push(
                    VerifyLevel::TestRestore,
                    "schema fingerprint",
                    true,
                    "not compared: a scoped backup is test-restored without its foreign keys; \
                     the table-level restore compares it before committing",
                );
            } else {
                report.push(
                    VerifyLevel::TestRestore,
                    "schema fingerprint",
                    schema.is_empty(),
                    schema
                        .first()
                        .cloned()
                        .unwrap_or_else(|| state.schema_fingerprint.sha256.clone()),
                );
            }
            report.push(
                VerifyLevel::TestRestore,
                "row counts",
                counts.is_empty(),
                if counts.is_empty() {
                    format!("{} tables equal the manifest", state.tables.len())
                } else {
                    counts.join("; ")
                },
            );
            if let Some(scope) = &backup.manifest.scope {
                report.push(
                    VerifyLevel::TestRestore,
                    "covered table digests",
                    digests.is_empty(),
                    if digests.is_empty() {
                        format!("{} covered tables equal the manifest", scope.covered.len())
                    } else {
                        digests.join("; ")
                    },
                );
            }
        }
    }
    Ok(())
}

fn restore_and_capture(
    tools: &PgTools,
    backup: &Backup,
    url: &DatabaseUrl,
    how: Load,
) -> Result<(DatabaseState, Vec<String>), BackupError> {
    load(tools, backup, url, how)?;
    let mut client = connect(url)?;
    let state = DatabaseState::capture(&mut client, &url.target())?;
    let mut digests = Vec::new();
    for t in backup.manifest.scope.iter().flat_map(|s| &s.covered) {
        let (rows, digest) = super::table_digest(&mut client, &t.qualified(), &url.target())?;
        if rows != t.rows || digest != t.digest {
            digests.push(format!(
                "{}: {rows} rows, digest {digest} instead of {} rows, digest {}",
                t.qualified(),
                t.rows,
                t.digest
            ));
        }
    }
    Ok((state, digests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!("3".parse::<VerifyLevel>(), Ok(VerifyLevel::FullRead));
        assert_eq!("L4".parse::<VerifyLevel>(), Ok(VerifyLevel::TestRestore));
        assert!("5".parse::<VerifyLevel>().is_err());
        assert!(VerifyLevel::Hashes < VerifyLevel::TestRestore);
        assert_eq!(VerifyLevel::default(), VerifyLevel::Contents);
        assert_eq!(VerifyLevel::Contents.to_string(), "L2");
    }

    #[test]
    fn report_passes_only_when_every_level_ran_and_passed() {
        let mut report = VerifyReport {
            backup: "b".into(),
            level: 2,
            checks: Vec::new(),
        };
        assert!(!report.passed(), "nothing ran");
        report.push(VerifyLevel::Hashes, "sha256", true, "x");
        assert!(!report.passed(), "level 2 did not run");
        report.push(VerifyLevel::Contents, "tables", true, "x");
        assert!(report.passed());
        report.push(VerifyLevel::Contents, "extra", false, "y");
        assert!(!report.passed());
        assert_eq!(report.failures(), ["L2 extra: y"]);
    }
}
