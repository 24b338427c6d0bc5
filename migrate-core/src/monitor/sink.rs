//! The [`EventSink`] trait.

use std::fmt;

use crate::event::Event;

/// Somewhere deployment events go: a file, a chat channel, a metrics system.
///
/// A sink never fails or slows the deployment: delivery problems are logged (target
/// `migrate_core::monitor`) and the event is dropped, and slow destinations are served from a
/// thread of the sink's own.
pub trait EventSink: Send + Sync + fmt::Debug {
    /// Takes one event, in deployment order. Must return quickly and never panic.
    fn send(&self, event: &Event);

    /// Delivers what is still pending, waiting a bounded time. Events sent afterwards may be
    /// dropped. By default, does nothing.
    fn close(&self) {}
}
