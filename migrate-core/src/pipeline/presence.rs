//! Which pipelines are alive: each holds a shared advisory lock for its whole run, on a session
//! of its own, so a journal entry left `verifying` or `rolling_back` can be told apart from one
//! whose process died (the server drops the lock with the session).

use postgres::Client;

use crate::connection::{connect, ConnectError, DatabaseUrl};
use crate::journal::PRESENCE_KEY;
use crate::ledger::{poll_lock, LockQuery, LockWait};

/// A running pipeline's presence; gone when dropped (or when the process dies).
pub(crate) struct Presence {
    client: Client,
    pid: i32,
    schema: String,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence").field("pid", &self.pid).finish()
    }
}

impl Presence {
    /// Announces this pipeline on a new session of `url`'s database, waiting (as `wait` says)
    /// while another pipeline finishes a dead one's job.
    pub(crate) fn join(url: &DatabaseUrl, wait: LockWait) -> Result<Self, super::StepError> {
        let mut client = connect(url)?;
        // Idle for the whole run: a server-side idle timeout must not end it (it would look
        // dead to other runs). (PostgreSQL 14 and later; older servers have no such timeout.)
        let _ = client.batch_execute("SET idle_session_timeout = 0");
        let schema = url.schema().unwrap_or("public").to_owned();
        // Polled like the migration lock: a blocking wait would hold a snapshot that the
        // claimer's concurrent index builds wait for. The claimer's presence session sits idle
        // by design while its pipeline works: "while busy" cannot judge it, so such a wait is
        // unbounded here.
        let wait = match wait {
            LockWait::WhileBusy { .. } => LockWait::Unbounded,
            other => other,
        };
        poll_lock(
            &mut client,
            wait,
            &LockQuery {
                take: "SELECT pg_try_advisory_lock_shared($1::bigint::int, hashtext($2))",
                // The claimer's exclusive entry (the shared ones are other pipelines').
                held: "l.mode = 'ExclusiveLock' AND l.classid = $1::bigint::oid \
                       AND l.objid = hashtext($2)::oid AND l.objsubid = 2",
                key: i64::from(PRESENCE_KEY),
                second: Some(&schema),
            },
            &mut |_| {},
        )?;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|source| ConnectError::Session {
                target: url.target(),
                source,
            })?
            .get(0);
        Ok(Self {
            client,
            pid,
            schema,
        })
    }

    /// Takes the presence lock exclusively, if no other pipeline holds it: pipelines that
    /// start meanwhile wait in [`Presence::join`] until [`Presence::release`].
    pub(crate) fn claim(&mut self) -> Result<bool, postgres::Error> {
        Ok(self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&PRESENCE_KEY, &self.schema],
            )?
            .get(0))
    }

    /// Gives up the exclusive claim (the shared presence stays).
    pub(crate) fn release(&mut self) {
        let _ = self.client.execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&PRESENCE_KEY, &self.schema],
        );
    }

    /// Whether another pipeline on this database and schema is alive.
    pub(crate) fn others_alive(&mut self) -> Result<bool, postgres::Error> {
        Ok(self
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2 \
                 AND pid <> $3)",
                &[&PRESENCE_KEY, &self.schema, &self.pid],
            )?
            .get(0))
    }
}
