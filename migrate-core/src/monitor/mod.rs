//! Monitoring: deployment [`Event`](crate::event::Event)s delivered to sinks — NDJSON lines
//! ([`NdjsonSink`]) and a webhook that never blocks the deployment ([`WebhookSink`]) — fanned out
//! from the engine's progress callback by [`Fanout`].

mod envelope;
mod error;
mod fanout;
mod ndjson;
mod sink;
mod webhook;

pub use envelope::event_json;
pub use error::MonitorError;
pub use fanout::Fanout;
pub use ndjson::NdjsonSink;
pub use sink::EventSink;
pub use webhook::{Overflow, WebhookOptions, WebhookSink, WebhookStats};
