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

/// Installs the logger. With `-v`/`-vv` or `RUST_LOG`: log lines (time, level, target).
/// Otherwise no log lines: the library's warnings and errors reach people as `warning: …` and
/// `error: …` lines on stderr (only errors with `--quiet`), like the CLI's own.
pub fn init_logging(cli: &Cli) {
    use std::io::Write;
    if cli.verbose > 0 || std::env::var_os("RUST_LOG").is_some() {
        env_logger::Builder::from_env(
            env_logger::Env::default().default_filter_or(cli.log_level()),
        )
        .format_timestamp_millis()
        .init();
        return;
    }
    let level = if cli.quiet {
        log::LevelFilter::Error
    } else {
        log::LevelFilter::Warn
    };
    env_logger::Builder::new()
        .filter_level(level)
        .format(|buf, record| {
            let style = buf.default_level_style(record.level());
            let word = match record.level() {
                log::Level::Error => "error",
                _ => "warning",
            };
            writeln!(buf, "{style}{word}{style:#}: {}", record.args())
        })
        .init();
}

/// Runs a parsed command line and returns the process exit code.
#[must_use]
pub fn run(cli: &Cli) -> ExitCode {
    let out = output::Output::new(cli.json, cli.quiet);
    let result = commands::run(cli, &out);
    out.finish(result)
}
