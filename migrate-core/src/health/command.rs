//! [`CommandProbe`]: a program that exits 0 when the system is healthy.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{redact_url, HealthError, HealthProbe, ProbeContext, ProbeFailure};

/// How many trailing lines of standard error a failure keeps.
const STDERR_LINES: usize = 5;
/// How much of standard error is kept in memory while the command runs.
const STDERR_BYTES: usize = 16 * 1024;
/// How often a running command is polled for its exit.
const POLL: Duration = Duration::from_millis(10);

/// Runs `program args…` without a shell; passes when it exits 0 within the timeout, and is
/// killed otherwise. Standard input and output are discarded; the last lines of standard error
/// go into the failure. Arguments that are URLs are redacted in its name and errors.
///
/// ### Warning
///
/// Only the program itself is killed on timeout: a grandchild it left running (`sh -c 'sleep
/// 60 &'`) survives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandProbe {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl CommandProbe {
    /// The default timeout of one attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A probe running `program` with `args`.
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyCommand`] when `program` is blank.
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, HealthError> {
        let program = program.into();
        if program.trim().is_empty() {
            return Err(HealthError::EmptyCommand);
        }
        Ok(Self {
            program,
            args: args.into_iter().map(Into::into).collect(),
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Parses `--health-cmd "curl -fsS http://…"` into words with POSIX shell quoting rules
    /// (`'…'`, `"…"`, `\`), but runs no shell: no variables, globs, pipes or redirections. For
    /// those, quote a shell explicitly: `sh -c 'curl -fsS -H "Authorization: Bearer $T" URL'`.
    ///
    /// # Errors
    ///
    /// [`HealthError::EmptyCommand`] when the flag is blank, [`HealthError::Quoting`] when a
    /// quote is not closed.
    pub fn from_flag(flag: &str) -> Result<Self, HealthError> {
        let words = shell_words::split(flag).map_err(|_| HealthError::Quoting)?;
        let mut words = words.into_iter();
        let program = words.next().ok_or(HealthError::EmptyCommand)?;
        Self::new(program, words)
    }

    /// Sets the timeout of one attempt. By default, 10 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The program.
    #[must_use]
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Its arguments.
    #[must_use]
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The command line for messages, URLs redacted.
    fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|word| {
                if word.contains("://") {
                    redact_url(word)
                } else {
                    word.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl HealthProbe for CommandProbe {
    fn name(&self) -> String {
        format!("command {}", self.display())
    }

    fn check(&self, _ctx: &ProbeContext) -> Result<(), ProbeFailure> {
        let command = self.display();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ProbeFailure::Spawn {
                command: command.clone(),
                source,
            })?;

        // Read stderr on a thread: a chatty child would otherwise block on a full pipe.
        let (tx, rx) = mpsc::channel();
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut tail = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > STDERR_BYTES {
                        tail.drain(..tail.len() - STDERR_BYTES);
                    }
                }
                let _ = tx.send(tail);
            });
        }

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    // Already exited between the two calls is fine: kill then fails harmlessly.
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(POLL),
                Err(source) => {
                    let _ = child.kill();
                    return Err(ProbeFailure::Wait { command, source });
                }
            }
        };
        // A grandchild may hold the pipe open: wait for stderr briefly, not for its end.
        let stderr = rx
            .recv_timeout(Duration::from_millis(200))
            .map(|bytes| last_lines(&bytes))
            .unwrap_or_default();
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(ProbeFailure::Exit {
                command,
                status: describe(status),
                stderr,
            }),
            None => Err(ProbeFailure::CommandTimeout {
                command,
                timeout: self.timeout,
                stderr,
            }),
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The last non-empty lines of `bytes`, joined with ` | ` to keep messages on one line.
fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(STDERR_LINES)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_flag_splits_words_with_shell_quoting_without_a_shell() {
        let p = CommandProbe::from_flag("  curl -fsS  'http://x/'  ").unwrap();
        assert_eq!(p.program(), "curl");
        assert_eq!(p.args(), ["-fsS", "http://x/"]);
        let p = CommandProbe::from_flag(
            r#"sh -c 'curl -fsS -H "Authorization: Bearer x" http://h/' "$HOME" a\ b"#,
        )
        .unwrap();
        assert_eq!(p.program(), "sh");
        assert_eq!(
            p.args(),
            [
                "-c",
                r#"curl -fsS -H "Authorization: Bearer x" http://h/"#,
                "$HOME",
                "a b"
            ]
        );
        assert!(matches!(
            CommandProbe::from_flag("   "),
            Err(HealthError::EmptyCommand)
        ));
        assert!(matches!(
            CommandProbe::from_flag("sh -c 'unclosed"),
            Err(HealthError::Quoting)
        ));
    }

    #[test]
    fn name_redacts_url_arguments() {
        let p = CommandProbe::from_flag("curl -fsS http://u:pw123@127.0.0.1/h?token=abcd").unwrap();
        let name = p.name();
        assert!(!name.contains("pw123") && !name.contains("abcd"), "{name}");
    }

    #[test]
    fn last_lines_keeps_the_tail() {
        let text = (1..=8).map(|i| format!("line {i}\n")).collect::<String>();
        assert_eq!(
            last_lines(text.as_bytes()),
            "line 4 | line 5 | line 6 | line 7 | line 8"
        );
    }
}
