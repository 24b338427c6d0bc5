//! Running one migration script with its lock policy: timeouts, watchdog, retries.

use std::time::Instant;

use postgres::error::SqlState;
use postgres::Client;

use super::watchdog::{run_watched, Watched};
use super::{Event, LockClass, LockPolicy};
use crate::ledger::LockHolder;
use crate::safety::{ir::Action, parse_script};
use crate::sql::quote_ident;

/// One migration script about to run.
pub(crate) struct ScriptRun<'a> {
    pub name: &'a str,
    pub sql: &'a str,
    /// True when PostgreSQL rolls the whole script back on failure (no inner COMMIT), so it can
    /// be retried.
    pub atomic: bool,
    pub policy: &'a LockPolicy,
}

/// A script that failed for good.
pub(crate) struct Failed {
    pub error: postgres::Error,
    pub blocker: Option<LockHolder>,
    pub attempts: u32,
}

impl ScriptRun<'_> {
    /// Runs the script, retrying lock timeouts and watchdog cancels of an atomic script.
    pub(crate) fn execute(
        &self,
        client: &mut Client,
        mut watch: Option<&mut Client>,
        pid: i32,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), Failed> {
        let class = LockClass::of(self.sql);
        let mut attempt = 1;
        loop {
            let (result, watched) =
                self.attempt(client, watch.as_deref_mut(), pid, class, attempt, events);
            let Err(error) = result else { return Ok(()) };
            // A deadlock victim is rolled back whole, like a lock timeout: a CONCURRENTLY build
            // meets one when a session (a Prisma CLI deploy, say) blocks in pg_advisory_lock
            // while holding the snapshot the build waits for.
            let retryable = self.atomic
                && (error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
                    || error.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
                    || (watched.cancelled && error.code() == Some(&SqlState::QUERY_CANCELED)));
            if !retryable || attempt > self.policy.retries {
                return Err(Failed {
                    error,
                    blocker: watched.blocker,
                    attempts: attempt,
                });
            }
            self.clean_invalid_indexes(client);
            attempt += 1;
            let delay = self.policy.delay(attempt - 1);
            let reason = match (&watched.blocker, watched.cancelled) {
                (_, true) => {
                    "cancelled by the watchdog: application sessions queued behind it".to_owned()
                }
                (_, false) if error.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) => {
                    "deadlock with another session, rolled back by PostgreSQL".to_owned()
                }
                (Some(b), false) => format!("lock timeout, held by {b}"),
                (None, false) => "lock timeout".to_owned(),
            };
            events(&Event::Retry {
                migration: self.name.to_owned(),
                attempt,
                delay,
                reason,
            });
            std::thread::sleep(delay);
        }
    }

    fn attempt(
        &self,
        client: &mut Client,
        watch: Option<&mut Client>,
        pid: i32,
        class: LockClass,
        attempt: u32,
        events: &mut dyn FnMut(&Event),
    ) -> (Result<(), postgres::Error>, Watched) {
        let mut settings = Vec::new();
        if let Some(t) = self.policy.timeout_for_attempt(class, attempt) {
            settings.push(format!("SET lock_timeout = {}", t.as_millis().max(1)));
        }
        if let Some(t) = self.policy.statement_timeout {
            settings.push(format!("SET statement_timeout = {}", t.as_millis().max(1)));
        }
        // Separate round trips: prefixing the script would add statements to it, and a file
        // holding only CREATE INDEX CONCURRENTLY must stay a single statement.
        for setting in &settings {
            if let Err(e) = client.batch_execute(setting) {
                return (Err(e), Watched::default());
            }
        }
        let started = Instant::now();
        let outcome = match watch {
            Some(watch) => {
                run_watched(client, watch, pid, self.name, self.sql, self.policy, events)
            }
            None => (client.batch_execute(self.sql), Watched::default()),
        };
        log::debug!(target: "migrate_core::executor", "{} ran in {:?}", self.name, started.elapsed());
        if !settings.is_empty() && !client.is_closed() {
            let _ = client.batch_execute("RESET lock_timeout; RESET statement_timeout");
        }
        outcome
    }

    /// A failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index behind, which would make the
    /// retry fail ("already exists") or, with IF NOT EXISTS, silently keep a useless index.
    pub(crate) fn clean_invalid_indexes(&self, client: &mut Client) {
        let names = parse_script(self.sql)
            .into_iter()
            .flat_map(|s| s.actions)
            .filter_map(|a| match a {
                Action::CreateIndex {
                    name: Some(name),
                    concurrently: true,
                    ..
                } => Some(name),
                _ => None,
            });
        for name in names {
            let invalid: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE c.relname = $1 AND NOT i.indisvalid)",
                    &[&name],
                )
                .map(|r| r.get(0))
                .unwrap_or(false);
            if invalid {
                log::warn!(target: "migrate_core::executor", "dropping INVALID index {name} left by the failed build");
                let _ = client.batch_execute(&format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {}",
                    quote_ident(&name)
                ));
            }
        }
    }
}
