//! The `migrate` command line: a thin shell over `migrate-core`. Every behaviour lives in the
//! library; this crate parses arguments, asks for confirmations, renders results and maps them to
//! exit codes.
//!
//! Exit codes, for every command: `0` success (for `status`: up to date); `1` the command ran and
//! the answer is no (`status`: not up to date; `deploy`: refused by the history or a migration
//! failed; a confirmation was declined or could not be asked); `2` error (bad arguments or input,
//! unreachable database, internal failure).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

pub use cli::{Cli, Command};
pub use output::Outcome;

/// Runs a parsed command line and returns the process exit code.
#[must_use]
pub fn run(cli: &Cli) -> ExitCode {
    let out = output::Output::new(cli.json, cli.quiet);
    let result = commands::run(cli, &out);
    out.finish(result)
}
