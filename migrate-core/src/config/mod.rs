//! `migrate.toml`: named environments (staging, production…) with their policies and the
//! environment each is promoted from (the gate itself is a pipeline step); the precedence of flags, environment variables, the file and
//! the defaults ([`DeploySettings`]); `.env` files as Prisma reads them ([`DotEnv`]).

mod dotenv;
mod error;
mod file;
mod settings;

pub use dotenv::{DotEnv, VarSource};
pub use error::ConfigError;
pub(crate) use file::{is_env_var_name, redact_values};
pub use file::{ConfigFile, Environment, RetentionConfig, CONFIG_FILE};
pub use settings::{DeploySettings, Resolved, ResolvedFleet};
