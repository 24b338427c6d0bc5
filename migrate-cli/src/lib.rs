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
    on_interrupt(&cli.command);
    let out = output::Output::new(cli.json, cli.quiet);
    let result = commands::run(cli, &out);
    out.finish(result)
}

/// Ctrl-C ends the command at once, as a crash would (PostgreSQL undoes what was in flight),
/// after saying what that leaves and what the next command does about it. Exit code 130.
fn on_interrupt(command: &Command) {
    let said = match command {
        Command::Deploy(_) | Command::Rehearse(_) => {
            "interrupted: a migration running now is undone by PostgreSQL (its ledger row stays \
             without outcome); the ones already applied stay applied and recorded. The next \
             `migrate deploy` resumes where this one stopped; a backup being written is not used."
        }
        Command::Restore(_) | Command::Rollback(_) => {
            "interrupted: the database being replaced is intact (it may be read-only). The next \
             `migrate restore` or `migrate deploy` drops the half-loaded copy and lifts the \
             read-only mode; a down.sql running now is undone by PostgreSQL when it runs in one \
             transaction."
        }
        // The fleet has its own: the first Ctrl-C stops starting targets, the second exits.
        Command::Fleet(_) => return,
        _ => "interrupted: nothing was left half-done that the next command does not handle.",
    };
    // A second handler cannot be set (tests calling `run` twice): the first one says the same.
    let _ = ctrlc::set_handler(move || {
        let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("\n{said}\n"));
        std::process::exit(130);
    });
}
