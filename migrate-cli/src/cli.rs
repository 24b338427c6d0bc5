//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Deploy Prisma migrations to PostgreSQL, exactly as `prisma migrate deploy` would, and safely.
///
/// Exit codes: 0 success (status: up to date), 1 refused or not up to date, 2 error.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, propagate_version = true)]
pub struct Cli {
    /// PostgreSQL URL as Prisma users write it (`?schema=`, `sslmode=` …).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The Prisma migrations directory.
    #[arg(long, global = true, default_value = "prisma/migrations")]
    pub migrations_dir: PathBuf,

    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Answer yes to every confirmation. Without a terminal and without --yes, confirmations are
    /// refused.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// Seconds to wait for the migration lock held by another deployment (0: wait forever).
    #[arg(long, global = true, default_value_t = 10.0)]
    pub lock_timeout: f64,

    /// More log output on stderr (-v info, -vv debug).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The log filter for `--verbose`.
    #[must_use]
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (like `prisma migrate deploy`).
    Deploy(DeployArgs),
    /// Compare the migrations directory with the database. Exit 0 when up to date, 1 when not.
    Status,
    /// Record a migration as applied or rolled back without running it (like `prisma migrate
    /// resolve`).
    Resolve(ResolveArgs),
    /// Mark migrations as applied without running them, for a database that already has their
    /// schema (the way out of "database not empty", P3005).
    Baseline(BaselineArgs),
    /// Deploy the whole migrations directory from scratch on a throwaway PostgreSQL cluster and
    /// report per-migration timings.
    Rehearse,
}

/// `migrate deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Deploy even if applied migrations changed on disk since (the edits are not applied).
    #[arg(long)]
    pub accept_modified: bool,
    /// Deploy even if applied migrations are missing from the directory.
    #[arg(long)]
    pub accept_missing: bool,
}

/// `migrate resolve`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResolveArgs {
    /// Record NAME as applied (you applied it by hand).
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,
    /// Mark the failed attempts of NAME as rolled back, so that deploy runs it again.
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,
}

/// `migrate baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Mark migrations up to and including NAME (default: all).
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,
}
