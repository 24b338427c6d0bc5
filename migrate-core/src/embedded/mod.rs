//! A throwaway PostgreSQL cluster started from the installed server binaries.
//!
//! Used by the project's database tests and by `migrate rehearse`. The cluster
//! lives in a temporary directory that is deleted, after stopping the server,
//! when the [`EmbeddedCluster`] is dropped or the process exits in any way.
//!
//! ```no_run
//! use migrate_core::embedded::EmbeddedCluster;
//!
//! let cluster = EmbeddedCluster::start()?;
//! let database = cluster.create_database("example")?;
//! let mut client = cluster.connect(&database)?;
//! client.batch_execute("CREATE TABLE t (id int)")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod binaries;
mod cluster;
mod error;
mod names;
mod os_user;
mod password;
mod process;
mod reaper;
mod settings;

pub use binaries::{find_bin_dir, server_major_version};
pub use cluster::{EmbeddedCluster, EmbeddedOptions};
pub use error::EmbeddedError;
