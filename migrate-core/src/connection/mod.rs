//! Connecting to PostgreSQL from a `DATABASE_URL` as Prisma users write it.

mod connect;
mod error;
mod url;

pub use connect::connect;
pub use error::ConnectError;
pub use url::{DatabaseUrl, SslMode};
