//! Errors of parsing a database URL and connecting.

use std::path::PathBuf;

/// What can go wrong with a database URL or a connection. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No URL was given.
    #[error("no database URL: set DATABASE_URL or pass --database-url")]
    Missing,
    /// The URL cannot be understood.
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with its password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA certificate named by `sslrootcert` (or Prisma's `sslcert`) cannot be used.
    #[error("cannot use the CA certificate {}: {reason}", path.display())]
    RootCertificate {
        /// The certificate file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The TLS library could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] native_tls::Error),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// Where we tried to connect (no password).
        target: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
    /// The connection was made but setting it up (search path, schema) failed.
    #[error("cannot prepare the session on {target}: {source}")]
    Session {
        /// Where we are connected (no password).
        target: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
}
