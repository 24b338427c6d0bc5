//! `migrate.toml`: named environments (staging, production…) with their policies and the
//! environment each is promoted from (the gate itself is a pipeline step); the precedence of flags, environment variables, the file and
//! the defaults ([`DeploySettings`]).

mod error;
mod file;
mod settings;

pub use error::ConfigError;
pub(crate) use file::{is_env_var_name, redact_values};
pub use file::{ConfigFile, Environment, CONFIG_FILE};
pub use settings::{DeploySettings, Resolved, ResolvedFleet};
