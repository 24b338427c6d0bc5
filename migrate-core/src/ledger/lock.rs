//! The advisory lock Prisma Migrate takes, held through an RAII guard.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use postgres::Client;

use super::LedgerError;
use crate::event::LockHolder;

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
    /// Waits while the holder works, giving up after a minute of its idleness: the holder's
    /// session also sits idle between lock-timeout retries (up to 15 s with the recommended
    /// policy), so a minute means it is stuck. What replicas deploying together want (the
    /// default of `Engine` and of the CLI).
    pub const WHILE_BUSY: Self = Self::WhileBusy {
        idle: Duration::from_secs(60),
    };

    /// The default, or [`LockWait::Skip`] when `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` is set to
    /// anything but `""` or `"0"`, like Prisma.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK") {
            Ok(v) if !v.is_empty() && v != "0" => Self::Skip,
            _ => Self::default(),
        }
    }

    /// What deployments wait by default: [`LockWait::WHILE_BUSY`] (replicas start together:
    /// wait out a long migration, not Prisma's 10 s), or [`LockWait::Skip`] as
    /// [`from_env`](Self::from_env) says.
    #[must_use]
    pub fn for_deployments() -> Self {
        match Self::from_env() {
            Self::Skip => Self::Skip,
            _ => Self::WHILE_BUSY,
        }
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
    /// Takes the lock on `client`, waiting as `wait` says. `on_wait` is called with the holder
    /// when the lock is not free at once, and again whenever another session is seen holding it.
    ///
    /// The wait polls `pg_try_advisory_lock` with a growing, jittered pause, outside any
    /// transaction. A blocking `pg_advisory_lock` would keep a snapshot open for its whole wait,
    /// and the holder's `CREATE INDEX CONCURRENTLY` waits for every such snapshot: a deadlock
    /// (40P01) as soon as replicas deploy together. Between two polls this session holds nothing.
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
        if wait == LockWait::Skip {
            return Ok(Self {
                client,
                held: false,
                waited: Duration::ZERO,
            });
        }
        let waited = poll_lock(
            client,
            wait,
            &LockQuery {
                take: "SELECT pg_try_advisory_lock($1::bigint)",
                held: HELD_KEY,
                key: LOCK_KEY,
                second: None,
            },
            on_wait,
        )?;
        Ok(Self {
            client,
            held: true,
            waited,
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

/// How to take one advisory lock without waiting, and how to see who holds it.
pub(crate) struct LockQuery<'a> {
    /// A query returning true when the lock was taken; `$1` is `key`, `$2` is `second`.
    pub take: &'a str,
    /// The condition on `pg_locks l` that picks the granted entry of the holder, with the same
    /// parameters.
    pub held: &'a str,
    /// The key (a `bigint`, or the first `int` of a two-key lock).
    pub key: i64,
    /// The second text parameter of a two-key lock.
    pub second: Option<&'a str>,
}

impl LockQuery<'_> {
    fn run(&self, client: &mut Client, sql: &str) -> Result<Vec<postgres::Row>, postgres::Error> {
        match self.second {
            Some(second) => client.query(sql, &[&self.key, &second]),
            None => client.query(sql, &[&self.key]),
        }
    }

    /// The session holding the lock, if another one does.
    fn holder(&self, client: &mut Client) -> Option<LockHolder> {
        let sql = format!(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.query, ''), \
                coalesce(a.state, ''), \
                coalesce(extract(epoch FROM now() - a.state_change), 0)::float8 \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND {} \
             LIMIT 1",
            self.held
        );
        let rows = self.run(client, &sql).ok()?;
        rows.first().map(|r| LockHolder {
            pid: r.get(0),
            application_name: r.get(1),
            query: r.get(2),
            state: r.get(3),
            state_seconds: r.get(4),
        })
    }
}

/// The migration lock: `pg_advisory_lock(bigint)` shows as classid = high 32 bits, objid = low
/// 32 bits, objsubid = 1.
const HELD_KEY: &str = "l.classid = (($1::bigint >> 32) & 4294967295)::oid \
     AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1";

/// Waits, as `wait` says, until no session holds the migration lock of `client`'s database:
/// another deployment applying migrations changes tables under anything that reads them all
/// (a dump). Returns how long that took.
///
/// # Errors
///
/// As [`poll_lock`]: [`LedgerError::LockTimeout`] when the wait runs out.
pub(crate) fn wait_until_free(
    client: &mut Client,
    wait: LockWait,
) -> Result<Duration, LedgerError> {
    if wait == LockWait::Skip {
        return Ok(Duration::ZERO);
    }
    poll_lock(
        client,
        wait,
        &LockQuery {
            take: "SELECT NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' \
                   AND l.granted AND l.database = (SELECT oid FROM pg_database \
                   WHERE datname = current_database()) \
                   AND l.classid = (($1::bigint >> 32) & 4294967295)::oid \
                   AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1)",
            held: HELD_KEY,
            key: LOCK_KEY,
            second: None,
        },
        &mut |_| {},
    )
}

/// Takes a lock by polling `query.take` until it succeeds or `wait` runs out; returns how long
/// that took. Pauses grow from 20 ms to 500 ms, with jitter so that waiters do not poll in
/// lockstep. `on_wait` hears of each new holder.
pub(crate) fn poll_lock(
    client: &mut Client,
    wait: LockWait,
    query: &LockQuery<'_>,
    on_wait: &mut dyn FnMut(Option<&LockHolder>),
) -> Result<Duration, LedgerError> {
    const FIRST_PAUSE: Duration = Duration::from_millis(20);
    const LONGEST_PAUSE: Duration = Duration::from_millis(500);
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut announced: Option<Option<i32>> = None;
    loop {
        let taken = query
            .run(client, query.take)
            .map_err(LedgerError::query("taking the migration lock"))?
            .first()
            .is_some_and(|r| r.get::<_, bool>(0));
        if taken {
            return Ok(start.elapsed());
        }
        let holder = query.holder(client);
        if announced != Some(holder.as_ref().map(|h| h.pid)) {
            announced = Some(holder.as_ref().map(|h| h.pid));
            on_wait(holder.as_ref());
        }
        let timed_out = match wait {
            LockWait::Bounded(limit) => start.elapsed() >= limit,
            // A holder that sits idle is stuck or abandoned; a working one is waited out.
            LockWait::WhileBusy { idle } => holder
                .as_ref()
                .is_some_and(|h| h.state != "active" && h.state_seconds >= idle.as_secs_f64()),
            LockWait::Unbounded | LockWait::Skip => false,
        };
        if timed_out {
            return Err(LedgerError::LockTimeout {
                timeout: match wait {
                    LockWait::Bounded(limit) => limit,
                    _ => start.elapsed(),
                },
                key: query.key,
                holder,
            });
        }
        let mut sleep = jittered(pause);
        if let LockWait::Bounded(limit) = wait {
            sleep = sleep.min(limit.saturating_sub(start.elapsed()));
        }
        std::thread::sleep(sleep);
        pause = (pause * 3 / 2).min(LONGEST_PAUSE);
    }
}

/// `d` scaled by a random factor in 0.5..1.5, so that sessions retrying together spread out.
pub(crate) fn jittered(d: Duration) -> Duration {
    let unit = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    d.mul_f64(0.5 + unit)
}
