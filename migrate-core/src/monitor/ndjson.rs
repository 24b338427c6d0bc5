//! [`NdjsonSink`]: one JSON object per line, to a file or standard output.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{event_json, EventSink, MonitorError};
use crate::event::Event;

/// Writes each event as one line of JSON ([`event_json`]: its serde form with `seq` and `ts`)
/// and flushes it, so a reader tailing the file sees events as they happen. Write errors are
/// logged once and the sink carries on.
pub struct NdjsonSink {
    target: String,
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    seq: u64,
    failed: bool,
}

impl NdjsonSink {
    /// Appends to `path`, creating it readable by its owner only (mode 0600: events name the
    /// database's objects and carry error messages).
    ///
    /// # Errors
    ///
    /// [`MonitorError::OpenEvents`] when the file cannot be opened.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, MonitorError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| MonitorError::OpenEvents {
                path: PathBuf::from(path),
                source,
            })?;
        Ok(Self::with_target(file, path.display().to_string()))
    }

    /// Writes to standard output (the CLI's `--json`). The library writes there only when its
    /// caller asks for this sink.
    #[must_use]
    pub fn stdout() -> Self {
        Self::with_target(std::io::stdout(), "standard output".to_owned())
    }

    /// Writes to `out`.
    #[must_use]
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self::with_target(out, "a writer".to_owned())
    }

    fn with_target(out: impl Write + Send + 'static, target: String) -> Self {
        Self {
            target,
            state: Mutex::new(State {
                out: Box::new(out),
                seq: 0,
                failed: false,
            }),
        }
    }
}

impl fmt::Debug for NdjsonSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NdjsonSink")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl EventSink for NdjsonSink {
    fn send(&self, event: &Event) {
        // A writer that panicked mid-line poisons the lock; later lines are still worth writing.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.seq += 1;
        let mut line = event_json(event, state.seq).to_string();
        line.push('\n');
        let written = state
            .out
            .write_all(line.as_bytes())
            .and_then(|()| state.out.flush());
        if let Err(e) = written {
            if state.failed {
                log::debug!(target: "migrate_core::monitor", "writing event {} to {} failed: {e}", state.seq, self.target);
            } else {
                log::warn!(target: "migrate_core::monitor", "writing events to {} failed: {e}", self.target);
                state.failed = true;
            }
        }
    }

    fn close(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = state.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn ndjson_sink_writes_one_numbered_object_per_line() {
        let buf = Shared::default();
        let sink = NdjsonSink::new(buf.clone());
        sink.send(&Event::LedgerCreated);
        sink.send(&Event::Warning {
            migration: None,
            message: "line\nbreak".into(),
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["event"], "ledger_created");
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[1]["message"], "line\nbreak");
        assert_eq!(lines[1]["seq"], 2);
    }
}
