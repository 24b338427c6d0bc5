//! The replication slot a scoped backup starts: created just before the dump's snapshot, held
//! by the deploying process for as long as a rollback may need it, and never left behind.
//!
//! A session-level advisory lock, held on the connection that created the slot, tells a slot in
//! use from an orphan: the server releases it when the process dies, so the next deployment
//! finds the slot unlocked and drops it (unless a dead deployment's rollback still needs it:
//! the pipeline resumes that one first).

use std::time::Duration;

use postgres::{Client, GenericClient};

use crate::backup::BackupError;
use crate::connection::{connect, DatabaseUrl};
use crate::sql::quote_literal;

/// Our slots' names start with this; the rest is the backup's id.
pub const SLOT_PREFIX: &str = "migrate_";
/// The output plugin: built in, and its text is read by [`super::decode`].
pub(crate) const PLUGIN: &str = "test_decoding";
/// First key of a slot's advisory lock ("mgsl"); the second is `hashtext(slot)`.
const SLOT_LOCK_KEY: i32 = 0x6d67_736c;
/// Creating a slot waits for the transactions running at that moment to end: a long one makes
/// the backup go on without a slot rather than wait for it.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the replay of a backup starts, in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayPoint {
    /// The logical replication slot (plugin `test_decoding`).
    pub slot: String,
    /// Where the slot's changes start (its consistent point).
    pub lsn: String,
    /// `pg_current_snapshot()` of the dump's transaction: a decoded transaction visible in it is
    /// already in the backup.
    pub snapshot: String,
}

/// Whether writes made after a backup can be kept, read before taking it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayReadiness {
    /// A slot can be created.
    Ready,
    /// Not on this server or for this role: why, said once; the rollback counts what it loses.
    Unavailable(String),
    /// Every slot is in use: creating one fails, and the deployment should not start.
    SlotsExhausted {
        /// Slots in use.
        used: i64,
        /// `max_replication_slots`.
        max: i64,
    },
}

impl ReplayReadiness {
    /// Reads `wal_level`, the role's `REPLICATION`, and the slots in use.
    ///
    /// # Errors
    ///
    /// [`BackupError::Query`].
    pub fn read(client: &mut impl GenericClient, target: &str) -> Result<Self, BackupError> {
        let row = client
            .query_one(
                "SELECT current_setting('wal_level'), r.rolsuper OR r.rolreplication, \
                 current_setting('max_replication_slots')::bigint, \
                 (SELECT count(*) FROM pg_replication_slots) \
                 FROM pg_roles r WHERE r.rolname = current_user",
                &[],
            )
            .map_err(BackupError::query(
                "reading wal_level and replication slots",
                target.to_owned(),
            ))?;
        let (wal_level, replication, max, used): (String, bool, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        Ok(if wal_level != "logical" {
            Self::Unavailable(format!(
                "wal_level is {wal_level}, not logical: a rollback cannot replay the writes made \
                 to the covered tables after the backup (it counts them)"
            ))
        } else if !replication {
            Self::Unavailable(
                "the role has no REPLICATION attribute: a rollback cannot replay the writes \
                 made to the covered tables after the backup (it counts them)"
                    .to_owned(),
            )
        } else if used >= max {
            Self::SlotsExhausted { used, max }
        } else {
            Self::Ready
        })
    }
}

/// The slot name for backup `id`: `migrate_`, the id in `[a-z0-9_]`, and a tag of this
/// process and moment (replicas on other hosts, each with its own backup directory, may take
/// backups with the same id in the same second).
pub(crate) fn slot_name(id: &str) -> String {
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    let mut name = slot_base(id);
    name.truncate(63 - 9);
    format!("{name}_{tag:08x}")
}

/// `migrate_` and backup `id` in `[a-z0-9_]`: what every slot of that backup starts with.
fn slot_base(id: &str) -> String {
    let tail: String = id
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{SLOT_PREFIX}{tail}")
}

/// A slot this process created and holds: dropped with the value.
pub(crate) struct SlotHold {
    client: Client,
    /// The slot's name.
    pub slot: String,
    target: String,
}

impl std::fmt::Debug for SlotHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotHold")
            .field("slot", &self.slot)
            .finish()
    }
}

impl SlotHold {
    /// Creates slot `slot` on a session of its own that keeps its lock; returns it with the
    /// slot's consistent point.
    pub(crate) fn create(url: &DatabaseUrl, slot: &str) -> Result<(Self, String), BackupError> {
        let target = url.target();
        let mut client = connect(url)?;
        let q = |what: &str| BackupError::query(what.to_owned(), target.clone());
        client
            .execute(
                "SELECT pg_advisory_lock($1, hashtext($2))",
                &[&SLOT_LOCK_KEY, &slot],
            )
            .map_err(q("locking the replication slot's name"))?;
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                CREATE_TIMEOUT.as_millis()
            ))
            .map_err(q("setting statement_timeout"))?;
        let lsn: String = client
            .query_one(
                "SELECT lsn::text FROM pg_create_logical_replication_slot($1, $2)",
                &[&slot, &PLUGIN],
            )
            .map_err(q("creating the replication slot"))?
            .get(0);
        let _ = client.batch_execute("RESET statement_timeout");
        log::info!(target: "migrate_core::backup", "{target}: replication slot {slot} created at {lsn}");
        Ok((
            Self {
                client,
                slot: slot.to_owned(),
                target,
            },
            lsn,
        ))
    }
}

impl Drop for SlotHold {
    fn drop(&mut self) {
        match drop_slot(&mut self.client, &self.slot) {
            Ok(true) => {
                log::info!(target: "migrate_core::backup", "{}: replication slot {} dropped", self.target, self.slot);
            }
            Ok(false) => {}
            // The lock goes with the session: the next deployment drops the orphan.
            Err(e) => {
                log::warn!(target: "migrate_core::backup", "{}: dropping replication slot {}: {e}", self.target, self.slot);
            }
        }
    }
}

/// Drops `slot` when it exists; `Ok(true)` when it did.
pub(crate) fn drop_slot(
    client: &mut impl GenericClient,
    slot: &str,
) -> Result<bool, postgres::Error> {
    let dropped = client.query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        &[&slot],
    )?;
    Ok(!dropped.is_empty())
}

/// Whether `slot` exists.
pub(crate) fn exists(client: &mut impl GenericClient, slot: &str) -> Result<bool, postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )?
        .is_some())
}

/// Our slots on this database that no live process holds, except `keep`'s: dropped, their
/// names returned. A slot that cannot be dropped (no REPLICATION any more) is left, with a
/// warning.
///
/// # Errors
///
/// [`BackupError::Query`] when the slots cannot be listed.
pub fn drop_orphaned_slots(
    client: &mut Client,
    target: &str,
    keep: &[String],
) -> Result<Vec<String>, BackupError> {
    let slots: Vec<String> = client
        .query(
            &format!(
                "SELECT slot_name::text FROM pg_replication_slots \
                 WHERE database = current_database() AND NOT active AND slot_name LIKE {}",
                quote_literal(&format!("{SLOT_PREFIX}%"))
            ),
            &[],
        )
        .map_err(BackupError::query(
            "listing replication slots",
            target.to_owned(),
        ))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let mut dropped = Vec::new();
    for slot in slots {
        if keep
            .iter()
            .any(|k| slot.starts_with(&format!("{}_", slot_base(k))))
        {
            continue;
        }
        let free: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&SLOT_LOCK_KEY, &slot],
            )
            .map(|r| r.get(0))
            .unwrap_or(false);
        if !free {
            continue;
        }
        match drop_slot(client, &slot) {
            Ok(true) => dropped.push(slot.clone()),
            Ok(false) => {}
            Err(e) => {
                log::warn!(target: "migrate_core::backup", "{target}: orphaned replication slot {slot} could not be dropped: {e}")
            }
        }
        let _ = client.execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&SLOT_LOCK_KEY, &slot],
        );
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_are_what_postgres_allows() {
        let name = slot_name("backup_20261130_091944-2");
        assert!(
            name.starts_with("migrate_backup_20261130_091944_2_"),
            "{name}"
        );
        assert_eq!(name.len(), "migrate_backup_20261130_091944_2_".len() + 8);
        let long = slot_name(&"X".repeat(100));
        assert_eq!(long.len(), 63);
        assert!(long
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}
