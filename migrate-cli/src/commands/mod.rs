//! One file per subcommand; this file holds what they share.

mod backup;
mod baseline;
mod deploy;
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
        Command::Fleet(args) => fleet::run(cli, args, out),
    }
}

/// The engine for the global flags.
fn engine(cli: &Cli, out: &Output) -> anyhow::Result<Engine> {
    let raw = cli
        .database_url
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or(migrate_core::connection::ConnectError::Missing)?;
    let url: DatabaseUrl = raw.parse()?;
    for warning in url.warnings() {
        out.line(format!(
            "{}warning{:#}: {warning}",
            crate::output::YELLOW,
            crate::output::YELLOW
        ));
    }
    Ok(Engine::new(url, cli.migrations_dir()).lock_wait(lock_wait(cli)?))
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
