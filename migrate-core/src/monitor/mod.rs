//! Monitoring: deployment [`Event`](crate::Event)s delivered to sinks (NDJSON lines, a webhook),
//! fanned out from the engine's progress callback.

mod error;

pub use error::MonitorError;
