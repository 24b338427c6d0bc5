//! The reconciliation files: one NDJSON file per table beside the backup, one object per change
//! that was not replayed, or was replayed with a caveat a person should look at.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::decode::{Change, Column, Op};
use super::Reconcile;
use crate::backup::BackupError;

/// One line of a reconciliation file.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Entry {
    pub lsn: String,
    pub xid: u32,
    pub op: Op,
    /// `schema.table`, as the change named it.
    pub table: String,
    /// Whether the change was applied (with a caveat) or not at all.
    pub replayed: bool,
    pub reason: String,
    /// The old key's columns, as decoded.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub old: serde_json::Map<String, serde_json::Value>,
    /// The new row's columns, as decoded.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub new: serde_json::Map<String, serde_json::Value>,
}

impl Entry {
    /// The entry of `change`, made at `lsn` by transaction `xid`.
    pub(crate) fn of(source: &Source, replayed: bool, reason: impl Into<String>) -> Self {
        let change = &source.change;
        Self {
            lsn: source.lsn.clone(),
            xid: source.xid,
            op: change.op,
            table: format!("{}.{}", change.schema, change.table),
            replayed,
            reason: reason.into(),
            old: json_of(change.old.as_deref()),
            new: json_of(change.new.as_deref()),
        }
    }
}

/// A decoded change with where it comes from, kept as decoded until an entry needs it.
#[derive(Debug)]
pub(crate) struct Source {
    pub lsn: String,
    pub xid: u32,
    pub change: Change,
}

/// The columns of a decoded tuple, as a JSON object.
fn json_of(cols: Option<&[Column]>) -> serde_json::Map<String, serde_json::Value> {
    cols.unwrap_or_default()
        .iter()
        .map(|c| (c.name.clone(), c.value.as_json()))
        .collect()
}

/// The files of one replay, opened on their first entry.
pub(crate) struct Files {
    dir: PathBuf,
    /// Per table: the file, its path, entries not replayed, entries replayed with a note.
    open: HashMap<String, (BufWriter<File>, PathBuf, u64, u64)>,
}

impl Files {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            open: HashMap::new(),
        }
    }

    pub(crate) fn write(&mut self, entry: &Entry) -> Result<(), BackupError> {
        if !self.open.contains_key(&entry.table) {
            std::fs::create_dir_all(&self.dir).map_err(BackupError::io("create", &self.dir))?;
            let name: String = entry
                .table
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '.' || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = self.dir.join(format!("{name}.ndjson"));
            let file = File::create(&path).map_err(BackupError::io("create", &path))?;
            self.open
                .insert(entry.table.clone(), (BufWriter::new(file), path, 0, 0));
        }
        let (file, path, not_replayed, noted) =
            self.open.get_mut(&entry.table).expect("opened above");
        let line = serde_json::to_string(entry).unwrap_or_default();
        writeln!(file, "{line}").map_err(BackupError::io("write", path.clone()))?;
        if entry.replayed {
            *noted += 1;
        } else {
            *not_replayed += 1;
        }
        Ok(())
    }

    /// Flushes the files; one [`Reconcile`] per table, in name order.
    pub(crate) fn finish(self) -> Result<Vec<Reconcile>, BackupError> {
        let mut reconcile = Vec::new();
        for (table, (mut file, path, not_replayed, noted)) in self.open {
            file.flush()
                .map_err(BackupError::io("write", path.clone()))?;
            reconcile.push(Reconcile {
                table,
                not_replayed,
                replayed_with_notes: noted,
                file: path,
            });
        }
        reconcile.sort_by(|a, b| a.table.cmp(&b.table));
        Ok(reconcile)
    }
}
