//! The `_prisma_migrations` ledger, exactly as Prisma Migrate reads and writes it, and the
//! advisory lock that serializes deployments.

mod error;
mod history;
mod lock;
mod row;
mod table;

pub use crate::event::LockHolder;
pub use error::LedgerError;
pub use history::HistoryStatus;
pub(crate) use lock::{jittered, poll_lock, wait_until_free, LockQuery};
pub use lock::{AdvisoryLock, LockWait, LOCK_KEY};
pub use row::{LedgerRow, RowState};
pub use table::{
    check_adoptable, create_table, ensure_schema, initialize, read_rows, read_rows_in,
    table_exists, Initialized, RowWriter, CREATE_TABLE_SQL, TABLE_NAME,
};
