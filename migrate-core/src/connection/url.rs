//! `DATABASE_URL` parsing with Prisma's parameters, and redaction of secrets.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::ConnectError;

/// How TLS is used, with libpq's meaning of each mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it, without verifying the certificate (libpq's default).
    #[default]
    Prefer,
    /// Require TLS; verify the certificate chain only when a root certificate is given.
    Require,
    /// Require TLS and a certificate signed by a trusted CA.
    VerifyCa,
    /// Require TLS, a trusted certificate, and a host name matching it.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                "sslmode={other:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }
}

/// Parameters Prisma's query engine understands that mean nothing to the server: accepted and
/// dropped, never sent.
const PRISMA_ONLY: &[&str] = &[
    "connection_limit",
    "pool_timeout",
    "pgbouncer",
    "statement_cache_size",
    "socket_timeout",
    "max_connection_lifetime",
    "max_idle_connection_lifetime",
    "sslidentity",
    "sslpassword",
    "channel_binding",
    "single_use_connections",
];

/// A secret that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

/// A PostgreSQL connection URL as Prisma users write it, e.g.
/// `postgresql://user:pass@host:5432/db?schema=app&sslmode=require&connection_limit=5`.
///
/// Prisma-only parameters (`schema`, `connection_limit`, `pool_timeout`, `pgbouncer`, …) are
/// understood or dropped and never sent to the server. `schema` becomes the session's
/// `search_path` and the schema that holds `_prisma_migrations`. The password is redacted in
/// `Display` and `Debug`, and therefore in every log line and error that shows the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    host: String,
    port: u16,
    user: String,
    password: Option<Secret>,
    database: String,
    schema: Option<String>,
    ssl_mode: SslMode,
    ssl_root_cert: Option<PathBuf>,
    ssl_accept_invalid_certs: bool,
    connect_timeout: Duration,
    application_name: Option<String>,
    options: Option<String>,
    pgbouncer: bool,
    warnings: Vec<String>,
    redacted: String,
}

impl DatabaseUrl {
    /// Reads `DATABASE_URL` from the environment.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Missing`] when unset or empty, [`ConnectError::InvalidUrl`] when invalid.
    pub fn from_env() -> Result<Self, ConnectError> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url.parse(),
            _ => Err(ConnectError::Missing),
        }
    }

    /// The host name, address, or unix-socket directory (starting with `/`).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (default 5432).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password, for handing to the driver or to a child process's environment. Never print
    /// it.
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|s| s.0.as_str())
    }

    /// The database name (libpq's default: the user name).
    #[must_use]
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Prisma's `?schema=` parameter: the search path and the ledger's schema.
    #[must_use]
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The TLS mode.
    #[must_use]
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The CA certificate to verify the server with (`sslrootcert`, or Prisma's `sslcert`).
    #[must_use]
    pub fn ssl_root_cert(&self) -> Option<&std::path::Path> {
        self.ssl_root_cert.as_deref()
    }

    /// True when Prisma's `sslaccept=accept_invalid_certs` was given.
    #[must_use]
    pub fn ssl_accept_invalid_certs(&self) -> bool {
        self.ssl_accept_invalid_certs
    }

    /// Connection timeout (`connect_timeout`, seconds; Prisma's default is 5).
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The `application_name` sent to the server (default `migrate`), which names our sessions in
    /// `pg_stat_activity`.
    #[must_use]
    pub fn application_name(&self) -> &str {
        self.application_name.as_deref().unwrap_or("migrate")
    }

    /// The libpq `options` parameter, passed to the server unchanged.
    #[must_use]
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// True when `pgbouncer=true`: the URL points at a transaction-pooling proxy, where session
    /// advisory locks and session settings do not hold.
    #[must_use]
    pub fn is_pgbouncer(&self) -> bool {
        self.pgbouncer
    }

    /// Things worth telling the user about this URL (unknown parameters dropped, pgbouncer).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The same server and credentials, another database.
    #[must_use]
    pub fn with_database(&self, database: &str) -> Self {
        let mut url = self.clone();
        url.database = database.to_owned();
        url.redacted = replace_path(&self.redacted, database);
        url
    }

    /// `host:port/database`, for messages.
    #[must_use]
    pub fn target(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }
}

fn replace_path(redacted: &str, database: &str) -> String {
    // The redacted form is a valid URL by construction; rebuild its path only.
    match url::Url::parse(redacted) {
        Ok(mut u) => {
            u.set_path(&format!("/{}", utf8_percent(database)));
            u.to_string()
        }
        Err(_) => redacted.to_owned(),
    }
}

fn utf8_percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl FromStr for DatabaseUrl {
    type Err = ConnectError;

    fn from_str(raw: &str) -> Result<Self, ConnectError> {
        let mut parsed = url::Url::parse(raw.trim()).map_err(|e| ConnectError::InvalidUrl {
            url: redact_unparsable(raw),
            reason: e.to_string(),
        })?;
        if parsed.password().is_some() {
            // Cannot fail: the URL has a host, since it has a password.
            let _ = parsed.set_password(Some("********"));
        }
        let redacted = redact_query(&parsed);
        let invalid = |reason: String| ConnectError::InvalidUrl {
            url: redacted.clone(),
            reason,
        };
        if !matches!(parsed.scheme(), "postgresql" | "postgres") {
            return Err(invalid(format!(
                "scheme {:?} is not postgresql:// or postgres://",
                parsed.scheme()
            )));
        }
        let password = url::Url::parse(raw.trim())
            .ok()
            .and_then(|u| u.password().map(decode))
            .map(Secret);
        let user = decode(parsed.username());
        let mut url = Self {
            host: match parsed.host() {
                Some(url::Host::Ipv6(addr)) => addr.to_string(),
                Some(host) => decode(&host.to_string()),
                None => "localhost".to_owned(),
            },
            port: parsed.port().unwrap_or(5432),
            database: match decode(parsed.path().trim_start_matches('/')) {
                db if db.is_empty() => user.clone(),
                db => db,
            },
            user,
            password,
            schema: None,
            ssl_mode: SslMode::default(),
            ssl_root_cert: None,
            ssl_accept_invalid_certs: false,
            connect_timeout: Duration::from_secs(5),
            application_name: None,
            options: None,
            pgbouncer: false,
            warnings: Vec::new(),
            redacted: String::new(),
        };
        for (key, value) in parsed.query_pairs() {
            url.apply_param(&key, &value).map_err(&invalid)?;
        }
        if url.user.is_empty() {
            return Err(invalid(
                "no user name (postgresql://USER:PASSWORD@HOST/DB)".into(),
            ));
        }
        if url.pgbouncer {
            url.warnings.push(
                "pgbouncer=true: migrations need a session; point the URL at PostgreSQL directly \
                 (Prisma's directUrl), since advisory locks do not hold through transaction pooling"
                    .into(),
            );
        }
        url.redacted = redacted;
        Ok(url)
    }
}

impl DatabaseUrl {
    fn apply_param(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "schema" => {
                if value.is_empty() {
                    return Err("schema= is empty".into());
                }
                self.schema = Some(value.to_owned());
            }
            "sslmode" => self.ssl_mode = value.parse()?,
            // Prisma's `sslcert` is the server's CA certificate, libpq's is `sslrootcert`.
            "sslrootcert" | "sslcert" => self.ssl_root_cert = Some(PathBuf::from(value)),
            "sslaccept" => {
                self.ssl_accept_invalid_certs = match value {
                    "accept_invalid_certs" => true,
                    "strict" => false,
                    other => {
                        return Err(format!(
                            "sslaccept={other:?} is not strict or accept_invalid_certs"
                        ))
                    }
                }
            }
            "connect_timeout" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| format!("connect_timeout={value:?} is not a number of seconds"))?;
                // 0 means "no timeout" for Prisma and libpq; keep a generous bound instead.
                self.connect_timeout = Duration::from_secs(if secs == 0 { 3600 } else { secs });
            }
            "application_name" => self.application_name = Some(value.to_owned()),
            "options" => self.options = Some(value.to_owned()),
            "host" => self.host = value.to_owned(),
            "port" => {
                self.port = value
                    .parse()
                    .map_err(|_| format!("port={value:?} is not a port number"))?;
            }
            "pgbouncer" => self.pgbouncer = value == "true",
            k if PRISMA_ONLY.contains(&k) => {}
            other => self.warnings.push(format!(
                "unknown URL parameter {other:?} ignored (not sent to the server)"
            )),
        }
        Ok(())
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Secret-bearing query parameters are redacted too.
fn redact_query(url: &url::Url) -> String {
    let mut out = url.clone();
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if matches!(&*k, "password" | "sslpassword") {
                    "********".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    out.to_string()
}

/// A URL that does not even parse may still hold a password: keep only the scheme.
fn redact_unparsable(raw: &str) -> String {
    match raw.split_once("://") {
        Some((scheme, _)) if scheme.len() < 20 => format!("{scheme}://…"),
        _ => "(unparsable)".to_owned(),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prisma_url_and_drops_prisma_only_parameters() {
        let url: DatabaseUrl = "postgresql://u%40x:p%3Ass@db.example:6543/app?schema=tenant&sslmode=require&connection_limit=5&pool_timeout=10&pgbouncer=false"
            .parse()
            .unwrap();
        assert_eq!(url.user(), "u@x");
        assert_eq!(url.password(), Some("p:ss"));
        assert_eq!(
            (url.host(), url.port(), url.database()),
            ("db.example", 6543, "app")
        );
        assert_eq!(url.schema(), Some("tenant"));
        assert_eq!(url.ssl_mode(), SslMode::Require);
        assert!(url.warnings().is_empty(), "{:?}", url.warnings());
    }

    #[test]
    fn password_never_shows() {
        let url: DatabaseUrl = "postgres://u:hunter2secret@h/db?sslpassword=alsosecret"
            .parse()
            .unwrap();
        for shown in [
            url.to_string(),
            format!("{url:?}"),
            format!("{:?}", url.with_database("x")),
        ] {
            assert!(
                !shown.contains("hunter2secret") && !shown.contains("alsosecret"),
                "{shown}"
            );
            assert!(shown.contains("********"), "{shown}");
        }
        assert!(url
            .with_database("other")
            .to_string()
            .ends_with("/other?sslpassword=********"));
    }

    #[test]
    fn invalid_urls_say_why_without_the_password() {
        for (raw, needle) in [
            ("mysql://u:hunter2@h/db", "scheme"),
            ("postgresql://u:hunter2@h/db?sslmode=bogus", "sslmode"),
            ("postgresql://u:hunter2@h:99999/db", "invalid port"),
            (
                "postgresql://u:hunter2@h/db?connect_timeout=soon",
                "connect_timeout",
            ),
            ("postgresql://:hunter2@h/db", "no user"),
        ] {
            let err = raw.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(err.contains(needle), "{raw}: {err}");
            assert!(!err.contains("hunter2"), "{raw}: {err}");
        }
    }

    #[test]
    fn socket_host_and_defaults() {
        let url: DatabaseUrl = "postgresql://me@localhost?host=/var/run/postgresql"
            .parse()
            .unwrap();
        assert_eq!(url.host(), "/var/run/postgresql");
        assert_eq!(url.database(), "me");
        assert_eq!(url.port(), 5432);
        assert_eq!(url.ssl_mode(), SslMode::Prefer);
        let url: DatabaseUrl = "postgresql://me@[::1]:5433/d?foo=bar".parse().unwrap();
        assert_eq!(url.host(), "::1");
        assert_eq!(url.warnings().len(), 1);
    }

    proptest::proptest! {
        /// The fuzz target `database_url`'s property: whatever follows the credentials, the
        /// password shows in no Display, Debug or error (unless the input repeats it elsewhere).
        #[test]
        fn the_password_never_shows_whatever_follows(tail in ".{0,80}") {
            const SECRET: &str = "S3cretPassw0rdXYZ";
            let normalized: String =
                tail.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
            proptest::prop_assume!(!normalized.contains(SECRET));
            match format!("postgresql://user:{SECRET}@{tail}").parse::<DatabaseUrl>() {
                Ok(url) => {
                    proptest::prop_assert!(!url.to_string().contains(SECRET));
                    let debug = format!("{url:?}");
                    proptest::prop_assert!(!debug.contains(SECRET));
                }
                Err(e) => proptest::prop_assert!(!e.to_string().contains(SECRET), "{}", e),
            }
        }
    }
}
