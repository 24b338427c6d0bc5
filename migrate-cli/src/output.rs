//! Rendering for people (colour only on a terminal, `NO_COLOR` honoured) or as JSON, and the
//! mapping of results to exit codes.

use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use migrate_core::executor::ExecuteError;
use migrate_core::Event;
use serde_json::{json, Value};

/// What a command produced: whether the answer is yes, and its JSON form.
#[derive(Debug)]
pub struct Outcome {
    /// True for exit code 0, false for 1.
    pub ok: bool,
    /// The object printed with `--json`.
    pub json: Value,
}

impl Outcome {
    /// A successful outcome.
    #[must_use]
    pub fn ok(json: Value) -> Self {
        Self { ok: true, json }
    }
}

pub(crate) const GREEN: Style = AnsiColor::Green.on_default();
pub(crate) const YELLOW: Style = AnsiColor::Yellow.on_default();
pub(crate) const RED: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const DIM: Style = Style::new().dimmed();

/// Where results go.
pub(crate) struct Output {
    json: bool,
    quiet: bool,
    /// On a terminal: whether a live line may be shown.
    live: bool,
    /// The live line of a deployment (`[n/N] migration, elapsed, ETA`, backup bytes), on
    /// stderr; lines for people print above it.
    progress: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Output {
    /// `json`: one JSON object on stdout; `quiet`: only errors and the final result.
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        use std::io::IsTerminal;
        Self {
            json,
            quiet,
            live: !json
                && !quiet
                && std::io::stderr().is_terminal()
                && std::io::stdout().is_terminal(),
            progress: std::sync::Mutex::new(None),
        }
    }

    /// True with `--json`.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// A line for people on stdout; nothing in JSON mode or with `--quiet`.
    pub(crate) fn line(&self, text: impl std::fmt::Display) {
        if !self.json && !self.quiet {
            self.print(text);
        }
    }

    /// A line of the command's result for people on stdout: shown with `--quiet` too, nothing
    /// in JSON mode.
    pub(crate) fn result(&self, text: impl std::fmt::Display) {
        if !self.json {
            self.print(text);
        }
    }

    /// Prints a line above the live line, if one is shown.
    fn print(&self, text: impl std::fmt::Display) {
        let print = || {
            let _ = writeln!(anstream::stdout(), "{text}");
        };
        match &*self.bar() {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<indicatif::ProgressBar>> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the live line on: shown from the first migration (or backup progress) until the
    /// backup is taken or the migrations are done.
    fn progress(&self, event: &Event) {
        if !self.live {
            return;
        }
        let mut slot = self.bar();
        let shown = |slot: &mut Option<indicatif::ProgressBar>, len: u64| {
            slot.get_or_insert_with(|| {
                let bar = indicatif::ProgressBar::with_draw_target(
                    Some(len),
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "[{pos}/{len}] {msg} (running {elapsed}; all done in about {eta})",
                    )
                    .expect("a valid template"),
                );
                // Redrawn while a long migration runs, so its running time counts up.
                bar.enable_steady_tick(std::time::Duration::from_millis(250));
                bar
            })
            .clone()
        };
        match event {
            Event::MigrationStarted { name, index, total } => {
                let bar = shown(&mut slot, *total as u64);
                bar.set_length(*total as u64);
                bar.set_position(index.saturating_sub(1) as u64);
                bar.set_message(name.clone());
                // `{elapsed}` is the running migration's time; the ETA keeps its own rate.
                bar.reset_elapsed();
            }
            Event::MigrationApplied { .. } => {
                if let Some(bar) = &*slot {
                    bar.inc(1);
                }
            }
            Event::BackupProgress { bytes, .. } => {
                let bar = shown(&mut slot, 0);
                bar.set_message(format!(
                    "backup: {} written",
                    migrate_core::executor::human_bytes(*bytes)
                ));
            }
            Event::BackupCreated { .. } | Event::Finished { .. } | Event::Failed { .. } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }

    /// A warning for people on stderr (yellow on a terminal); nothing in JSON mode or with
    /// `--quiet`. Warnings are output, not log lines: they show without `-v`.
    pub(crate) fn warn(&self, text: impl std::fmt::Display) {
        if !self.json && !self.quiet {
            let _ = writeln!(anstream::stderr(), "{YELLOW}warning{YELLOW:#}: {text}");
        }
    }

    /// Says, on stderr and for people only, which `.env` file the database URL came from (as
    /// Prisma does: "Environment variables loaded from .env"); never the value.
    pub(crate) fn loaded_from(&self, path: &std::path::Path) {
        if !self.json && !self.quiet {
            let _ = writeln!(
                anstream::stderr(),
                "Environment variables loaded from {}",
                path.display()
            );
        }
    }

    /// Renders a progress event for people.
    pub(crate) fn event(&self, event: &Event) {
        self.progress(event);
        let text = match event {
            Event::MigrationApplied { name, duration } => format!(
                "  {GREEN}✓{GREEN:#} {name} {DIM}({}){DIM:#}",
                migrate_core::executor::human_duration(*duration)
            ),
            Event::MigrationStarted { .. }
            | Event::Finished { .. }
            | Event::LockAcquired { .. } => {
                return log::info!("{event}");
            }
            Event::MigrationFailed { name, .. } => format!("  {RED}✗{RED:#} {name}"),
            // Said once, with its cause, by the error the command ends with (stderr).
            Event::Failed { .. } => return log::info!("{event}"),
            Event::Warning { .. }
            | Event::LockWaiting { .. }
            | Event::LockWait { .. }
            | Event::Retry { .. }
            | Event::WatchdogCancelled { .. } => {
                format!("{YELLOW}{event}{YELLOW:#}")
            }
            other => format!("{DIM}{other}{DIM:#}"),
        };
        self.line(text);
    }

    /// Prints the result and returns the exit code.
    pub(crate) fn finish(&self, result: anyhow::Result<Outcome>) -> ExitCode {
        match result {
            Ok(outcome) => {
                if self.json {
                    println_json(&outcome.json);
                }
                ExitCode::from(if outcome.ok { 0 } else { 1 })
            }
            Err(error) => {
                let code = exit_code(&error);
                let message = chain_text(&error);
                if self.json {
                    println_json(&json!({
                        "error": { "message": message, "exit_code": code }
                    }));
                } else {
                    let _ = writeln!(anstream::stderr(), "{RED}error{RED:#}: {message}");
                }
                ExitCode::from(code)
            }
        }
    }
}

/// The error and its causes, each said once: our error types already quote their source in
/// their message, so a cause whose text is already there is not repeated.
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn println_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    if serde_json::to_writer(&mut out, value).is_ok() {
        let _ = writeln!(out);
    }
}

/// 1 when the engine refused or a migration failed; 2 for every other error.
fn exit_code(error: &anyhow::Error) -> u8 {
    let refused = error.chain().any(|cause| {
        let execute = cause.downcast_ref::<ExecuteError>().or_else(|| {
            match cause.downcast_ref::<migrate_core::Error>() {
                Some(migrate_core::Error::Execute(e)) => Some(e),
                _ => None,
            }
        });
        matches!(
            execute,
            Some(
                ExecuteError::MigrationFailed(_)
                    | ExecuteError::FailedMigrations { .. }
                    | ExecuteError::Modified { .. }
                    | ExecuteError::MissingLocally { .. }
                    | ExecuteError::CertainFailure { .. }
                    | ExecuteError::AlreadyApplied { .. }
                    | ExecuteError::NotFailed { .. }
            )
        ) || matches!(
            cause.downcast_ref::<migrate_core::Error>(),
            Some(migrate_core::Error::Safety(
                migrate_core::safety::SafetyError::Unapproved { .. }
            ))
        ) || matches!(
            cause.downcast_ref::<migrate_core::Error>(),
            Some(migrate_core::Error::Config(
                migrate_core::config::ConfigError::Promotion(_)
            ))
        ) || cause.downcast_ref::<crate::commands::Declined>().is_some()
            || backup_or_rollback_refused(cause)
    });
    if refused {
        1
    } else {
        2
    }
}

/// A backup that failed verification, a restore that did not match, or a rollback that no
/// strategy can do safely: the command ran and the answer is no.
fn backup_or_rollback_refused(cause: &(dyn std::error::Error + 'static)) -> bool {
    use migrate_core::backup::BackupError;
    use migrate_core::rollback::RollbackError;
    let backup_refused = |e: &BackupError| {
        matches!(
            e,
            BackupError::VerificationFailed { .. }
                | BackupError::RestoreMismatch { .. }
                | BackupError::MissingPrivilege { .. }
                | BackupError::ScopeUnbounded { .. }
                | BackupError::ScopedBackup { .. }
                | BackupError::SlotsExhausted { .. }
        )
    };
    // Inside the library's error, a transparent variant hides itself from the chain.
    let (backup, rollback) = match cause.downcast_ref::<migrate_core::Error>() {
        Some(migrate_core::Error::Backup(e)) => (Some(e), None),
        Some(migrate_core::Error::Rollback(e)) => (None, Some(e)),
        _ => (
            cause.downcast_ref::<BackupError>(),
            cause.downcast_ref::<RollbackError>(),
        ),
    };
    match (backup, rollback) {
        (Some(e), _) => backup_refused(e),
        (_, Some(RollbackError::Backup(e))) => backup_refused(e),
        (_, Some(e)) => matches!(
            e,
            RollbackError::NoStrategy { .. }
                | RollbackError::MissingPrivileges { .. }
                | RollbackError::NotApplicable { .. }
                | RollbackError::DownFailed { .. }
                | RollbackError::NothingToRollBack { .. }
        ),
        _ => false,
    }
}
