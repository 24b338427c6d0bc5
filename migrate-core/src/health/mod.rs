//! Health checks after a deployment: the [`HealthProbe`] trait, its SQL, HTTP and command
//! probes, and [`run_probes`], which retries each failing probe within a [`RetryWindow`].

mod command;
mod config;
mod error;
mod http;
mod probe;
mod redact;
mod run;
mod sql;

pub use command::CommandProbe;
pub use config::{CommandSpec, HealthConfig, ProbeConfig};
pub(crate) use error::error_chain;
pub use error::{HealthError, ProbeFailure};
pub use http::HttpProbe;
pub(crate) use http::{check_http_url, http_agent};
pub use probe::{HealthProbe, ProbeContext};
pub use redact::{redact_text, redact_url};
pub use run::{run_probes, HealthReport, ProbeOutcome, RetryWindow};
pub use sql::SqlProbe;
