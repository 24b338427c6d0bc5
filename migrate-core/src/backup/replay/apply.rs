//! Replaying the slot's changes into the restore's transaction, and writing what cannot be
//! replayed to the reconciliation files.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, SimpleQueryMessage, Transaction};

use super::decode::{self, Change, Column, Op, Value};
use super::{Reconcile, ReplayPoint, ReplayReport};
use crate::backup::{BackupError, CoveredTable};
use crate::sql::{quote_ident, quote_literal};

/// Statements sent per round trip.
const BATCH: usize = 500;

/// Settings that make the decoded values read back the same on any server configuration.
const PINNED: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
                      SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; \
                      SET bytea_output = 'hex'";

/// What [`replay`] reads and where it writes.
pub(crate) struct Input<'a> {
    pub point: &'a ReplayPoint,
    pub covered: &'a [CoveredTable],
    /// The directory for the reconciliation files (created when there is something to write).
    pub reconcile_dir: PathBuf,
    pub target: &'a str,
}

/// Reads the slot on `decoder` up to the WAL position now (the covered tables are locked by
/// `tx`, so every write to them has committed before it or waits), and replays into `tx` the
/// application's changes to the covered tables.
pub(crate) fn replay(
    tx: &mut Transaction<'_>,
    decoder: &mut Client,
    input: &Input<'_>,
) -> Result<ReplayReport, BackupError> {
    let started = Instant::now();
    let target = input.target.to_owned();
    let q = |what: &str| BackupError::query(what.to_owned(), target.clone());
    let snapshot = Snapshot::parse(&input.point.snapshot).ok_or_else(|| BackupError::Manifest {
        path: input.reconcile_dir.clone(),
        reason: format!("unreadable snapshot {:?}", input.point.snapshot),
    })?;
    decoder
        .batch_execute(PINNED)
        .map_err(q("pinning the decoding session's settings"))?;
    tx.batch_execute(&PINNED.replace("SET ", "SET LOCAL "))
        .map_err(q("pinning the restore's settings"))?;
    let upto: String = decoder
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .map_err(q("reading the WAL position"))?
        .get(0);
    let mut replayer = Replayer {
        tables: HashMap::new(),
        covered: input.covered,
        files: Files {
            dir: input.reconcile_dir.clone(),
            open: HashMap::new(),
        },
        batch: Vec::new(),
        report: ReplayReport {
            slot: input.point.slot.clone(),
            ..ReplayReport::default()
        },
        inserted: Vec::new(),
        target: &target,
    };
    let params: [&(dyn ToSql + Sync); 2] = [&input.point.slot, &upto];
    let mut rows = decoder
        .query_raw(
            "SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_peek_changes(\
             $1, $2::text::pg_lsn, NULL, 'include-xids', '1', 'skip-empty-xacts', '1')",
            params,
        )
        .map_err(q("reading the replication slot"))?;
    let mut current: Vec<(String, Change)> = Vec::new();
    let mut unreadable: Vec<(String, String)> = Vec::new();
    while let Some(row) = rows.next().map_err(q("reading the replication slot"))? {
        let (lsn, xid, data): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
        let xid = u32::try_from(xid).unwrap_or(0);
        if data.starts_with("BEGIN") {
            current.clear();
            unreadable.clear();
        } else if data.starts_with("COMMIT") {
            let changes = std::mem::take(&mut current);
            let bad = std::mem::take(&mut unreadable);
            replayer.transaction(tx, xid, &snapshot, changes, bad)?;
        } else if data.starts_with("table ") {
            match decode::parse(&data) {
                Ok(change) => current.push((lsn, change)),
                Err(why) => unreadable.push((lsn, format!("{why}: {data}"))),
            }
        }
    }
    drop(rows);
    replayer.flush(tx)?;
    replayer.sequences(tx)?;
    let mut report = replayer.finish()?;
    report.duration = started.elapsed();
    Ok(report)
}

/// A `pg_snapshot` (`xmin:xmax:xip,…`): which transactions the dump saw.
struct Snapshot {
    xmin: u64,
    xmax: u64,
    xip: Vec<u64>,
}

impl Snapshot {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let xip = parts
            .next()?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Self { xmin, xmax, xip })
    }

    /// Whether committed transaction `xid` (32 bits, as decoded) is in the snapshot. Its full id
    /// is the one nearest `xmax` (transactions in a slot are far closer than 2^31 to it).
    fn visible(&self, xid: u32) -> bool {
        let xmax = i128::from(self.xmax);
        let base = i128::from(self.xmax & !0xFFFF_FFFF) | i128::from(xid);
        let full = [base - (1 << 32), base, base + (1 << 32)]
            .into_iter()
            .filter(|f| *f >= 0)
            .min_by_key(|f| (f - xmax).abs())
            .unwrap_or(base);
        let full = u64::try_from(full).unwrap_or(u64::MAX);
        full < self.xmin || (full < self.xmax && !self.xip.contains(&full))
    }
}

/// A table as the restored database has it.
struct Table {
    qualified: String,
    covered: bool,
    exists: bool,
    /// Columns an INSERT may name (no generated ones).
    columns: Vec<String>,
    /// The primary key's (or replica identity index's) columns.
    key: Vec<String>,
}

/// One statement to run, with what to record about it.
struct Pending {
    sql: String,
    /// UPDATE and DELETE: no row touched means the row is not there.
    expect_row: bool,
    entry: Entry,
    /// A caveat to record even when it runs.
    note: Option<String>,
    /// INSERT into this table: its sequences are moved past the replayed values.
    inserts_into: Option<String>,
}

/// One line of a reconciliation file.
#[derive(Debug, Clone, serde::Serialize)]
struct Entry {
    lsn: String,
    xid: u32,
    op: Op,
    table: String,
    /// Whether the change was applied (with a caveat) or not at all.
    replayed: bool,
    reason: String,
    /// The old key's columns, as decoded.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    old: serde_json::Map<String, serde_json::Value>,
    /// The new row's columns, as decoded.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    new: serde_json::Map<String, serde_json::Value>,
}

struct Files {
    dir: PathBuf,
    /// Per table: the file, its path, entries not replayed, entries replayed with a note.
    open: HashMap<String, (BufWriter<File>, PathBuf, u64, u64)>,
}

impl Files {
    fn write(&mut self, entry: &Entry) -> Result<(), BackupError> {
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
}

struct Replayer<'a> {
    tables: HashMap<(String, String), Table>,
    covered: &'a [CoveredTable],
    files: Files,
    batch: Vec<Pending>,
    report: ReplayReport,
    /// Tables that received inserts.
    inserted: Vec<String>,
    target: &'a str,
}

impl Replayer<'_> {
    /// One committed transaction: left out when the backup holds it or the deployment made it,
    /// otherwise its changes to the covered tables are queued in order.
    fn transaction(
        &mut self,
        tx: &mut Transaction<'_>,
        xid: u32,
        snapshot: &Snapshot,
        changes: Vec<(String, Change)>,
        unreadable: Vec<(String, String)>,
    ) -> Result<(), BackupError> {
        if snapshot.visible(xid) {
            self.report.in_backup += 1;
            return Ok(());
        }
        if changes.iter().any(|(_, c)| c.table == "_prisma_migrations") {
            self.report.deployment += 1;
            return Ok(());
        }
        for (lsn, reason) in unreadable {
            self.files.write(&Entry {
                lsn,
                xid,
                op: Op::Insert,
                table: "unreadable".to_owned(),
                replayed: false,
                reason,
                old: serde_json::Map::new(),
                new: serde_json::Map::new(),
            })?;
        }
        let mut queued = false;
        for (lsn, change) in changes {
            let key = (change.schema.clone(), change.table.clone());
            if !self.tables.contains_key(&key) {
                let table = self.describe(tx, &change.schema, &change.table)?;
                self.tables.insert(key.clone(), table);
            }
            let table = &self.tables[&key];
            if table.exists && !table.covered {
                // Not restored: the write is there already.
                continue;
            }
            let entry = Entry {
                lsn,
                xid,
                op: change.op,
                table: format!("{}.{}", change.schema, change.table),
                replayed: false,
                reason: String::new(),
                old: json_of(change.old.as_deref()),
                new: json_of(change.new.as_deref()),
            };
            if !table.exists {
                self.files.write(&Entry {
                    reason: "the table does not exist after the rollback (created or renamed \
                             by the deployment)"
                        .to_owned(),
                    ..entry
                })?;
                continue;
            }
            match statement(table, &change) {
                Ok((sql, expect_row, note)) => {
                    let inserts_into = (change.op == Op::Insert).then(|| table.qualified.clone());
                    self.batch.push(Pending {
                        sql,
                        expect_row,
                        entry,
                        note,
                        inserts_into,
                    });
                    queued = true;
                }
                Err(reason) => self.files.write(&Entry { reason, ..entry })?,
            }
        }
        if queued {
            self.report.transactions += 1;
        }
        if self.batch.len() >= BATCH {
            self.flush(tx)?;
        }
        Ok(())
    }

    fn describe(
        &self,
        tx: &mut Transaction<'_>,
        schema: &str,
        table: &str,
    ) -> Result<Table, BackupError> {
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(table));
        let covered = self
            .covered
            .iter()
            .any(|c| c.schema == schema && c.table == table);
        let q = |what: &str| BackupError::query(what.to_owned(), self.target.to_owned());
        let row = tx
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL, \
                 coalesce((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute \
                   WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped \
                   AND attgenerated = ''), '{}'), \
                 coalesce((SELECT array_agg(a.attname::text ORDER BY k.n) \
                   FROM (SELECT indrelid, indkey FROM pg_index WHERE indrelid = to_regclass($1) \
                         AND (indisprimary OR indisreplident) ORDER BY indisprimary DESC LIMIT 1) i \
                   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), '{}')",
                &[&qualified],
            )
            .map_err(q("reading a replayed table's columns and key"))?;
        Ok(Table {
            qualified,
            covered,
            exists: row.get(0),
            columns: row.get(1),
            key: row.get(2),
        })
    }

    /// Runs the queued statements: in one round trip under a savepoint, or, when one fails,
    /// one at a time, so that only the failing ones go to reconciliation.
    fn flush(&mut self, tx: &mut Transaction<'_>) -> Result<(), BackupError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let q = |what: &str| BackupError::query(what.to_owned(), self.target.to_owned());
        let mut text = String::from("SAVEPOINT migrate_replay;\n");
        for p in &batch {
            text.push_str(&p.sql);
            text.push_str(";\n");
        }
        text.push_str("RELEASE SAVEPOINT migrate_replay");
        match tx.simple_query(&text) {
            Ok(messages) => {
                let counts: Vec<u64> = messages
                    .iter()
                    .filter_map(|m| match m {
                        SimpleQueryMessage::CommandComplete(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                // SAVEPOINT, the statements, RELEASE.
                let counts = counts.get(1..=batch.len()).map(<[u64]>::to_vec);
                for (i, p) in batch.into_iter().enumerate() {
                    let rows = counts.as_ref().map_or(1, |c| c[i]);
                    self.outcome(p, Ok(rows))?;
                }
            }
            Err(_) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT migrate_replay")
                    .map_err(q("rolling back a replay batch"))?;
                for p in batch {
                    let one = format!(
                        "SAVEPOINT migrate_replay_one; {}; RELEASE SAVEPOINT migrate_replay_one",
                        p.sql
                    );
                    let result = match tx.simple_query(&one) {
                        Ok(messages) => Ok(messages
                            .iter()
                            .filter_map(|m| match m {
                                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                                _ => None,
                            })
                            .nth(1)
                            .unwrap_or(1)),
                        Err(e) => {
                            tx.batch_execute("ROLLBACK TO SAVEPOINT migrate_replay_one")
                                .map_err(q("rolling back a replayed change"))?;
                            Err(crate::backup::error::pg_detail(&e))
                        }
                    };
                    self.outcome(p, result)?;
                }
                tx.batch_execute("RELEASE SAVEPOINT migrate_replay")
                    .map_err(q("ending a replay batch"))?;
            }
        }
        Ok(())
    }

    fn outcome(&mut self, p: Pending, result: Result<u64, String>) -> Result<(), BackupError> {
        match result {
            Ok(0) if p.expect_row => self.files.write(&Entry {
                reason: "no row with this key in the restored table".to_owned(),
                ..p.entry
            }),
            Ok(_) => {
                self.report.changes += 1;
                if let Some(table) = p.inserts_into {
                    if !self.inserted.contains(&table) {
                        self.inserted.push(table);
                    }
                }
                match p.note {
                    Some(reason) => self.files.write(&Entry {
                        replayed: true,
                        reason,
                        ..p.entry
                    }),
                    None => Ok(()),
                }
            }
            Err(error) => self.files.write(&Entry {
                reason: format!("the restored table refused it: {error}"),
                ..p.entry
            }),
        }
    }

    /// Sequences owned by columns of tables that received inserts: moved past the largest
    /// value, so the application's next insert does not collide with a replayed row.
    fn sequences(&mut self, tx: &mut Transaction<'_>) -> Result<(), BackupError> {
        for table in std::mem::take(&mut self.inserted) {
            let owned = tx
                .query(
                    "SELECT s.seq, quote_ident(a.attname) FROM pg_attribute a \
                     CROSS JOIN LATERAL pg_get_serial_sequence($1, a.attname) s(seq) \
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                     AND s.seq IS NOT NULL",
                    &[&table],
                )
                .map_err(BackupError::query(
                    "finding the sequences of a replayed table",
                    self.target.to_owned(),
                ))?;
            for row in owned {
                let (seq, column): (String, String) = (row.get(0), row.get(1));
                tx.batch_execute(&format!(
                    "SELECT setval({seq}, m) FROM (SELECT max({column}) AS m FROM {table}) x \
                     WHERE m IS NOT NULL AND m > (SELECT last_value FROM {seq_rel})",
                    seq = quote_literal(&seq),
                    seq_rel = seq,
                ))
                .map_err(BackupError::query(
                    "moving a sequence past the replayed rows",
                    self.target.to_owned(),
                ))?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ReplayReport, BackupError> {
        let mut reconcile = Vec::new();
        for (table, (mut file, path, not_replayed, noted)) in self.files.open.drain() {
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
        self.report.reconcile = reconcile;
        Ok(self.report)
    }
}

/// The statement replaying `change` on `table`, whether it must touch a row, and a caveat to
/// record; `Err` with why when it cannot be replayed.
fn statement(table: &Table, change: &Change) -> Result<(String, bool, Option<String>), String> {
    let has = |name: &str| table.columns.iter().any(|c| c == name);
    let absent = |cols: &[Column]| -> Vec<String> {
        cols.iter()
            .filter(|c| !has(&c.name) && c.value != Value::Unchanged)
            .map(|c| c.name.clone())
            .collect()
    };
    match change.op {
        Op::Truncate => Ok((format!("DELETE FROM {}", table.qualified), false, None)),
        Op::Insert => {
            let new = change.new.as_deref().ok_or("an insert without its row")?;
            let cols: Vec<&Column> = new.iter().filter(|c| has(&c.name)).collect();
            let mut notes = Vec::new();
            let gone = absent(new);
            if !gone.is_empty() {
                notes.push(format!(
                    "values of columns the restored table lacks were left out: {}",
                    gone.join(", ")
                ));
            }
            let unwritten: Vec<&str> = table
                .columns
                .iter()
                .filter(|t| !new.iter().any(|c| &c.name == *t))
                .map(String::as_str)
                .collect();
            if !unwritten.is_empty() {
                notes.push(format!(
                    "the new version did not write restored columns, left at their defaults: {}",
                    unwritten.join(", ")
                ));
            }
            let names: Vec<String> = cols.iter().map(|c| quote_ident(&c.name)).collect();
            let values: Vec<String> = cols.iter().map(|c| literal(&c.value)).collect();
            let sql = if cols.is_empty() {
                format!("INSERT INTO {} DEFAULT VALUES", table.qualified)
            } else {
                format!(
                    "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
                    table.qualified,
                    names.join(", "),
                    values.join(", ")
                )
            };
            Ok((sql, false, (!notes.is_empty()).then(|| notes.join("; "))))
        }
        Op::Update => {
            let new = change
                .new
                .as_deref()
                .ok_or("an update without its new row")?;
            let key_from = change.old.as_deref().unwrap_or(new);
            let condition = key_condition(table, key_from)?;
            // The key is set only when it changed (an identity column refuses even its own
            // value); TOASTed values the update did not touch stay as they are.
            let sets: Vec<String> = new
                .iter()
                .filter(|c| has(&c.name) && c.value != Value::Unchanged)
                .filter(|c| change.old.is_some() || !table.key.contains(&c.name))
                .map(|c| format!("{} = {}", quote_ident(&c.name), literal(&c.value)))
                .collect();
            let gone = absent(new);
            let note = (!gone.is_empty()).then(|| {
                format!(
                    "values of columns the restored table lacks were left out: {}",
                    gone.join(", ")
                )
            });
            if sets.is_empty() {
                return Err(note.unwrap_or_else(|| "an update that changed no column".to_owned()));
            }
            Ok((
                format!(
                    "UPDATE {} SET {} WHERE {condition}",
                    table.qualified,
                    sets.join(", ")
                ),
                true,
                note,
            ))
        }
        Op::Delete => {
            let old = change
                .old
                .as_deref()
                .ok_or("a delete without its key (the table has no replica identity)")?;
            let condition = key_condition(table, old)?;
            Ok((
                format!("DELETE FROM {} WHERE {condition}", table.qualified),
                true,
                None,
            ))
        }
    }
}

/// `k1 = v1 AND …` over the restored table's key, with the values of `cols`.
fn key_condition(table: &Table, cols: &[Column]) -> Result<String, String> {
    if table.key.is_empty() {
        return Err("the restored table has no primary key or replica identity index".to_owned());
    }
    table
        .key
        .iter()
        .map(|k| {
            let column = cols.iter().find(|c| &c.name == k).ok_or_else(|| {
                format!("the change does not carry the key column {k} of the restored table")
            })?;
            match &column.value {
                Value::Text(_) => Ok(format!("{} = {}", quote_ident(k), literal(&column.value))),
                _ => Err(format!("the key column {k} has no value in the change")),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join(" AND "))
}

/// A value as an untyped literal: the restored column's type reads it, as it read the dump.
fn literal(value: &Value) -> String {
    match value {
        Value::Null | Value::Unchanged => "NULL".to_owned(),
        Value::Text(t) => quote_literal(t),
    }
}

fn json_of(cols: Option<&[Column]>) -> serde_json::Map<String, serde_json::Value> {
    cols.unwrap_or_default()
        .iter()
        .map(|c| (c.name.clone(), c.value.as_json()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            qualified: "public.t".to_owned(),
            covered: true,
            exists: true,
            columns: vec!["id".into(), "a".into(), "filler".into()],
            key: vec!["id".into()],
        }
    }

    #[test]
    fn snapshot_visibility_follows_xmin_xmax_and_in_progress() {
        let s = Snapshot::parse("733:736:734").unwrap();
        assert!(s.visible(700) && s.visible(733) && s.visible(735));
        assert!(!s.visible(734) && !s.visible(736) && !s.visible(900));
        // Across an epoch: xmax in epoch 1, a decoded xid just below the boundary.
        let s = Snapshot::parse("4294967290:4294967400:").unwrap();
        assert!(s.visible(4_294_967_291) && !s.visible(200));
        assert!(Snapshot::parse("x:1:").is_none());
    }

    #[test]
    fn statements_follow_the_restored_table() {
        let t = table();
        let insert =
            decode::parse("table public.t: INSERT: id[integer]:3 a[text]:'x''y' b[integer]:9")
                .unwrap();
        let (sql, expect, note) = statement(&t, &insert).unwrap();
        assert_eq!(
            sql,
            "INSERT INTO public.t (\"id\", \"a\") OVERRIDING SYSTEM VALUE VALUES (E'3', E'x''y')"
        );
        assert!(!expect);
        let note = note.unwrap();
        assert!(
            note.contains(": b") && note.contains("defaults: filler"),
            "{note}"
        );

        let update = decode::parse(
            "table public.t: UPDATE: id[integer]:3 a[text]:unchanged-toast-datum b[integer]:1",
        )
        .unwrap();
        assert!(statement(&t, &update).unwrap_err().contains(": b"));
        let update = decode::parse(
            "table public.t: UPDATE: old-key: id[integer]:3 new-tuple: id[integer]:4 a[text]:null",
        )
        .unwrap();
        assert_eq!(
            statement(&t, &update).unwrap().0,
            "UPDATE public.t SET \"id\" = E'4', \"a\" = NULL WHERE \"id\" = E'3'"
        );
        let delete = decode::parse("table public.t: DELETE: id[integer]:4").unwrap();
        assert_eq!(
            statement(&t, &delete).unwrap(),
            (
                "DELETE FROM public.t WHERE \"id\" = E'4'".to_owned(),
                true,
                None
            )
        );
        let nokey = decode::parse("table public.t: DELETE: (no-tuple-data)").unwrap();
        assert!(statement(&t, &nokey).is_err());
        let keyless = Table {
            key: Vec::new(),
            ..table()
        };
        assert!(statement(&keyless, &delete)
            .unwrap_err()
            .contains("no primary key"));
    }
}
