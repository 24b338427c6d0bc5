//! Running a migration script under watch: a second session follows it in `pg_stat_activity`,
//! reports lock waits (naming the blocker) and index-build progress as they happen, and cancels
//! the script when application sessions queue behind it for too long.

use std::time::{Duration, Instant};

use postgres::Client;

use super::{Event, LockPolicy};
use crate::ledger::LockHolder;

/// What happened while a script ran.
#[derive(Debug, Default)]
pub(crate) struct Watched {
    /// The last session seen blocking the script.
    pub blocker: Option<LockHolder>,
    /// True when the watchdog cancelled the script.
    pub cancelled: bool,
    /// Sessions waiting for the migration lock whose wait was cancelled (or could not be).
    pub released: Vec<i32>,
}

/// Runs `sql` on `client` (whose backend is `pid`) while `watch` observes it.
pub(crate) fn run_watched(
    client: &mut Client,
    watch: &mut Client,
    pid: i32,
    migration: &str,
    sql: &str,
    policy: &LockPolicy,
    events: &mut dyn FnMut(&Event),
) -> (Result<(), postgres::Error>, Watched) {
    let mut watched = Watched::default();
    let result = std::thread::scope(|scope| {
        // The script runs on a worker; this thread stays free to report in real time, and wakes
        // up as soon as the script ends (no polling delay on fast migrations).
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = scope.spawn(move || {
            let result = client.batch_execute(sql);
            let _ = done_tx.send(());
            result
        });
        let started = Instant::now();
        let mut last_progress = Instant::now();
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            done_rx.recv_timeout(policy.poll_interval)
        {
            observe(
                watch,
                pid,
                migration,
                started,
                policy,
                &mut watched,
                &mut last_progress,
                events,
            );
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    (result, watched)
}

#[allow(clippy::too_many_arguments)] // one polling step; splitting it only moves the state around
fn observe(
    watch: &mut Client,
    pid: i32,
    migration: &str,
    started: Instant,
    policy: &LockPolicy,
    watched: &mut Watched,
    last_progress: &mut Instant,
    events: &mut dyn FnMut(&Event),
) {
    // Who blocks us?
    let blocker = watch
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.query, ''), \
                    coalesce(a.state, ''), \
                    coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.state_change)), 0)::float8 \
             FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) \
             ORDER BY a.xact_start NULLS LAST LIMIT 1",
            &[&pid],
        )
        .ok()
        .flatten()
        .map(|r| LockHolder {
            pid: r.get(0),
            application_name: r.get(1),
            query: r.get(2),
            state: r.get(3),
            state_seconds: r.get(4),
        });
    if let Some(holder) = blocker {
        let new = watched.blocker.as_ref().is_none_or(|b| b.pid != holder.pid);
        if new {
            events(&Event::LockWait {
                migration: migration.to_owned(),
                blocker: holder.clone(),
                waited: started.elapsed(),
            });
        }
        watched.blocker = Some(holder);
        release_lock_waiters(watch, pid, migration, watched, events);
    }

    // Are application sessions queued behind us for too long? (Deployments waiting for the
    // migration lock are not: they wait for this one whatever it does.)
    if let Some(threshold) = policy.watchdog_threshold {
        let queued = watch
            .query_one(
                "SELECT count(*), coalesce(max(extract(epoch FROM now() - state_change)), 0)::float8 \
                 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)) \
                   AND wait_event IS DISTINCT FROM 'advisory'",
                &[&pid],
            )
            .ok()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, f64>(1)));
        if let Some((count, longest)) = queued {
            if count > 0 && longest >= threshold.as_secs_f64() && !watched.cancelled {
                let _ = watch.execute("SELECT pg_cancel_backend($1)", &[&pid]);
                watched.cancelled = true;
                events(&Event::WatchdogCancelled {
                    migration: migration.to_owned(),
                    blocked_sessions: count,
                    longest_wait: Duration::from_secs_f64(longest),
                });
            }
        }
    }

    // Progress of long index builds, every few seconds.
    if last_progress.elapsed() >= Duration::from_secs(2) {
        *last_progress = Instant::now();
        let progress = watch
            .query_opt(
                "SELECT phase, blocks_done, blocks_total FROM pg_stat_progress_create_index WHERE pid = $1",
                &[&pid],
            )
            .ok()
            .flatten();
        if let Some(r) = progress {
            events(&Event::StatementProgress {
                migration: migration.to_owned(),
                phase: r.get(0),
                done: r.get(1),
                total: r.get(2),
            });
        }
    }
}

/// Cancels the waits of sessions that block the migration while they wait for the migration
/// lock it holds: a blocking `pg_advisory_lock` (a Prisma CLI deploy, say) keeps a snapshot
/// open, and a `CREATE INDEX CONCURRENTLY` waits for every such snapshot, so neither could ever
/// go on. The waiter could only get the lock after this deployment anyway; Prisma gives up after
/// 10 s (P1002). Without the right to signal it, the migration's lock policy takes over. Each
/// waiter is handled (and reported) once.
fn release_lock_waiters(
    watch: &mut Client,
    pid: i32,
    migration: &str,
    watched: &mut Watched,
    events: &mut dyn FnMut(&Event),
) {
    let waiters: Vec<(i32, String)> = watch
        .query(
            "SELECT a.pid, coalesce(a.application_name, '') \
             FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) \
               AND a.wait_event = 'advisory' AND $1 = ANY (pg_blocking_pids(a.pid))",
            &[&pid],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .unwrap_or_default();
    for (waiter, application) in waiters {
        if watched.released.contains(&waiter) {
            continue;
        }
        watched.released.push(waiter);
        // pg_cancel_backend raises an error without the right to signal that session.
        let cancelled = watch
            .query_one("SELECT pg_cancel_backend($1)", &[&waiter])
            .is_ok_and(|r| r.get::<_, bool>(0));
        let message = if cancelled {
            format!(
                "cancelled the wait of pid {waiter} (application {application:?}) for the \
                 migration lock: its blocking pg_advisory_lock holds a snapshot that this \
                 migration's concurrent build must wait for (a deadlock); that deployment could \
                 only run after this one"
            )
        } else {
            format!(
                "pid {waiter} (application {application:?}) waits for the migration lock holding a \
                 snapshot this migration's concurrent build waits for, and may not be cancelled: \
                 end its wait (Prisma gives up after 10 s)"
            )
        };
        events(&Event::Warning {
            migration: Some(migration.to_owned()),
            message,
        });
    }
}
