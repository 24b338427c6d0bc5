//! [`Fanout`]: one event to many sinks, as the engine's callback.

use super::EventSink;
use crate::event::Event;

/// Forwards every event to each of its sinks, in the order they were added.
///
/// ```no_run
/// use migrate_core::monitor::{EventSink, Fanout, NdjsonSink};
/// use migrate_core::Engine;
///
/// let mut fanout = Fanout::new();
/// fanout.push(NdjsonSink::create("deploy-events.ndjson")?);
/// let engine = Engine::from_env()?;
/// engine.deploy_with(&mut fanout.as_callback())?;
/// fanout.close(); // or drop it: pending webhook deliveries get a bounded wait
/// # Ok::<(), migrate_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Fanout {
    sinks: Vec<Box<dyn EventSink>>,
}

impl Fanout {
    /// A fanout without sinks.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: impl EventSink + 'static) -> &mut Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a boxed sink.
    pub fn push_boxed(&mut self, sink: Box<dyn EventSink>) -> &mut Self {
        self.sinks.push(sink);
        self
    }

    /// Number of sinks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there are no sinks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// A callback for [`Engine::deploy_with`](crate::Engine::deploy_with) and the like.
    pub fn as_callback(&self) -> impl FnMut(&Event) + '_ {
        move |event| self.send(event)
    }
}

impl EventSink for Fanout {
    fn send(&self, event: &Event) {
        for sink in &self.sinks {
            sink.send(event);
        }
    }

    fn close(&self) {
        for sink in &self.sinks {
            sink.close();
        }
    }
}
