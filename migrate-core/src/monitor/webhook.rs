//! [`WebhookSink`]: events POSTed to a URL from a background thread, Slack-compatible.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{event_json, EventSink, MonitorError};
use crate::event::Event;
use crate::health::{redact_text, redact_url};

/// Log target of the sinks.
const TARGET: &str = "migrate_core::monitor";

/// What a full queue gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The oldest queued event, so the latest (the deployment's outcome) still gets through.
    #[default]
    DropOldest,
    /// The event being sent.
    DropNewest,
}

/// Settings of a [`WebhookSink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Timeout of one POST, connection and answer included. By default, 5 s.
    pub timeout: Duration,
    /// Further attempts after a failed POST (transport error, 408, 429 or 5xx; other statuses
    /// are not retried). By default, 3.
    pub retries: u32,
    /// Pause before the first retry, doubled before each next one. By default, 250 ms.
    pub backoff: Duration,
    /// Events that may wait for delivery; more are dropped per `overflow`. By default, 1024.
    pub capacity: usize,
    /// Which event a full queue drops. By default, the oldest.
    pub overflow: Overflow,
    /// How long [`close`](EventSink::close) (and dropping the sink) waits for pending events.
    /// By default, 5 s.
    pub flush_timeout: Duration,
    /// Also post progress events (bytes of a backup, blocks of an index build), which come
    /// every few seconds. By default, false: a chat channel wants milestones and failures.
    pub progress: bool,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(250),
            capacity: 1024,
            overflow: Overflow::DropOldest,
            flush_timeout: Duration::from_secs(5),
            progress: false,
        }
    }
}

/// Counts of a [`WebhookSink`]'s events so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookStats {
    /// Accepted with a 2xx answer.
    pub delivered: u64,
    /// Given up after the last attempt, or on a status that is not retried.
    pub failed: u64,
    /// Dropped unsent: the queue was full, the sink was closed, or the flush wait ended.
    pub dropped: u64,
}

/// POSTs each event as `{"text": "<human line>", "event": {…}}` (Slack's incoming webhooks read
/// `text`; `event` is [`event_json`](super::event_json)'s form) to a URL. `text` is the event's
/// human line with `&`, `<` and `>` escaped as Slack requires.
///
/// [`send`](EventSink::send) only queues: a background thread delivers, in order, with a timeout
/// and retries with backoff per event. A full queue drops events (counted in
/// [`stats`](Self::stats)) rather than block. [`close`](EventSink::close), or dropping the sink,
/// waits up to [`WebhookOptions::flush_timeout`] for the queue to drain, so that the last events
/// of a short deployment are delivered. The URL's secrets never appear in logs, errors or
/// `Debug`.
pub struct WebhookSink {
    redacted: String,
    options: WebhookOptions,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when an event is queued or the sink is closed.
    wake: Condvar,
    /// Signalled when the worker finishes an event.
    idle: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    seq: u64,
    busy: bool,
    closed: bool,
    deadline: Option<Instant>,
    stats: WebhookStats,
    warned_overflow: bool,
    summarized: bool,
}

struct Job {
    seq: u64,
    body: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue stays consistent at every unlock, so a panic elsewhere does not spoil it.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WebhookSink {
    /// A sink POSTing to `url`, with its delivery thread started.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidWebhookUrl`] unless `url` is an absolute `http`/`https` URL;
    /// [`MonitorError::SpawnThread`] when the thread cannot be started.
    pub fn new(url: impl Into<String>, options: WebhookOptions) -> Result<Self, MonitorError> {
        let url = url.into();
        let redacted = redact_url(&url);
        crate::health::check_http_url(&url).map_err(|e| MonitorError::InvalidWebhookUrl {
            url: redacted.clone(),
            reason: match e {
                crate::health::HealthError::InvalidUrl { reason, .. } => reason,
                other => other.to_string(),
            },
        })?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            idle: Condvar::new(),
        });
        let worker = Worker {
            agent: crate::health::http_agent(options.timeout),
            url,
            redacted: redacted.clone(),
            options: options.clone(),
            shared: Arc::clone(&shared),
        };
        let handle = std::thread::Builder::new()
            .name("migrate-webhook".into())
            .spawn(move || worker.run())
            .map_err(MonitorError::SpawnThread)?;
        Ok(Self {
            redacted,
            options,
            shared,
            worker: Mutex::new(Some(handle)),
        })
    }

    /// The URL, redacted.
    #[must_use]
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// Counts so far.
    #[must_use]
    pub fn stats(&self) -> WebhookStats {
        self.shared.lock().stats
    }
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.redacted)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EventSink for WebhookSink {
    fn send(&self, event: &Event) {
        if event.is_progress() && !self.options.progress {
            return;
        }
        let text = slack_escape(&event.to_string());
        let mut queue = self.shared.lock();
        if queue.closed {
            queue.stats.dropped += 1;
            log::debug!(target: TARGET, "webhook {}: closed, event dropped: {text}", self.redacted);
            return;
        }
        // Numbered under the lock: numbers follow queue order even with concurrent senders.
        queue.seq += 1;
        let seq = queue.seq;
        let body = json!({ "text": text, "event": event_json(event, seq) }).to_string();
        if queue.jobs.len() >= self.options.capacity.max(1) {
            queue.stats.dropped += 1;
            if !queue.warned_overflow {
                queue.warned_overflow = true;
                log::warn!(target: TARGET, "webhook {}: delivery is behind, dropping events ({} queued)", self.redacted, queue.jobs.len());
            }
            match self.options.overflow {
                Overflow::DropOldest => {
                    queue.jobs.pop_front();
                }
                Overflow::DropNewest => return,
            }
        }
        queue.jobs.push_back(Job { seq, body });
        self.shared.wake.notify_one();
    }

    fn close(&self) {
        let mut queue = self.shared.lock();
        if !queue.closed {
            queue.closed = true;
            queue.deadline = Some(Instant::now() + self.options.flush_timeout);
            self.shared.wake.notify_all();
        }
        let deadline = queue.deadline.unwrap_or_else(Instant::now);
        while !queue.jobs.is_empty() || queue.busy {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            queue = self
                .shared
                .idle
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let drained = queue.jobs.is_empty() && !queue.busy;
        if !queue.summarized {
            queue.summarized = true;
            let pending = queue.jobs.len() + usize::from(queue.busy);
            let WebhookStats {
                delivered,
                failed,
                dropped,
            } = queue.stats;
            if failed > 0 || dropped > 0 || pending > 0 {
                log::warn!(target: TARGET, "webhook {}: {delivered} event(s) delivered, {failed} failed, {dropped} dropped, {pending} abandoned at close", self.redacted);
            } else {
                log::debug!(target: TARGET, "webhook {}: {delivered} event(s) delivered", self.redacted);
            }
        }
        drop(queue);
        let handle = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if drained {
                // The worker has seen `closed` with an empty queue, or is about to: a short join.
                let _ = handle.join();
            }
            // Otherwise the thread is left to finish its request within its own timeout; it
            // drops what is left once past the deadline.
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.close();
    }
}

/// Escapes what Slack's `text` would read as markup (`<@U123>`, `<!channel>`), as Slack asks.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The delivery thread.
struct Worker {
    agent: ureq::Agent,
    url: String,
    redacted: String,
    options: WebhookOptions,
    shared: Arc<Shared>,
}

/// How one POST ended.
enum Attempt {
    Delivered,
    Retry(String),
    GiveUp(String),
}

impl Worker {
    fn run(self) {
        let mut failing = false;
        while let Some(job) = self.next_job() {
            let result = self.deliver(&job);
            let mut queue = self.shared.lock();
            queue.busy = false;
            match result {
                Ok(()) => {
                    queue.stats.delivered += 1;
                    if failing {
                        log::info!(target: TARGET, "webhook {}: delivering again", self.redacted);
                        failing = false;
                    }
                }
                Err(reason) => {
                    queue.stats.failed += 1;
                    // One warning per outage, not one per event.
                    if failing {
                        log::debug!(target: TARGET, "webhook {}: event {} not delivered: {reason}", self.redacted, job.seq);
                    } else {
                        log::warn!(target: TARGET, "webhook {}: event {} not delivered: {reason}", self.redacted, job.seq);
                        failing = true;
                    }
                }
            }
            self.shared.idle.notify_all();
        }
    }

    /// The next event, or `None` once the sink is closed and drained (or past its flush
    /// deadline).
    fn next_job(&self) -> Option<Job> {
        let mut queue = self.shared.lock();
        loop {
            if queue.deadline.is_some_and(|d| Instant::now() >= d) && !queue.jobs.is_empty() {
                queue.stats.dropped += queue.jobs.len() as u64;
                queue.jobs.clear();
            }
            if let Some(job) = queue.jobs.pop_front() {
                queue.busy = true;
                return Some(job);
            }
            if queue.closed {
                self.shared.idle.notify_all();
                return None;
            }
            queue = self
                .shared
                .wake
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn deliver(&self, job: &Job) -> Result<(), String> {
        let mut backoff = self.options.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let reason = match self.post(&job.body) {
                Attempt::Delivered => return Ok(()),
                Attempt::GiveUp(reason) => return Err(reason),
                Attempt::Retry(reason) => reason,
            };
            if attempt > self.options.retries {
                return Err(format!("{reason} (after {attempt} attempt(s))"));
            }
            // Closing bounds the retries too: no pause that ends past the flush deadline.
            let deadline = self.shared.lock().deadline;
            if deadline.is_some_and(|d| Instant::now() + backoff >= d) {
                return Err(format!("{reason} (flush deadline reached)"));
            }
            log::debug!(target: TARGET, "webhook {}: event {} attempt {attempt} failed, retrying in {backoff:?}: {reason}", self.redacted, job.seq);
            std::thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
        }
    }

    fn post(&self, body: &str) -> Attempt {
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body);
        match response {
            Ok(response) => match response.status().as_u16() {
                200..=299 => Attempt::Delivered,
                status @ (408 | 429 | 500..=599) => Attempt::Retry(format!("status {status}")),
                status => Attempt::GiveUp(format!("status {status}")),
            },
            Err(e) => Attempt::Retry(redact_text(&crate::health::error_chain(&e), &self.url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escape_neutralizes_mentions() {
        assert_eq!(
            slack_escape("a < b && <!channel> >"),
            "a &lt; b &amp;&amp; &lt;!channel&gt; &gt;"
        );
    }
}
