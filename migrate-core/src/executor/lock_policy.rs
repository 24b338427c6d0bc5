//! How long a migration may wait for its locks, and what happens when it cannot get them.

use std::time::Duration;

use crate::safety::{lock_of, parse_script, LockLevel};

/// The lock class of a migration: the strongest table lock its statements take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockClass {
    /// No table lock that blocks the application (new tables, inserts…).
    Light,
    /// `CONCURRENTLY` builds: they wait for old transactions, but block nobody.
    Concurrent,
    /// Blocks writes (`SHARE`, `SHARE ROW EXCLUSIVE`, `EXCLUSIVE`).
    BlocksWrites,
    /// `ACCESS EXCLUSIVE`: blocks reads and writes, and everything queued behind it.
    AccessExclusive,
}

impl LockClass {
    /// The class of a script.
    #[must_use]
    pub fn of(sql: &str) -> Self {
        let strongest = parse_script(sql)
            .iter()
            .flat_map(|s| &s.actions)
            .filter_map(lock_of)
            .max();
        match strongest {
            Some(LockLevel::AccessExclusive) => Self::AccessExclusive,
            Some(LockLevel::Share | LockLevel::ShareRowExclusive | LockLevel::Exclusive) => {
                Self::BlocksWrites
            }
            Some(LockLevel::ShareUpdateExclusive) => Self::Concurrent,
            _ => Self::Light,
        }
    }
}

/// Lock-aware execution: `lock_timeout` per lock class, `statement_timeout`, retries with
/// backoff and jitter on `lock_not_available`, and a watchdog that cancels a migration which
/// keeps the application's queries queued behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockPolicy {
    /// `lock_timeout` of the first attempt of a migration that takes `ACCESS EXCLUSIVE` or
    /// blocks writes: how long the application's queries may queue behind it.
    pub exclusive_timeout: Option<Duration>,
    /// The longest `lock_timeout` a retry of such a migration escalates to (each retry waits
    /// 1.5 times longer than the last, up to this, or `exclusive_timeout` if that is longer).
    pub exclusive_timeout_max: Option<Duration>,
    /// `lock_timeout` for `CONCURRENTLY` builds (they wait for old transactions to end).
    pub concurrent_timeout: Option<Duration>,
    /// `lock_timeout` for the others.
    pub light_timeout: Option<Duration>,
    /// `statement_timeout` for every migration.
    pub statement_timeout: Option<Duration>,
    /// How many times an atomic migration that timed out on a lock is tried again.
    pub retries: u32,
    /// The first retry delay; doubled each time up to `backoff_max`, with ±50% jitter.
    pub backoff: Duration,
    /// The longest pause between two retries (before jitter).
    pub backoff_max: Duration,
    /// Cancel the migration when application sessions have been queued behind it this long
    /// (then it is retried like a lock timeout). `None`: no watchdog.
    pub watchdog_threshold: Option<Duration>,
    /// How often the watchdog looks at `pg_stat_activity`.
    pub poll_interval: Duration,
}

impl Default for LockPolicy {
    /// Prisma's behaviour: no timeouts, no retries, no watchdog.
    fn default() -> Self {
        Self {
            exclusive_timeout: None,
            exclusive_timeout_max: None,
            concurrent_timeout: None,
            light_timeout: None,
            statement_timeout: None,
            retries: 0,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            watchdog_threshold: None,
            poll_interval: Duration::from_millis(100),
        }
    }
}

impl LockPolicy {
    /// What a production deployment should use, so that writers keep moving: blocking DDL
    /// waits 200 ms for its lock, then retries up to 10 times, escalating to 500 ms, with pauses
    /// from 500 ms doubling up to 10 s (jittered); `CONCURRENTLY` builds wait up to 5 minutes;
    /// a watchdog cancels a migration which keeps application sessions waiting for more than
    /// 5 s. An application query queues at most about half a second behind a blocked
    /// `ALTER TABLE` (pgroll's default; GitLab starts at 100 ms and escalates).
    #[must_use]
    pub fn recommended() -> Self {
        Self {
            exclusive_timeout: Some(Duration::from_millis(200)),
            exclusive_timeout_max: Some(Duration::from_millis(500)),
            concurrent_timeout: Some(Duration::from_secs(300)),
            light_timeout: Some(Duration::from_secs(30)),
            statement_timeout: None,
            retries: 10,
            backoff: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            watchdog_threshold: Some(Duration::from_secs(5)),
            poll_interval: Duration::from_millis(100),
        }
    }

    /// The `lock_timeout` for a class, on the first attempt.
    #[must_use]
    pub fn timeout_for(&self, class: LockClass) -> Option<Duration> {
        self.timeout_for_attempt(class, 1)
    }

    /// The `lock_timeout` for a class on attempt `attempt` (1-based): blocking DDL escalates by
    /// 1.5 per retry up to `exclusive_timeout_max`.
    #[must_use]
    pub fn timeout_for_attempt(&self, class: LockClass, attempt: u32) -> Option<Duration> {
        match class {
            LockClass::AccessExclusive | LockClass::BlocksWrites => {
                let first = self.exclusive_timeout?;
                let cap = self.exclusive_timeout_max.unwrap_or(first).max(first);
                let factor = 1.5f64.powi(attempt.saturating_sub(1).min(30) as i32);
                Some(first.mul_f64(factor).min(cap))
            }
            LockClass::Concurrent => self.concurrent_timeout,
            LockClass::Light => self.light_timeout,
        }
    }

    /// The delay before retry number `attempt` (1-based): exponential, with ±50% jitter so that
    /// replicas do not retry in lockstep.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.backoff_max.max(self.backoff));
        crate::ledger::jittered(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_strongest_lock() {
        assert_eq!(LockClass::of("CREATE TABLE a (id int);"), LockClass::Light);
        assert_eq!(
            LockClass::of("CREATE INDEX CONCURRENTLY i ON a(id);"),
            LockClass::Concurrent
        );
        assert_eq!(
            LockClass::of("CREATE INDEX i ON a(id);"),
            LockClass::BlocksWrites
        );
        assert_eq!(
            LockClass::of("CREATE INDEX i ON a(id); ALTER TABLE a ADD COLUMN b int;"),
            LockClass::AccessExclusive
        );
    }

    #[test]
    fn backoff_doubles_with_jitter() {
        let policy = LockPolicy::recommended();
        for attempt in 1..=4 {
            let d = policy.delay(attempt).as_secs_f64();
            let base = 0.5 * f64::from(1u32 << (attempt - 1));
            assert!(d >= base * 0.5 && d <= base * 1.5, "attempt {attempt}: {d}");
        }
        let late = policy.delay(20).as_secs_f64();
        assert!((5.0..=15.0).contains(&late), "capped at 10 s ± 50%: {late}");
    }

    #[test]
    fn blocking_ddl_escalates_its_lock_timeout_up_to_the_cap() {
        let policy = LockPolicy::recommended();
        let ms = |attempt| {
            policy
                .timeout_for_attempt(LockClass::AccessExclusive, attempt)
                .unwrap()
                .as_millis()
        };
        assert_eq!(
            [ms(1), ms(2), ms(3), ms(4), ms(11)],
            [200, 300, 450, 500, 500]
        );
        assert_eq!(
            policy.timeout_for_attempt(LockClass::Concurrent, 7),
            Some(Duration::from_secs(300))
        );
        let fixed = LockPolicy {
            exclusive_timeout: Some(Duration::from_secs(3)),
            ..LockPolicy::recommended()
        };
        assert_eq!(
            fixed.timeout_for_attempt(LockClass::BlocksWrites, 5),
            Some(Duration::from_secs(3)),
            "a first timeout above the cap stays as set"
        );
    }
}
