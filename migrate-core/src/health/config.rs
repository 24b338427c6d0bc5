//! Probes as written in `migrate.toml`:
//!
//! ```toml
//! window_secs = 60
//! interval_secs = 2
//!
//! [[probes]]
//! kind = "http"
//! url = "http://127.0.0.1:8080/healthz"
//! timeout_secs = 5
//!
//! [[probes]]
//! kind = "sql"
//! query = "SELECT count(*) > 0 FROM plans"
//! expected = "t"
//!
//! [[probes]]
//! kind = "command"
//! command = ["sh", "-c", "curl -fsS http://127.0.0.1:8080/ready | grep ok"]
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::{CommandProbe, HealthError, HealthProbe, HttpProbe, RetryWindow, SqlProbe};

/// The health settings of the config file: probes and their retry window. It accepts unknown
/// keys so that it can be `#[serde(flatten)]`ed into the whole file's struct.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HealthConfig {
    /// Seconds during which failing probes are retried; [`RetryWindow::default`]'s when absent.
    #[serde(default)]
    pub window_secs: Option<f64>,
    /// Seconds between two attempts; [`RetryWindow::default`]'s when absent.
    #[serde(default)]
    pub interval_secs: Option<f64>,
    /// The probes.
    #[serde(default)]
    pub probes: Vec<ProbeConfig>,
}

impl HealthConfig {
    /// The retry window.
    ///
    /// # Errors
    ///
    /// [`HealthError::InvalidSetting`] for a negative or non-finite number.
    pub fn retry_window(&self) -> Result<RetryWindow, HealthError> {
        let default = RetryWindow::default();
        Ok(RetryWindow {
            window: seconds("window_secs", self.window_secs)?.unwrap_or(default.window),
            interval: seconds("interval_secs", self.interval_secs)?.unwrap_or(default.interval),
        })
    }

    /// The probes, built.
    ///
    /// # Errors
    ///
    /// The first probe's [`HealthError`] that is invalid.
    pub fn build_probes(&self) -> Result<Vec<Box<dyn HealthProbe>>, HealthError> {
        self.probes.iter().map(ProbeConfig::build).collect()
    }
}

/// One `[[probes]]` entry, told apart by its `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ProbeConfig {
    /// An [`HttpProbe`].
    Http {
        /// The URL to `GET`.
        url: String,
        /// Timeout of one attempt in seconds; 5 when absent.
        #[serde(default)]
        timeout_secs: Option<f64>,
    },
    /// An [`SqlProbe`].
    Sql {
        /// The query.
        query: String,
        /// The expected first value, as text; any row passes when absent.
        #[serde(default)]
        expected: Option<String>,
        /// Statement timeout in seconds; 5 when absent.
        #[serde(default)]
        timeout_secs: Option<f64>,
    },
    /// A [`CommandProbe`].
    Command {
        /// The command: a string split on whitespace, or a list of program and arguments.
        command: CommandSpec,
        /// Timeout of one attempt in seconds; 10 when absent.
        #[serde(default)]
        timeout_secs: Option<f64>,
    },
}

/// A command line: `"curl -fsS http://…"` (split on whitespace) or `["sh", "-c", "…"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CommandSpec {
    /// Split on whitespace, without a shell.
    Line(String),
    /// Program then arguments, as given.
    Argv(Vec<String>),
}

impl ProbeConfig {
    /// Builds the probe.
    ///
    /// # Errors
    ///
    /// [`HealthError`] when the URL, query, command or timeout is invalid.
    pub fn build(&self) -> Result<Box<dyn HealthProbe>, HealthError> {
        Ok(match self {
            Self::Http { url, timeout_secs } => Box::new(HttpProbe::new(
                url.clone(),
                positive("timeout_secs", *timeout_secs)?.unwrap_or(HttpProbe::DEFAULT_TIMEOUT),
            )?),
            Self::Sql {
                query,
                expected,
                timeout_secs,
            } => Box::new(SqlProbe::new(query.clone(), expected.clone())?.timeout(
                positive("timeout_secs", *timeout_secs)?.unwrap_or(SqlProbe::DEFAULT_TIMEOUT),
            )),
            Self::Command {
                command,
                timeout_secs,
            } => {
                let probe = match command {
                    CommandSpec::Line(line) => CommandProbe::from_flag(line)?,
                    CommandSpec::Argv(argv) => {
                        let (program, args) =
                            argv.split_first().ok_or(HealthError::EmptyCommand)?;
                        CommandProbe::new(program.clone(), args.iter().cloned())?
                    }
                };
                Box::new(
                    probe.timeout(
                        positive("timeout_secs", *timeout_secs)?
                            .unwrap_or(CommandProbe::DEFAULT_TIMEOUT),
                    ),
                )
            }
        })
    }
}

fn seconds(setting: &'static str, value: Option<f64>) -> Result<Option<Duration>, HealthError> {
    value
        .map(|v| {
            Duration::try_from_secs_f64(v).map_err(|_| HealthError::InvalidSetting {
                setting,
                reason: format!("{v} is not a number of seconds"),
            })
        })
        .transpose()
}

fn positive(setting: &'static str, value: Option<f64>) -> Result<Option<Duration>, HealthError> {
    match seconds(setting, value)? {
        Some(d) if d.is_zero() => Err(HealthError::InvalidSetting {
            setting,
            reason: "must be greater than zero".into(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_builds_every_kind_of_probe() {
        let config: HealthConfig = toml::from_str(
            r#"
            window_secs = 30
            [[probes]]
            kind = "http"
            url = "http://127.0.0.1:8080/healthz?token=abc123"
            timeout_secs = 1.5
            [[probes]]
            kind = "sql"
            query = "SELECT 1"
            expected = "1"
            [[probes]]
            kind = "command"
            command = "curl -fsS http://127.0.0.1/"
            [[probes]]
            kind = "command"
            command = ["sh", "-c", "exit 0"]
            "#,
        )
        .unwrap();
        let window = config.retry_window().unwrap();
        assert_eq!(window.window, Duration::from_secs(30));
        assert_eq!(window.interval, RetryWindow::default().interval);
        let names: Vec<String> = config
            .build_probes()
            .unwrap()
            .iter()
            .map(|p| p.name())
            .collect();
        assert_eq!(
            names,
            [
                "http GET http://127.0.0.1:8080/healthz?token=********",
                "sql SELECT 1 => 1",
                "command curl -fsS http://127.0.0.1/",
                "command sh -c exit 0",
            ]
        );
    }

    #[test]
    fn config_rejects_unknown_kinds_fields_and_bad_timeouts() {
        assert!(toml::from_str::<HealthConfig>("[[probes]]\nkind = \"tcp\"\n").is_err());
        assert!(toml::from_str::<HealthConfig>(
            "[[probes]]\nkind = \"sql\"\nquery = \"SELECT 1\"\nexpect = \"1\"\n"
        )
        .is_err());
        let config: HealthConfig = toml::from_str(
            "[[probes]]\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\ntimeout_secs = -1\n",
        )
        .unwrap();
        assert!(matches!(
            config.build_probes(),
            Err(HealthError::InvalidSetting {
                setting: "timeout_secs",
                ..
            })
        ));
        let config: HealthConfig =
            toml::from_str("[[probes]]\nkind = \"command\"\ncommand = []\n").unwrap();
        assert!(matches!(
            config.build_probes(),
            Err(HealthError::EmptyCommand)
        ));
    }
}
