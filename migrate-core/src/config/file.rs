//! The `migrate.toml` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, DotEnv, VarSource};
use crate::health::HealthConfig;

/// The default configuration file name, in the working directory.
pub const CONFIG_FILE: &str = "migrate.toml";

/// `migrate.toml`:
///
/// ```toml
/// migrations_dir = "prisma/migrations"
/// backup_dir = "backups"
/// retention = { keep = 10, max_age_days = 30 }   # pruned after each successful deployment
/// old_app = "shop-v41"               # deploy --stage contract waits for it to drain
///
/// [environments.staging]
/// url_env = "STAGING_DATABASE_URL"
///
/// [environments.production]
/// url_env = "DATABASE_URL"
/// promote_from = "staging"          # promotion gate (on by default when set)
/// backup_verify_level = 2
/// backup_mode = "auto"               # full | scoped | auto: data of the tables at risk only
/// auto_rollback = true
/// on_drift = "refuse"                # schema changed by hand since the last deployment
/// lock_timeout_ms = 3000
/// retries = 5
/// webhook_env = "SLACK_WEBHOOK_URL"
/// [environments.tenants]
/// targets = "tenants.toml"          # a fleet: `migrate fleet deploy --env tenants`
/// [environments.production.health]
/// window_secs = 60
/// probes = [{ kind = "http", url = "https://app.example.com/healthz", timeout_ms = 2000 }]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The migrations directory (default `prisma/migrations`).
    pub migrations_dir: Option<PathBuf>,
    /// Where backups go (default `backups`).
    pub backup_dir: Option<PathBuf>,
    /// Which backups to keep; applied after each successful deployment that took one (default:
    /// all).
    pub retention: Option<RetentionConfig>,
    /// The old version's `application_name`, for the drain check of `deploy --stage contract`
    /// (an environment's `old_app` wins).
    pub old_app: Option<String>,
    /// The environments, by name.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
}

/// One environment and its policies.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The environment variable holding the database URL (never the URL itself: it has a
    /// password). Default `DATABASE_URL`.
    pub url_env: Option<String>,
    /// Require approval of destructive changes (default true).
    pub approval_required: Option<bool>,
    /// Take a backup before migrating (default true).
    pub backup: Option<bool>,
    /// Backup directory for this environment (default the file's `backup_dir`).
    pub backup_dir: Option<PathBuf>,
    /// Which backups of this environment to keep (default the file's `retention`).
    pub retention: Option<RetentionConfig>,
    /// Verification level the backup must pass, 1–4 (default 2).
    pub backup_verify_level: Option<u8>,
    /// Which backup: `full`, `scoped` (the whole schema, the data of the tables the pending
    /// migrations put at risk) or `auto` (scoped when the analyzer bounds them; default).
    pub backup_mode: Option<crate::backup::BackupMode>,
    /// Roll back automatically on failure (default true).
    pub auto_rollback: Option<bool>,
    /// What to do when the schema changed since the last deployment: `warn` (default),
    /// `refuse` or `ignore`.
    pub on_drift: Option<crate::journal::DriftPolicy>,
    /// `lock_timeout` in ms for blocking DDL (default 3000).
    pub lock_timeout_ms: Option<u64>,
    /// Retries after a lock timeout (default 5).
    pub retries: Option<u32>,
    /// The environment variable holding a webhook URL for alerts.
    pub webhook_env: Option<String>,
    /// The environment that must have deployed the same migrations first.
    pub promote_from: Option<String>,
    /// The promotion gate (default: on when `promote_from` is set).
    pub promotion_gate: Option<bool>,
    /// Health probes after the deploy.
    #[serde(default)]
    pub health: HealthConfig,
    /// A targets file (`[[target]]` entries): this environment is a fleet of databases,
    /// deployed with `migrate fleet deploy --env NAME`. Relative to the working directory.
    pub targets: Option<PathBuf>,
    /// The old version's `application_name`, for the drain check of `deploy --stage contract`.
    pub old_app: Option<String>,
}

/// `retention = { keep = N, max_age_days = D }`: after each successful deployment that took a
/// backup, the backups beyond the `keep` newest, or older than `max_age_days`, are removed
/// (the newest one never is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep at most this many of the newest backups.
    pub keep: Option<usize>,
    /// Remove backups older than this many days.
    pub max_age_days: Option<f64>,
}

impl RetentionConfig {
    /// The store's retention.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Setting`] when `keep` is 0 or `max_age_days` is not a number of days
    /// >= 0.
    pub fn retention(&self) -> Result<crate::backup::Retention, ConfigError> {
        if self.keep == Some(0) {
            return Err(ConfigError::Setting {
                name: "retention.keep",
                reason: "must be at least 1 (the newest backup is always kept)".into(),
            });
        }
        let max_age = match self.max_age_days {
            Some(days) if days.is_finite() && days >= 0.0 => {
                Some(std::time::Duration::from_secs_f64(days * 86_400.0))
            }
            Some(_) => {
                return Err(ConfigError::Setting {
                    name: "retention.max_age_days",
                    reason: "must be a number of days >= 0".into(),
                })
            }
            None => None,
        };
        Ok(crate::backup::Retention {
            keep_last: self.keep,
            max_age,
        })
    }
}

impl ConfigFile {
    /// Reads `path`; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] or [`ConfigError::Invalid`] (with line and column).
    pub fn load(path: &Path) -> Result<Option<Self>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses the text of a config file (`path` is for messages).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the problem.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        };
        // The parser's own message quotes the offending line, which may hold a secret: say
        // where and what, without the source text.
        let file: Self = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or_else(String::new, |span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            });
            invalid(format!("{at}{}", redact_values(e.message())))
        })?;
        for (name, env) in &file.environments {
            for (key, var) in [("url_env", &env.url_env), ("webhook_env", &env.webhook_env)] {
                if var.as_deref().is_some_and(|v| !is_env_var_name(v)) {
                    // Never echo the value: a URL pasted here by mistake holds a password.
                    return Err(invalid(format!(
                        "environments.{name}.{key} must name an environment variable \
                         (letters, digits and _), not hold its value"
                    )));
                }
            }
            if let Some(level) = env.backup_verify_level {
                if !(1..=4).contains(&level) {
                    return Err(invalid(format!(
                        "environments.{name}.backup_verify_level = {level}: use 1 to 4"
                    )));
                }
            }
            if let Some(from) = &env.promote_from {
                if !file.environments.contains_key(from) {
                    let known: Vec<&str> = file.environments.keys().map(String::as_str).collect();
                    return Err(invalid(format!(
                        "environments.{name}.promote_from names no environment of this file \
                         (defined: {})",
                        known.join(", ")
                    )));
                }
                if from == name {
                    return Err(invalid(format!(
                        "environments.{name}.promote_from names itself"
                    )));
                }
            }
        }
        Ok(file)
    }

    /// The environment `name`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnknownEnvironment`] listing the defined ones.
    pub fn environment(&self, name: &str, path: &Path) -> Result<&Environment, ConfigError> {
        self.environments
            .get(name)
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.to_owned(),
                path: path.to_owned(),
                known: self.environments.keys().cloned().collect(),
            })
    }

    /// The retention that applies to environment `env` (its own, else the file's), or to the
    /// file when no environment is named; `None` when neither sets one. The same resolution as
    /// the deployments' automatic prune, so a manual `backup prune` removes what they would.
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnknownEnvironment`], or an invalid `keep`/`max_age_days`.
    pub fn retention_of(
        &self,
        env: Option<&str>,
        path: &Path,
    ) -> Result<Option<crate::backup::Retention>, ConfigError> {
        let own = match env {
            Some(name) => self.environment(name, path)?.retention,
            None => None,
        };
        own.or(self.retention).map(|r| r.retention()).transpose()
    }
}

impl Environment {
    /// The database URL, read from the environment variable this environment names.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingUrl`] when unset; an invalid URL is reported by the caller.
    pub fn url(&self, name: &str) -> Result<String, ConfigError> {
        self.url_in(name, &DotEnv::default()).map(|(url, _)| url)
    }

    /// The URL of this environment (named `name`) from its variable, read from the process
    /// environment or else the `.env` files, with where it came from.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingUrl`] when the variable is set nowhere,
    /// [`ConfigError::DotEnvConflict`] when the `.env` files disagree about it.
    pub fn url_in(&self, name: &str, dotenv: &DotEnv) -> Result<(String, VarSource), ConfigError> {
        let var = self
            .url_env
            .clone()
            .unwrap_or_else(|| "DATABASE_URL".to_owned());
        dotenv.var(&var)?.ok_or(ConfigError::MissingUrl {
            env: name.to_owned(),
            var,
        })
    }

    /// True when the promotion gate applies.
    #[must_use]
    pub fn gated(&self) -> bool {
        self.promote_from.is_some() && self.promotion_gate.unwrap_or(true)
    }
}

/// Whether `name` can be an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Hides the values a TOML/serde message quotes (`invalid type: string "…"`, ``unknown variant
/// `…` ``): a value may be a URL with a password or a token. What follows `, expected` is the
/// schema's own names and stays; so do the key names of ``missing field `…` `` and ``unknown
/// field `…` ``.
pub(crate) fn redact_values(message: &str) -> String {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message.to_owned();
    }
    let (head, tail) = message
        .find(", expected")
        .map_or((message, ""), |i| message.split_at(i));
    let mut out = String::with_capacity(message.len());
    let mut chars = head.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        let close = match c {
            '"' => '"',
            '`' => '`',
            '\'' => '\'',
            _ => continue,
        };
        out.push('…');
        // Skip to the closing quote (serde's Debug-escaped strings escape it with a backslash).
        let mut escaped = false;
        for c in chars.by_ref() {
            match c {
                '\\' if !escaped => escaped = true,
                c if c == close && !escaped => {
                    out.push(c);
                    break;
                }
                _ => escaped = false,
            }
        }
    }
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_app_at_the_top_level_and_per_environment() {
        let text = "old_app = \"shop-v41\"\n[environments.prod]\nold_app = \"shop-prod-v41\"\n";
        let file = ConfigFile::parse(text, Path::new("migrate.toml")).unwrap();
        assert_eq!(file.old_app.as_deref(), Some("shop-v41"));
        assert_eq!(
            file.environments["prod"].old_app.as_deref(),
            Some("shop-prod-v41")
        );
    }

    #[test]
    fn retention_from_the_top_level_or_an_environment_never_echoing_values() {
        let text =
            "retention = { keep = 3 }\n[environments.prod]\nretention = { max_age_days = 1.5 }\n";
        let file = ConfigFile::parse(text, Path::new("migrate.toml")).unwrap();
        let top = file.retention.unwrap().retention().unwrap();
        assert_eq!(top.keep_last, Some(3));
        let prod = file.environments["prod"]
            .retention
            .unwrap()
            .retention()
            .unwrap();
        assert_eq!(prod.max_age, Some(std::time::Duration::from_secs(129_600)));
        let zero = RetentionConfig {
            keep: Some(0),
            max_age_days: None,
        };
        assert!(zero.retention().is_err());
        let negative = RetentionConfig {
            keep: None,
            max_age_days: Some(-7.25),
        };
        let err = negative.retention().unwrap_err().to_string();
        assert!(!err.contains("7.25"), "{err}");
        assert!(ConfigFile::parse("retention = { keeep = 1 }\n", Path::new("m.toml")).is_err());

        let path = Path::new("m.toml");
        let of = |env| file.retention_of(env, path).unwrap().unwrap();
        assert_eq!(of(None).keep_last, Some(3));
        assert_eq!(of(Some("prod")).keep_last, None);
        assert!(of(Some("prod")).max_age.is_some());
        assert!(file.retention_of(Some("nope"), path).is_err());
        let bare = ConfigFile::parse("", path).unwrap();
        assert!(bare.retention_of(None, path).unwrap().is_none());
    }

    #[test]
    fn parses_environments_and_rejects_mistakes() {
        let text = "[environments.staging]\nurl_env = \"STAGING_URL\"\n\n[environments.production]\npromote_from = \"staging\"\nlock_timeout_ms = 2000\n[environments.production.health]\nprobes = [{ kind = \"sql\", query = \"SELECT 1\" }]\n";
        let file = ConfigFile::parse(text, Path::new("migrate.toml")).unwrap();
        let prod = file
            .environment("production", Path::new("migrate.toml"))
            .unwrap();
        assert!(prod.gated());
        assert_eq!(prod.health.probes.len(), 1);
        let err = file
            .environment("prod", Path::new("migrate.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("production, staging"), "{err}");

        for bad in [
            "[environments.p]\npromote_from = \"nowhere\"\n",
            "[environments.p]\nbackup_verify_level = 7\n",
            "[environments.p]\nurl = \"postgresql://u:secret@h/db\"\n",
            "[environments.p]\nurl_env = \"postgresql://u:secret@h/db\"\n",
            "[environments.p]\nwebhook_env = \"https://hooks.example/secret\"\n",
            "[environments.p]\nlock_timeout_ms = \"postgresql://u:secret@h/db\"\n",
            "[environments.p]\npromote_from = \"secret\"\n",
            "[environments.p.health]\nprobes = [{ kind = \"secret\" }]\n",
            "[environments.p.health]\nprobes = [{ kind = \"http\", url = 5, u = \"secret\" }]\n",
            "backup_dir = [\n",
        ] {
            let err = ConfigFile::parse(bad, Path::new("migrate.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("migrate.toml:"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    /// The keys of an environment, with values of every TOML type the fuzzer would try.
    const KEYS: &[&str] = &[
        "url_env",
        "approval_required",
        "backup",
        "backup_dir",
        "backup_verify_level",
        "backup_mode",
        "auto_rollback",
        "on_drift",
        "lock_timeout_ms",
        "retries",
        "webhook_env",
        "promote_from",
        "promotion_gate",
        "old_app",
        "nonsense",
    ];

    proptest::proptest! {
        /// The fuzz target `config`'s property: a secret pasted as any value, of any key, in any
        /// shape, never reaches the error message.
        #[test]
        fn no_value_reaches_an_error_message(
            key in proptest::sample::select(KEYS),
            shape in 0..6usize,
            env in "[a-z]{1,8}",
        ) {
            const SECRET: &str = "postgresql://u:S3cretPassw0rd@h/db";
            let value = match shape {
                0 => format!("\"{SECRET}\""),
                1 => format!("'{SECRET}'"),
                2 => format!("[\"{SECRET}\"]"),
                3 => format!("{{ x = \"{SECRET}\" }}"),
                4 => format!("\"\"\"\n{SECRET}\"\"\""),
                _ => format!("\"{SECRET}"), // unterminated
            };
            let text = format!("[environments.{env}]\n{key} = {value}\n");
            if let Err(e) = ConfigFile::parse(&text, Path::new("migrate.toml")) {
                proptest::prop_assert!(!e.to_string().contains("S3cret"), "{}", e);
            }
            let probe = format!(
                "[environments.{env}.health]\nprobes = [{{ kind = {value}, url = {value} }}]\n"
            );
            if let Err(e) = ConfigFile::parse(&probe, Path::new("migrate.toml")) {
                proptest::prop_assert!(!e.to_string().contains("S3cret"), "{}", e);
            }
        }

        /// Any text: an error naming the file, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused_naming_the_file(text in ".{0,200}") {
            if let Err(e) = ConfigFile::parse(&text, Path::new("migrate.toml")) {
                proptest::prop_assert!(e.to_string().starts_with("migrate.toml:"), "{}", e);
            }
        }
    }
}
