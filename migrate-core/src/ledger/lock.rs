//! The advisory lock Prisma Migrate takes, held through an RAII guard.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::Client;

use super::LedgerError;

/// Prisma's advisory lock key (`SELECT pg_advisory_lock(72707369)`): Prisma and this engine
/// exclude each other.
pub const LOCK_KEY: i64 = 72_707_369;

/// How long to wait for the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait at most this long, then fail naming the holder (Prisma waits 10 s).
    Bounded(Duration),
    /// Wait as long as it takes.
    Unbounded,
    /// Wait as long as the holder is working (its session running a statement); give up, naming
    /// it, once it has been idle for `idle` (a stuck or abandoned holder). For replicas starting
    /// together: they wait out a long migration instead of failing after Prisma's 10 s, then find
    /// nothing left to do.
    WhileBusy {
        /// How long the holder may sit idle before waiting stops.
        idle: Duration,
    },
    /// Take no lock, as Prisma does when `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set.
    ///
    /// ### Warning
    ///
    /// Concurrent deployments can then apply the same migration twice.
    Skip,
}

impl Default for LockWait {
    fn default() -> Self {
        Self::Bounded(Duration::from_secs(10))
    }
}

impl LockWait {
    /// The default, or [`LockWait::Skip`] when `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set to
    /// anything but `""` or `"0"`, like Prisma.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK") {
            Ok(v) if !v.is_empty() && v != "0" => Self::Skip,
            _ => Self::default(),
        }
    }
}

/// The session holding the migration lock, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LockHolder {
    /// Backend process id.
    pub pid: i32,
    /// `application_name` of the session.
    pub application_name: String,
    /// The last query of the session.
    pub query: String,
    /// `active`, `idle`, `idle in transaction`, …
    pub state: String,
    /// Seconds since that session's current state began.
    pub state_seconds: f64,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut query: String = self.query.split_whitespace().collect::<Vec<_>>().join(" ");
        if query.chars().count() > 120 {
            query = query.chars().take(117).collect::<String>() + "...";
        }
        write!(
            f,
            "pid {} (application {:?}, {} for {:.0}s, query {:?})",
            self.pid, self.application_name, self.state, self.state_seconds, query
        )
    }
}

/// The migration lock, held on a session until dropped.
///
/// Dropping the guard releases the lock on every path, `?` and panics included. If the session
/// is gone, PostgreSQL has released it already.
pub struct AdvisoryLock<'c> {
    client: &'c mut Client,
    held: bool,
    waited: Duration,
}

impl<'c> AdvisoryLock<'c> {
    /// Takes the lock on `client`, waiting as `wait` says. `on_wait` is called once, with the
    /// current holder, when the lock is not free at once.
    ///
    /// # Errors
    ///
    /// [`LedgerError::LockTimeout`] naming the holder's pid, application and query when the wait
    /// runs out; [`LedgerError::Query`] when the session fails.
    pub fn acquire(
        client: &'c mut Client,
        wait: LockWait,
        on_wait: &mut dyn FnMut(Option<&LockHolder>),
    ) -> Result<Self, LedgerError> {
        let start = Instant::now();
        if wait == LockWait::Skip {
            return Ok(Self {
                client,
                held: false,
                waited: Duration::ZERO,
            });
        }
        let free: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .map_err(LedgerError::query("taking the migration lock"))?
            .get(0);
        if !free {
            on_wait(lock_holder(client).ok().flatten().as_ref());
            if let LockWait::WhileBusy { idle } = wait {
                wait_while_busy(client, idle, start)?;
                return Ok(Self {
                    client,
                    held: true,
                    waited: start.elapsed(),
                });
            }
            // lock_timeout bounds advisory-lock waits too, and the server queues waiters fairly,
            // so replicas get the lock in arrival order without polling.
            let timeout_ms = match wait {
                LockWait::Bounded(d) => d.saturating_sub(start.elapsed()).as_millis().max(1),
                _ => 0,
            };
            let taken = client
                .batch_execute(&format!(
                    "SET lock_timeout = {timeout_ms}; SELECT pg_advisory_lock({LOCK_KEY}); RESET lock_timeout"
                ));
            if let Err(e) = taken {
                if e.code() != Some(&SqlState::LOCK_NOT_AVAILABLE) {
                    return Err(LedgerError::query("waiting for the migration lock")(e));
                }
                let holder = lock_holder(client).ok().flatten();
                let _ = client.batch_execute("RESET lock_timeout");
                return Err(LedgerError::LockTimeout {
                    timeout: match wait {
                        LockWait::Bounded(d) => d,
                        _ => start.elapsed(),
                    },
                    key: LOCK_KEY,
                    holder,
                });
            }
        }
        Ok(Self {
            client,
            held: true,
            waited: start.elapsed(),
        })
    }

    /// How long acquiring the lock took.
    #[must_use]
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// True when a lock is really held (false with [`LockWait::Skip`]).
    #[must_use]
    pub fn is_held(&self) -> bool {
        self.held
    }
}

impl Deref for AdvisoryLock<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
    }
}

impl DerefMut for AdvisoryLock<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
    }
}

impl Drop for AdvisoryLock<'_> {
    fn drop(&mut self) {
        if self.held && !self.client.is_closed() {
            if let Err(e) = self
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            {
                log::warn!(target: "migrate_core::ledger", "releasing the migration lock: {e}");
            }
        }
    }
}

/// The session holding Prisma's migration lock, if any.
/// Waits for the lock in slices of a second, going on while its holder is busy.
fn wait_while_busy(client: &mut Client, idle: Duration, start: Instant) -> Result<(), LedgerError> {
    loop {
        let taken = client.batch_execute(&format!(
            "SET lock_timeout = 1000; SELECT pg_advisory_lock({LOCK_KEY}); RESET lock_timeout"
        ));
        match taken {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                let _ = client.batch_execute("RESET lock_timeout");
                // None: released between the two queries; the next slice takes it.
                let Some(holder) = lock_holder(client).ok().flatten() else {
                    continue;
                };
                if holder.state != "active" && holder.state_seconds >= idle.as_secs_f64() {
                    return Err(LedgerError::LockTimeout {
                        timeout: start.elapsed(),
                        key: LOCK_KEY,
                        holder: Some(holder),
                    });
                }
            }
            Err(e) => return Err(LedgerError::query("waiting for the migration lock")(e)),
        }
    }
}

fn lock_holder(client: &mut Client) -> Result<Option<LockHolder>, postgres::Error> {
    // pg_advisory_lock(bigint) shows as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    let row = client.query_opt(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.query, ''), \
                coalesce(a.state, ''), \
                coalesce(extract(epoch FROM now() - a.state_change), 0)::float8 \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 \
           AND l.objid = $1::bigint::oid AND l.objsubid = 1 AND l.database = \
               (SELECT oid FROM pg_database WHERE datname = current_database()) \
         LIMIT 1",
        &[&LOCK_KEY],
    )?;
    Ok(row.map(|r| LockHolder {
        pid: r.get(0),
        application_name: r.get(1),
        query: r.get(2),
        state: r.get(3),
        state_seconds: r.get(4),
    }))
}
