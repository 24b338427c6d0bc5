//! `migrate.toml`: named environments (staging, production…) with their policies, and the
//! promotion gate between them; the precedence of flags, environment variables, the file and
//! the defaults ([`DeploySettings`]).

mod error;
mod file;
mod promotion;
mod settings;

pub use error::ConfigError;
pub use file::{ConfigFile, Environment, CONFIG_FILE};
pub use promotion::{check_promotion, check_same_schema, Promotion};
pub use settings::{DeploySettings, Resolved};
