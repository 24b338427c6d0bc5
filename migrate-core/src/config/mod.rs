//! `migrate.toml`: named environments (staging, production…) with their policies, and the
//! promotion gate between them.

mod error;
mod file;
mod promotion;

pub use error::ConfigError;
pub use file::{ConfigFile, Environment, CONFIG_FILE};
pub use promotion::{check_promotion, check_same_schema, Promotion};
