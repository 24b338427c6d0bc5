//! `migrate`: deploy Prisma migrations to PostgreSQL safely. See `migrate --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = migrate_cli::Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(cli.log_level()))
        .format_timestamp_millis()
        .init();
    migrate_cli::run(&cli)
}
