//! Keeping the writes made after a scoped backup (issue #12): a logical replication slot starts
//! just before the dump's snapshot, and a table-level restore replays, after putting the covered
//! tables back, the changes the application committed to them since, in commit order, by
//! primary key. What cannot be replayed goes to a reconciliation file per table beside the
//! backup.
//!
//! The cut-over: the restore's transaction holds `ACCESS EXCLUSIVE` locks on the covered tables
//! before it reads the slot, up to the WAL position taken once the locks are held. A write to
//! a covered table committed before that position is replayed; one that comes later waited for
//! the locks and lands on the restored table after the commit. Nothing falls in between.
//!
//! Which transactions are replayed: not those already in the backup (visible in the dump's
//! snapshot), not the deployment's own (they write `_prisma_migrations` in the same
//! transaction, as the executor records a migration with its script), and only the changes to
//! covered tables: every other table was not restored, so it holds its writes already.

pub(crate) mod apply;
pub(crate) mod decode;
mod reconcile;
pub(crate) mod slot;
mod statement;

use std::path::PathBuf;
use std::time::Duration;

pub use slot::{drop_orphaned_slots, ReplayPoint, ReplayReadiness, SLOT_PREFIX};

/// What a table-level restore replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// The slot read (dropped after the restore committed).
    pub slot: String,
    /// Application transactions replayed (at least one change each).
    pub transactions: u64,
    /// Row changes replayed.
    pub changes: u64,
    /// Transactions left out because the backup already holds them.
    pub in_backup: u64,
    /// Transactions left out because they are the deployment's own (they wrote the ledger).
    pub deployment: u64,
    /// Tables with entries to reconcile by hand, with their files.
    pub reconcile: Vec<Reconcile>,
    /// Time to read and replay, under the restore's locks.
    #[serde(serialize_with = "crate::event::millis", rename = "duration_ms")]
    pub duration: Duration,
}

/// One table's reconciliation file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reconcile {
    /// `schema.table`, as the change named it.
    pub table: String,
    /// Changes not replayed (no key, the row or the table gone, a value the old schema
    /// refuses).
    pub not_replayed: u64,
    /// Changes replayed with a caveat: a value of a column the old schema lacks (dropped from
    /// the replayed row), or a restored column an insert did not write (left at its default).
    pub replayed_with_notes: u64,
    /// The NDJSON file: one object per entry.
    pub file: PathBuf,
}

impl ReplayReport {
    /// Entries written to reconciliation files.
    #[must_use]
    pub fn reconcile_entries(&self) -> u64 {
        self.reconcile
            .iter()
            .map(|r| r.not_replayed + r.replayed_with_notes)
            .sum()
    }
}
