//! Opening a session: TLS per `sslmode`, then Prisma's `search_path`.

use postgres::config::SslMode as PgSslMode;
use postgres::Client;
use postgres_native_tls::MakeTlsConnector;

use super::{ConnectError, DatabaseUrl, SslMode};
use crate::sql::quote_ident;

/// Opens a session on `url`, with TLS as its `sslmode` says and the search path set to its
/// `schema`, as Prisma's quaint does.
///
/// # Errors
///
/// [`ConnectError`] when TLS cannot be set up, the server cannot be reached or refuses us, or the
/// search path cannot be set. No message contains the password.
pub fn connect(url: &DatabaseUrl) -> Result<Client, ConnectError> {
    let mut config = postgres::Config::new();
    config
        .user(url.user())
        .dbname(url.database())
        .port(url.port())
        .connect_timeout(url.connect_timeout())
        .application_name(url.application_name())
        .keepalives(true);
    if url.host().starts_with('/') {
        config.host_path(url.host());
    } else {
        config.host(url.host());
    }
    if let Some(password) = url.password() {
        config.password(password);
    }
    if let Some(options) = url.options() {
        config.options(options);
    }
    config.ssl_mode(match url.ssl_mode() {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    });

    let mut client =
        config
            .connect(tls_connector(url)?)
            .map_err(|source| ConnectError::Connect {
                target: url.target(),
                source,
            })?;
    if let Some(schema) = url.schema() {
        // quaint sends the schema as the search path; SET works through any proxy too.
        client
            .batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))
            .map_err(|source| ConnectError::Session {
                target: url.target(),
                source,
            })?;
    }
    Ok(client)
}

/// The TLS connector for `url`'s settings, built once per process and settings: building one
/// sets up an OpenSSL context with the system's certificates, tens of milliseconds that every
/// session would pay again (a deployment opens several).
fn tls_connector(url: &DatabaseUrl) -> Result<MakeTlsConnector, ConnectError> {
    type Key = (Option<std::path::PathBuf>, SslMode, bool);
    static BUILT: std::sync::Mutex<Vec<(Key, native_tls::TlsConnector)>> =
        std::sync::Mutex::new(Vec::new());
    let key: Key = (
        url.ssl_root_cert().map(std::path::Path::to_owned),
        url.ssl_mode(),
        url.ssl_accept_invalid_certs(),
    );
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, connector)) = built.iter().find(|(k, _)| *k == key) {
        return Ok(MakeTlsConnector::new(connector.clone()));
    }
    let connector = build_tls(url)?;
    built.push((key, connector.clone()));
    Ok(MakeTlsConnector::new(connector))
}

fn build_tls(url: &DatabaseUrl) -> Result<native_tls::TlsConnector, ConnectError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = url.ssl_root_cert() {
        let pem = std::fs::read(path).map_err(|e| ConnectError::RootCertificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let cert =
            native_tls::Certificate::from_pem(&pem).map_err(|e| ConnectError::RootCertificate {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        builder.add_root_certificate(cert);
    }
    // libpq semantics: prefer/require only encrypt (require verifies the chain when a root
    // certificate is given); verify-ca checks the chain; verify-full checks the host name too.
    let (verify_chain, verify_host) = match url.ssl_mode() {
        SslMode::Disable | SslMode::Prefer => (false, false),
        SslMode::Require => (url.ssl_root_cert().is_some(), false),
        SslMode::VerifyCa => (true, false),
        SslMode::VerifyFull => (true, true),
    };
    let relaxed = url.ssl_accept_invalid_certs();
    builder
        .danger_accept_invalid_certs(!verify_chain || relaxed)
        .danger_accept_invalid_hostnames(!verify_host || relaxed);
    builder.build().map_err(ConnectError::Tls)
}

/// Connects to `url`, creating the database first when it does not exist (as Prisma's deploy
/// does; another session creating it meanwhile is fine).
///
/// # Errors
///
/// As [`connect`], and [`ConnectError::Session`] when the database cannot be created.
pub fn connect_creating(url: &DatabaseUrl) -> Result<Client, ConnectError> {
    match connect(url) {
        Err(e) if names_a_missing_database(&e) => create_database(url),
        other => other,
    }
}

/// Whether `url`'s database does not exist (the server says so when connecting).
///
/// # Errors
///
/// As [`connect`], for any other reason not to connect.
pub fn database_missing(url: &DatabaseUrl) -> Result<bool, ConnectError> {
    match connect(url) {
        Ok(_) => Ok(false),
        Err(e) if names_a_missing_database(&e) => Ok(true),
        Err(e) => Err(e),
    }
}

/// "database … does not exist" (SQLSTATE 3D000 at connection).
fn names_a_missing_database(e: &ConnectError) -> bool {
    matches!(
        e,
        ConnectError::Connect { source, .. }
            if source.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME)
    )
}

/// Creates `url`'s database from the `postgres` maintenance database, then connects to it.
fn create_database(url: &DatabaseUrl) -> Result<Client, ConnectError> {
    let admin = url.with_database("postgres");
    let mut client = connect(&admin)?;
    let sql = format!("CREATE DATABASE {}", quote_ident(url.database()));
    match client.batch_execute(&sql) {
        // Another replica created it first, or at the same time.
        Err(e) if created_meanwhile(&e) => {}
        Err(source) => {
            return Err(ConnectError::Session {
                target: admin.target(),
                source,
            })
        }
        Ok(()) => log::info!(target: "migrate_core::deploy", "created database {}", url.database()),
    }
    connect(url)
}

/// Whether `CREATE DATABASE` failed because another session created the same database: 42P04
/// when its row was committed before ours was checked, or 23505 on `pg_database`'s unique name
/// index when both sessions inserted their row at once (concurrent replicas deploying to a
/// database that does not exist yet).
fn created_meanwhile(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    match e.code() {
        Some(code) if *code == SqlState::DUPLICATE_DATABASE => true,
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => e
            .as_db_error()
            .and_then(postgres::error::DbError::constraint)
            .is_none_or(|c| c == "pg_database_datname_index"),
        _ => false,
    }
}
