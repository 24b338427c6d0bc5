//! One file per subcommand; this file holds what they share.

mod backup;
mod baseline;
mod deploy;
mod docs;
mod fleet;
mod history;
mod maintenance;
mod plan;
mod rehearse;
mod resolve;
mod restore;
mod rollback;
mod status;

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use migrate_core::config::{DotEnv, VarSource};
use migrate_core::ledger::LockWait;
use migrate_core::{DatabaseUrl, Engine};

use crate::cli::{Cli, Command};
use crate::output::{Outcome, Output};

pub(crate) fn run(cli: &Cli, out: &Output) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Deploy(args) => deploy::run(cli, args, out),
        Command::Status => status::run(cli, out),
        Command::Resolve(args) => resolve::run(cli, args, out),
        Command::Baseline(args) => baseline::run(cli, args, out),
        Command::Rehearse(args) => rehearse::run(cli, args, out),
        Command::Plan(args) => plan::run(cli, args, out),
        Command::History(args) => history::run(cli, args, out),
        Command::Backup(args) => backup::run(cli, args, out),
        Command::Restore(args) => restore::run(cli, args, out),
        Command::Rollback(args) => rollback::run(cli, args, out),
        Command::Maintenance(args) => maintenance::run(cli, args, out),
        Command::Completions(args) => docs::completions(args, out),
        Command::Man(args) => docs::man(args, out),
        Command::Fleet(args) => fleet::run(cli, args, out),
    }
}

/// The engine for the global flags.
fn engine(cli: &Cli, out: &Output) -> anyhow::Result<Engine> {
    engine_in(cli, out, &cli.migrations_dir())
}

/// The engine of `cli`'s database for the migrations in `dir`.
fn engine_in(cli: &Cli, out: &Output, dir: &std::path::Path) -> anyhow::Result<Engine> {
    let raw = database_url(cli, out)?.ok_or(migrate_core::connection::ConnectError::Missing)?;
    engine_for(cli, &raw, out, dir)
}

/// The engine for `raw`, the database URL, the migrations in `dir`, and the global flags.
fn engine_for(cli: &Cli, raw: &str, out: &Output, dir: &std::path::Path) -> anyhow::Result<Engine> {
    let url: DatabaseUrl = raw.parse()?;
    for warning in url.warnings() {
        out.warn(warning);
    }
    Ok(Engine::new(url, dir).lock_wait(lock_wait(cli)?))
}

/// The database URL: `--database-url`, else `DATABASE_URL` from the environment, else from
/// `./.env` or `./prisma/.env` (the core's rule, [`DotEnv`]), saying which file it came from.
fn database_url(cli: &Cli, out: &Output) -> anyhow::Result<Option<String>> {
    if let Some(url) = cli.database_url.as_deref().filter(|s| !s.trim().is_empty()) {
        return Ok(Some(url.to_owned()));
    }
    let Some((url, source)) = DotEnv::load()?.var("DATABASE_URL")? else {
        return Ok(None);
    };
    if let VarSource::File(path) = source {
        out.loaded_from(&path);
    }
    Ok(Some(url))
}

fn lock_wait(cli: &Cli) -> anyhow::Result<LockWait> {
    let default = LockWait::for_deployments();
    let (Some(secs), false) = (cli.lock_timeout, default == LockWait::Skip) else {
        return Ok(default);
    };
    anyhow::ensure!(
        secs.is_finite() && secs >= 0.0,
        "--lock-timeout must be a number of seconds >= 0, got {secs}"
    );
    Ok(if secs == 0.0 {
        LockWait::Unbounded
    } else {
        LockWait::Bounded(Duration::from_secs_f64(secs))
    })
}

/// The user declined a confirmation, or it could not be asked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Declined(String);

/// Asks `question` on the terminal even with `--yes`: for approvals of destructive changes,
/// which must be explicit. Without a terminal the answer is no.
fn ask(question: &str) -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

/// Asks `question` on the terminal. `--yes` answers yes; without a terminal the answer is no.
fn confirm(cli: &Cli, question: &str) -> anyhow::Result<()> {
    if cli.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Declined(format!(
            "{question}: confirmation needed, but there is no terminal to ask on; re-run with --yes"
        ))
        .into());
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question} [y/N] ").context("writing the prompt")?;
    err.flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Declined("cancelled: nothing was changed".into()).into())
    }
}
