//! Connecting to PostgreSQL from a `DATABASE_URL` as Prisma users write it.

mod connect;
mod error;
mod runtime;
mod url;

pub use connect::{connect, connect_creating, database_missing};
pub use error::ConnectError;
pub use runtime::off_runtime;
pub use url::{DatabaseUrl, SslMode};
