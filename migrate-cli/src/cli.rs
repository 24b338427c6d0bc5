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
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub database_url: Option<String>,

    /// The Prisma migrations directory [default: the config file's, else prisma/migrations].
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub migrations_dir: Option<PathBuf>,

    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// Answer yes to every confirmation. Without a terminal and without --yes, confirmations are
    /// refused.
    #[arg(long, short = 'y', global = true, help_heading = "Global options")]
    pub yes: bool,

    /// Seconds to wait for the migration lock held by another deployment (0: wait forever). By
    /// default, as long as the holder is working: replicas deploying together wait out a long
    /// migration, and give up, naming the holder, once it has sat idle for a minute.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        help_heading = "Global options"
    )]
    pub lock_timeout: Option<f64>,

    /// Log lines on stderr (-v info, -vv debug). Without it, no log lines, only warnings and
    /// errors for people (`RUST_LOG` still applies).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = "Global options")]
    pub verbose: u8,

    /// Print only errors and the final result (no progress, notes or warnings).
    #[arg(long, short = 'q', global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The migrations directory given, else Prisma's default.
    #[must_use]
    pub fn migrations_dir(&self) -> PathBuf {
        self.migrations_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(migrate_core::MigrationSource::DEFAULT_DIR))
    }
}

impl Cli {
    /// Parses the process's arguments with [`Cli::command_tailored`]; exits with clap's message
    /// (and code 2) on bad arguments, or after `--help`/`--version`.
    #[must_use]
    pub fn parse_tailored() -> Self {
        use clap::FromArgMatches;
        let matches = Self::command_tailored().get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// The command line as `--help`, completions and man pages show it: the global options that
    /// a command ignores are hidden from its help (still accepted, so that a global option can
    /// be given anywhere, as before).
    #[must_use]
    pub fn command_tailored() -> clap::Command {
        use clap::CommandFactory;
        let cmd = Self::command();
        let globals: Vec<clap::Arg> = cmd
            .get_arguments()
            .filter(|a| TAILORED.contains(&a.get_id().as_str()))
            .cloned()
            .collect();
        tailor(cmd, "", &globals)
    }

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
    /// Dress rehearsal on a throwaway PostgreSQL cluster (empty, or loaded from a backup):
    /// per-statement timings and locks, a forced rollback drill, then the whole pipeline.
    Rehearse(RehearseArgs),
    /// List the recorded deployments, newest first.
    History(HistoryArgs),
    /// Analyse migrations for destructive changes and dangerous locks, with an impact report.
    /// Exit 0 when nothing unapproved is at or above --fail-on, 1 otherwise, 2 on error.
    Plan(PlanArgs),
    /// Take, list, verify and prune backups (`pg_dump` archives with a JSON manifest).
    Backup(BackupArgs),
    /// Bring the database back to exactly the state of a backup (asks for confirmation).
    Restore(RestoreArgs),
    /// Undo migrations with the fastest strategy that loses no data: transactional, down.sql,
    /// or restore (asks for confirmation; --dry-run only shows the plan).
    Rollback(RollbackArgs),
    /// Emergency switches, e.g. `maintenance read-only on`.
    Maintenance(MaintenanceArgs),
    /// Print a shell completion script on stdout, e.g. `migrate completions bash >
    /// ~/.local/share/bash-completion/completions/migrate`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, e.g. `migrate man > migrate.1`, or write one page per
    /// command into a directory.
    Man(ManArgs),
    /// One history to many databases (a targets file), in waves, halting on the first failure.
    Fleet(FleetArgs),
}

/// `migrate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `migrate man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `migrate.1` and a page per command (`migrate-deploy.1`, …) into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `migrate fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The fleet command.
    #[command(subcommand)]
    pub command: FleetCommand,
}

/// `migrate fleet …`.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Apply the pending migrations to every target, wave by wave; a failure stops the fleet
    /// after the wave's running targets finish. Exit 0 when every target is up to date, 1 when
    /// a target failed or was not reached, 2 on error. A rerun resumes.
    Deploy(FleetDeployArgs),
    /// Where every target stands (applied, pending, failed, drift, last deployment), read in
    /// parallel, each within --timeout. Exit 0 when all are up to date, 1 otherwise.
    Status(FleetStatusArgs),
}

/// Where the targets come from.
#[derive(Debug, Args)]
pub struct FleetTargetsArgs {
    /// The targets file (`[[target]]` entries with `name`, `url_env` or `url`, `wave`)
    /// [default: the environment's `targets`].
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// The environment of the config file (its targets file and policies).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The config file with the environments [default: migrate.toml].
    #[arg(long, env = "MIGRATE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `migrate fleet deploy`.
#[derive(Debug, Args)]
pub struct FleetDeployArgs {
    /// The targets.
    #[command(flatten)]
    pub fleet: FleetTargetsArgs,
    /// At most N targets of a wave at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Approve the destructive or high-risk changes of MIGRATION (or only RULE in it) on every
    /// target for this run. Repeatable.
    #[arg(long, value_name = "MIGRATION[:RULE]")]
    pub approve: Vec<String>,
    /// Where the backups go, one directory per target (default: the config's, else `backups`).
    #[arg(long, env = "MIGRATE_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Deploy without backups: a failure can then only be undone by down.sql or a transaction.
    #[arg(long)]
    pub dangerous_no_backup: bool,
    /// Verification each backup must pass before migrating (1–4).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub verify_level: Option<u8>,
    /// On failure, only report what a rollback would do.
    #[arg(long)]
    pub no_auto_rollback: bool,
    /// When a target's schema changed since its last deployment: warn, refuse, accept, ignore.
    #[arg(long, value_name = "POLICY")]
    pub on_drift: Option<migrate_core::pipeline::DriftPolicy>,
    /// Write every target's events (tagged with its name) as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// POST one summary per wave to URL (Slack-compatible `text`).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
}

/// `migrate fleet status`.
#[derive(Debug, Args)]
pub struct FleetStatusArgs {
    /// The targets.
    #[command(flatten)]
    pub fleet: FleetTargetsArgs,
    /// Seconds each target has to answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
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
    /// Approve the destructive or high-risk changes of MIGRATION (or only RULE in it) for this
    /// run. Repeatable. `--yes` never approves destructive changes.
    #[arg(long, value_name = "MIGRATION[:RULE]")]
    pub approve: Vec<String>,
    /// Deploy without the safety review.
    ///
    /// Destructive migrations then run without approval.
    #[arg(long)]
    pub dangerous_skip_safety: bool,
    /// Deploy to this environment of the config file (its URL variable and policies).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The config file with the environments [default: migrate.toml].
    #[arg(
        long,
        env = "MIGRATE_CONFIG",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Where the pre-deploy backup goes [default: the environment's, the config file's, else
    /// backups].
    #[arg(
        long,
        env = "MIGRATE_BACKUP_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub backup_dir: Option<PathBuf>,
    /// Deploy without a backup: a failure can then only be undone by down.sql or a transaction.
    #[arg(long)]
    pub dangerous_no_backup: bool,
    /// Verification the backup must pass before migrating: 1 hashes, 2 archive list, 3 full
    /// read, 4 test restore [default: the environment's, else 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub verify_level: Option<u8>,
    /// Which backup: `full` (the whole database), `scoped` (the whole schema and the data of
    /// the tables the pending migrations can change; refused when the analyzer cannot bound
    /// them) or `auto` (scoped when it can, else full, saying why; full too when no existing
    /// table is at risk) [default: the environment's, else auto].
    #[arg(long, value_name = "MODE")]
    pub backup: Option<migrate_core::backup::BackupMode>,
    /// On failure, only report what a rollback would do.
    #[arg(long)]
    pub no_auto_rollback: bool,
    /// When the schema changed since the last deployment recorded it (by hand, by another
    /// tool): `warn`, `refuse` (exit 1, nothing changed), `accept` (warn, then take it as the
    /// expected schema, e.g. after a reviewed hotfix) or `ignore` [default: the environment's,
    /// else warn].
    #[arg(long, value_name = "POLICY")]
    pub on_drift: Option<migrate_core::pipeline::DriftPolicy>,
    /// HTTP health probe (GET, 2xx) after the deploy. Repeatable.
    #[arg(long, value_name = "URL")]
    pub health_url: Vec<String>,
    /// SQL health probe, `QUERY` or `QUERY => EXPECTED`. Repeatable.
    #[arg(long, value_name = "SQL")]
    pub health_sql: Vec<String>,
    /// Command health probe (exit 0). Split into words with shell quoting ('…', "…", \), run
    /// without a shell: for one, quote it, e.g. "sh -c 'curl -fsS \"$URL\"'". Repeatable.
    #[arg(long, value_name = "COMMAND")]
    pub health_cmd: Vec<String>,
    /// Seconds during which failing probes are retried [default: the environment's, else 60].
    #[arg(long, value_name = "SECS")]
    pub health_window: Option<f64>,
    /// Write every event as a JSON line to FILE (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// With --json: stream every event as a JSON line on stdout before the result object (the
    /// result is then the last line). Without it, --json prints the result object alone.
    #[arg(long, requires = "json")]
    pub json_events: bool,
    /// POST every event to URL (Slack-compatible `text`); never blocks the deployment.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Deploy without the promotion gate of the environment.
    #[arg(long)]
    pub dangerous_skip_promotion_gate: bool,
    /// Apply part of the pending migrations for a zero-downtime release: `expand` applies them
    /// in order up to the first that breaks a statement the running application sends;
    /// `contract` applies the rest once the old version has drained (see --old-app).
    #[arg(long, value_name = "STAGE", value_parser = ["expand", "contract"])]
    pub stage: Option<String>,
    /// The old version's application_name: `--stage contract` refuses while a session with it
    /// is connected (else `old_app` in migrate.toml).
    #[arg(long, value_name = "NAME")]
    pub old_app: Option<String>,
    /// A file of the running application's captured statements (SQL separated by `;`), checked
    /// against the migrated schema besides pg_stat_statements.
    #[arg(long, value_name = "FILE")]
    pub queries: Option<std::path::PathBuf>,
    /// How long `--stage contract` watches the breaking statements' call counts, in seconds.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub drain_window: f64,
    /// Time budget of the backward-compatibility check, in seconds; statements not checked in
    /// time are counted and said, and expand stops before a migration not checked.
    #[arg(long, value_name = "SECS", default_value = "120")]
    pub compat_budget: f64,
    /// Skip the backward-compatibility check (it starts a local cluster whenever
    /// pg_stat_statements or --queries gives statements). Refused with --stage, which needs it.
    #[arg(long, conflicts_with_all = ["stage", "queries"])]
    pub no_compat_check: bool,
}

/// `migrate plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Migration directories or `.sql` files to analyse (default: the pending migrations when the
    /// database is reachable, else every migration).
    pub paths: Vec<PathBuf>,
    /// Analyse the migrations added or changed since this git revision.
    #[arg(long, value_name = "GIT_REF")]
    pub since: Option<String>,
    /// Output format.
    #[arg(long, default_value = "human", value_parser = ["human", "json", "markdown", "sarif", "github"])]
    pub format: String,
    /// Exit 1 when an unapproved finding is at or above this severity.
    #[arg(long, default_value = "error", value_parser = ["info", "warning", "error"])]
    pub fail_on: String,
    /// Show findings from this severity on (the exit code still counts them all).
    #[arg(long, default_value = "info", value_parser = ["info", "warning", "error"])]
    pub min_severity: String,
    /// Analyse without the database even when a URL is set (no live data facts).
    #[arg(long)]
    pub offline: bool,
    /// A file of the running application's captured statements (SQL separated by `;`), checked
    /// against the migrated schema besides pg_stat_statements (needs the database).
    #[arg(long, value_name = "FILE")]
    pub queries: Option<std::path::PathBuf>,
    /// Time budget of the backward-compatibility check, in seconds.
    #[arg(long, value_name = "SECS", default_value = "120")]
    pub compat_budget: f64,
    /// Skip the backward-compatibility check (no local cluster is started).
    #[arg(long, conflicts_with = "queries")]
    pub no_compat_check: bool,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
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

/// Where backups live.
#[derive(Debug, Args)]
pub struct BackupDirArg {
    /// The backup directory (created with mode 0700).
    #[arg(
        long,
        global = true,
        env = "MIGRATE_BACKUP_DIR",
        hide_env_values = true,
        value_name = "DIR",
        default_value = "backups"
    )]
    pub backup_dir: PathBuf,
}

/// `migrate backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where backups live.
    #[command(flatten)]
    pub dir: BackupDirArg,
    /// The backup command.
    #[command(subcommand)]
    pub command: BackupCommand,
}

/// `migrate backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup (pg_dump, same snapshot as the manifest's counts), then verify it.
    Create(BackupCreateArgs),
    /// List the backups, oldest first.
    List,
    /// Check a backup. Exit 0 only when every check of the level passed, 1 otherwise.
    ///
    /// Levels: 1 hashes equal the manifest; 2 the archive lists every table; 3 the archive reads
    /// to the end; 4 a test restore matches the manifest's row counts and schema fingerprint.
    Verify(BackupVerifyArgs),
    /// Remove old backups (the newest is always kept; --dry-run only lists them). Without
    /// --keep or --max-age-days, the `retention` of migrate.toml applies: the same rule that
    /// prunes after each successful deployment.
    Prune(BackupPruneArgs),
}

/// `migrate backup create`.
#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// A portable plain-SQL dump compressed with gzip instead of a custom-format archive.
    #[arg(long)]
    pub plain: bool,
    /// Compression level 0-9 (pg_dump -Z for archives, gzip level for plain dumps).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub compress: Option<u32>,
    /// Verification level right after the backup (0: none).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=4))]
    pub verify_level: u8,
    /// `full`: the whole database. `pending`: the whole schema and the data of only the tables
    /// the pending migrations can change (refused when the analyzer cannot bound them).
    #[arg(long, value_name = "SCOPE", default_value = "full", value_parser = ["full", "pending"])]
    pub scope: String,
}

/// `migrate backup verify`.
#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// The backup: an id (`backup_YYYYmmdd_HHMMSS`) or the path of its file or manifest.
    pub backup: String,
    /// 1 hashes, 2 table of contents, 3 full read, 4 test restore.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub level: u8,
    /// For level 4, restore into a scratch database of the --database-url server instead of a
    /// throwaway local cluster (needs CREATEDB there).
    #[arg(long)]
    pub scratch_on_server: bool,
}

/// `migrate backup prune`.
#[derive(Debug, Args)]
pub struct BackupPruneArgs {
    /// Keep the N newest backups [default: the config file's `retention`].
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Remove backups older than this many days [default: the config file's `retention`].
    #[arg(long, value_name = "DAYS")]
    pub max_age_days: Option<f64>,
    /// Without --keep and --max-age-days: the retention of this environment of the config file.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The config file whose `retention` applies without --keep and --max-age-days [default:
    /// migrate.toml].
    #[arg(long, env = "MIGRATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Say which backups would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `migrate restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup: an id or the path of its file or manifest.
    pub backup: String,
    /// Where backups live.
    #[command(flatten)]
    pub dir: BackupDirArg,
    /// Parallel pg_restore jobs (default: CPUs, at most 4).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Drop the replaced database instead of keeping it renamed and read-only.
    #[arg(long)]
    pub drop_previous: bool,
}

/// How `migrate rollback` undoes migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StrategyArg {
    /// The fastest strategy that loses no data.
    #[default]
    Auto,
    /// Only the migrations' down.sql.
    Down,
    /// Only restoring the backup taken before them.
    Restore,
}

/// `migrate rollback`.
#[derive(Debug, Args)]
#[group(id = "what", required = true, multiple = false, args = ["to", "last_deployment"])]
pub struct RollbackArgs {
    /// Undo every migration applied after MIGRATION (which stays applied).
    #[arg(long, value_name = "MIGRATION")]
    pub to: Option<String>,
    /// Undo the newest deployment of the journal whose migrations are still applied.
    #[arg(long)]
    pub last_deployment: bool,
    /// Which strategy to use.
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto)]
    pub strategy: StrategyArg,
    /// Show the plan and what it would lose; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where backups live.
    #[command(flatten)]
    pub dir: BackupDirArg,
}

/// `migrate maintenance`.
#[derive(Debug, Args)]
pub struct MaintenanceArgs {
    /// The switch.
    #[command(subcommand)]
    pub command: MaintenanceCommand,
}

/// `migrate maintenance …`.
#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Emergency read-only mode: `on` sets default_transaction_read_only on the database and
    /// ends its sessions so they reconnect read-only; `off` lifts it.
    ReadOnly {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// The databases restores kept (unless `restore --drop-previous`; named `<db>_pre_restore_…`):
    /// lists them, or drops one with --drop NAME (asks first; --yes answers).
    PreviousDatabases {
        /// Drop this one.
        #[arg(long, value_name = "NAME")]
        drop: Option<String>,
    },
}

/// `migrate history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many deployments to show.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

/// `migrate rehearse`.
#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Load this backup (its manifest, `backup_….json`) first: rehearse on production data.
    #[arg(long, value_name = "MANIFEST")]
    pub from_backup: Option<PathBuf>,
    /// Skip the forced rollback drill.
    #[arg(long)]
    pub no_drill: bool,
}

/// Whether the global option `arg` (its id) does anything for the command at `path` (`"deploy"`,
/// `"backup list"`); the parents of nested commands keep what one of their children uses.
fn global_applies(path: &str, arg: &str) -> bool {
    let first = path.split(' ').next().unwrap_or_default();
    match arg {
        // Backups of the files alone (listing, pruning), and commands without a database.
        "database_url" => !matches!(
            path,
            "backup list" | "backup prune" | "completions" | "man" | "rehearse"
        ),
        "migrations_dir" => matches!(
            first,
            "" | "deploy" | "status" | "plan" | "resolve" | "baseline" | "rehearse" | "rollback"
        ),
        // The commands that confirm, and deploy (whose --approve help says what --yes does not).
        "yes" => matches!(first, "" | "deploy" | "baseline" | "restore" | "rollback"),
        // The commands that take the migration lock.
        "lock_timeout" => matches!(first, "" | "deploy" | "resolve" | "baseline" | "rollback"),
        _ => true,
    }
}

/// The global options hidden from the commands they do not apply to.
const TAILORED: [&str; 4] = ["database_url", "migrations_dir", "yes", "lock_timeout"];

/// Gives `cmd` (at `path`) and its subcommands a hidden copy of each global option that does
/// not apply there, before clap propagates the global options: propagation leaves a command
/// that already has the option alone, and the copy stays global, so its value still reaches
/// [`Cli`] wherever it is given. (Hiding after `build()` would leave clap's lookup tables
/// stale.)
fn tailor(mut cmd: clap::Command, path: &str, globals: &[clap::Arg]) -> clap::Command {
    if !path.is_empty() {
        for arg in globals {
            let id = arg.get_id().as_str();
            let present = cmd.get_arguments().any(|a| a.get_id() == id);
            if !present && !global_applies(path, id) {
                cmd = cmd.arg(arg.clone().hide(true));
            }
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| tailor(sub, &sub_path, globals));
    }
    cmd
}
