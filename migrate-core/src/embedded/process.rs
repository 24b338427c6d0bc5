//! Running the PostgreSQL tools as child processes and reporting their failures.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use super::error::EmbeddedError;

/// A printable command line for messages and logs. Arguments never carry
/// secrets (the password goes through a file), so printing them is safe.
pub(crate) fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str());
    std::iter::once(program)
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` to completion, capturing its output.
///
/// Failing to spawn is an [`EmbeddedError::Io`]; a non-zero exit is an
/// [`EmbeddedError::Command`] carrying its stderr (stdout if stderr is empty).
pub(crate) fn run(command: &mut Command) -> Result<Output, EmbeddedError> {
    let description = describe(command);
    log::debug!("running `{description}`");
    let output = command
        .output()
        .map_err(|e| EmbeddedError::io("run", command.get_program(), e))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(EmbeddedError::Command {
            command: description,
            status: output.status.to_string(),
            output: output_text(&output),
        })
    }
}

/// The diagnostic text of a finished process: stderr, else stdout, trimmed.
pub(crate) fn output_text(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        stderr
    };
    let text = text.trim();
    if text.is_empty() {
        "no output".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_carries_stderr() {
        let err = run(Command::new("sh").args(["-c", "echo out; echo boom >&2; exit 3"]))
            .expect_err("the command exits with 3");
        let message = err.to_string();
        assert!(message.contains("`sh -c echo out;"), "{message}");
        assert!(message.contains("boom"), "{message}");
        assert!(!message.contains("out;\nout"), "{message}");
    }

    #[test]
    fn failure_falls_back_to_stdout() {
        let err = run(Command::new("sh").args(["-c", "echo only-out; exit 1"]))
            .expect_err("the command exits with 1");
        assert!(err.to_string().contains("only-out"), "{err}");
    }

    #[test]
    fn missing_program_is_io_error() {
        let err = run(&mut Command::new("/nonexistent/program")).expect_err("no such program");
        assert!(matches!(err, EmbeddedError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/program"), "{err}");
    }
}
