//! Replaying the slot's changes into the restore's transaction, and writing what cannot be
//! replayed to the reconciliation files.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, SimpleQueryMessage, Transaction};

use super::decode::{self, Op};
use super::reconcile::{Entry, Files, Source};
use super::statement::{prepare, run_sql, runs, Pending, Table};
use super::{ReplayPoint, ReplayReport};
use crate::backup::{BackupError, CoveredTable};
use crate::sql::{quote_ident, quote_literal};

/// Changes sent per round trip (in runs of like changes, one statement each).
const BATCH: usize = 2000;

/// Settings that make the decoded values read back the same on any server configuration.
const PINNED: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
                      SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; \
                      SET bytea_output = 'hex'";

/// Where [`replay`] writes.
pub(crate) struct Input<'a> {
    pub point: &'a ReplayPoint,
    pub covered: &'a [CoveredTable],
    /// The directory for the reconciliation files (created when there is something to write).
    pub reconcile_dir: PathBuf,
    pub target: &'a str,
}

/// The application's transactions read from the slot, in commit order, not yet replayed.
pub(crate) struct Decoded {
    changes: Vec<Source>,
    /// Lines `test_decoding` wrote that could not be read: `(lsn, xid, why)`.
    unreadable: Vec<(String, u32, String)>,
    in_backup: u64,
    deployment: u64,
    started: Instant,
}

/// Reads the slot on `decoder` up to the WAL position now. The caller holds the covered
/// tables' locks, so every write to them has committed before that position or waits for the
/// restore; and it reads before the restore writes, since decoding past a large transaction in
/// progress is slow. Transactions the backup holds (visible in its snapshot) and the
/// deployment's own (they write the ledger) are left out here.
pub(crate) fn read(
    decoder: &mut Client,
    point: &ReplayPoint,
    target: &str,
) -> Result<Decoded, BackupError> {
    let started = Instant::now();
    let q = |what: &str| BackupError::query(what.to_owned(), target.to_owned());
    let snapshot = Snapshot::parse(&point.snapshot).ok_or_else(|| BackupError::Manifest {
        path: PathBuf::from(&point.slot),
        reason: format!("unreadable snapshot {:?}", point.snapshot),
    })?;
    decoder
        .batch_execute(PINNED)
        .map_err(q("pinning the decoding session's settings"))?;
    let upto: String = decoder
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .map_err(q("reading the WAL position"))?
        .get(0);
    let params: [&(dyn ToSql + Sync); 2] = [&point.slot, &upto];
    let mut rows = decoder
        .query_raw(
            "SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_peek_changes(\
             $1, $2::text::pg_lsn, NULL, 'include-xids', '1', 'skip-empty-xacts', '1')",
            params,
        )
        .map_err(q("reading the replication slot"))?;
    let mut decoded = Decoded {
        changes: Vec::new(),
        unreadable: Vec::new(),
        in_backup: 0,
        deployment: 0,
        started,
    };
    let mut current: Vec<Source> = Vec::new();
    let mut unreadable: Vec<(String, u32, String)> = Vec::new();
    while let Some(row) = rows.next().map_err(q("reading the replication slot"))? {
        let (lsn, xid, data): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
        let xid = u32::try_from(xid).unwrap_or(0);
        if data.starts_with("BEGIN") {
            current.clear();
            unreadable.clear();
        } else if data.starts_with("COMMIT") {
            if snapshot.visible(xid) {
                decoded.in_backup += 1;
            } else if current
                .iter()
                .any(|s| s.change.table == "_prisma_migrations")
            {
                decoded.deployment += 1;
            } else {
                decoded.changes.append(&mut current);
                decoded.unreadable.append(&mut unreadable);
            }
            current.clear();
            unreadable.clear();
        } else if data.starts_with("table ") {
            match decode::parse(&data) {
                Ok(change) => current.push(Source { lsn, xid, change }),
                Err(why) => unreadable.push((lsn, xid, format!("{why}: {data}"))),
            }
        }
    }
    log::debug!(target: "migrate_core::backup", "replay: read {} change(s) up to {upto} in {:?}", decoded.changes.len(), started.elapsed());
    Ok(decoded)
}

/// Replays `decoded` into `tx`, where the covered tables are restored: the changes to covered
/// tables in order, by key; every other table holds its writes already.
pub(crate) fn replay(
    tx: &mut Transaction<'_>,
    decoded: Decoded,
    input: &Input<'_>,
) -> Result<ReplayReport, BackupError> {
    let target = input.target.to_owned();
    tx.batch_execute(&PINNED.replace("SET ", "SET LOCAL "))
        .map_err(BackupError::query(
            "pinning the restore's settings",
            target.clone(),
        ))?;
    let mut replayer = Replayer {
        tables: HashMap::new(),
        covered: input.covered,
        files: Files::new(input.reconcile_dir.clone()),
        batch: Vec::new(),
        report: ReplayReport {
            slot: input.point.slot.clone(),
            in_backup: decoded.in_backup,
            deployment: decoded.deployment,
            ..ReplayReport::default()
        },
        inserted: Vec::new(),
        target: &target,
    };
    for (lsn, xid, reason) in decoded.unreadable {
        replayer.files.write(&Entry {
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
    let mut last_xid = None;
    for source in decoded.changes {
        let xid = source.xid;
        if replayer.change(tx, source)? && last_xid != Some(xid) {
            replayer.report.transactions += 1;
            last_xid = Some(xid);
        }
        if replayer.batch.len() >= BATCH {
            replayer.flush(tx)?;
        }
    }
    replayer.flush(tx)?;
    replayer.sequences(tx)?;
    let mut report = replayer.finish()?;
    report.duration = decoded.started.elapsed();
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

struct Replayer<'a> {
    tables: HashMap<(String, String), Rc<Table>>,
    covered: &'a [CoveredTable],
    files: Files,
    batch: Vec<Pending>,
    report: ReplayReport,
    /// Tables that received inserts.
    inserted: Vec<String>,
    target: &'a str,
}

impl Replayer<'_> {
    /// Queues one change to a covered table (`true`); a change to another existing table is
    /// there already, and one that cannot be replayed goes to reconciliation (`false`).
    fn change(&mut self, tx: &mut Transaction<'_>, source: Source) -> Result<bool, BackupError> {
        let change = &source.change;
        let key = (change.schema.clone(), change.table.clone());
        let table = match self.tables.get(&key) {
            Some(table) => table.clone(),
            None => {
                let table = Rc::new(self.describe(tx, &change.schema, &change.table)?);
                self.tables.insert(key, table.clone());
                table
            }
        };
        if table.exists && !table.covered {
            // Not restored: the write is there already.
            return Ok(false);
        }
        if !table.exists {
            self.files.write(&Entry::of(
                &source,
                false,
                "the table does not exist after the rollback (created or renamed by the \
                 deployment)",
            ))?;
            return Ok(false);
        }
        match prepare(&table, &source.change) {
            Ok(prepared) => {
                self.batch.push(Pending {
                    table,
                    change: prepared,
                    source,
                });
                Ok(true)
            }
            Err(reason) => {
                self.files.write(&Entry::of(&source, false, reason))?;
                Ok(false)
            }
        }
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
        let exists: bool = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
            .map_err(q("looking up a replayed table"))?
            .get(0);
        let pairs = |rows: Vec<postgres::Row>| -> Vec<(String, String)> {
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        let (columns, key) = if exists {
            let columns = tx
                .query(
                    "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
                     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped \
                     AND attgenerated = '' ORDER BY attnum",
                    &[&qualified],
                )
                .map_err(q("reading a replayed table's columns"))?;
            let key = tx
                .query(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
                     FROM (SELECT indrelid, indkey FROM pg_index WHERE indrelid = to_regclass($1) \
                           AND (indisprimary OR indisreplident) ORDER BY indisprimary DESC LIMIT 1) i \
                     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                     ORDER BY k.n",
                    &[&qualified],
                )
                .map_err(q("reading a replayed table's key"))?;
            (pairs(columns), pairs(key))
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Table {
            qualified,
            covered,
            exists,
            columns,
            key,
        })
    }

    /// Runs the queued changes: in one round trip under a savepoint, a statement per run of
    /// like changes; when one fails, each change alone, so that only the failing ones go to
    /// reconciliation.
    fn flush(&mut self, tx: &mut Transaction<'_>) -> Result<(), BackupError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.batch);
        let target = self.target.to_owned();
        let q = |what: &str| BackupError::query(what.to_owned(), target.clone());
        let lengths = runs(&batch);
        let mut text = String::from("SAVEPOINT migrate_replay;\n");
        let mut at = 0;
        for len in &lengths {
            text.push_str(&run_sql(&batch[at..at + len]));
            text.push_str(";\n");
            at += len;
        }
        text.push_str("RELEASE SAVEPOINT migrate_replay");
        match tx.simple_query(&text) {
            Ok(messages) => {
                // SAVEPOINT, then one result per run.
                let results = results(&messages);
                for (len, found) in lengths.into_iter().zip(results.into_iter().skip(1)) {
                    let run: Vec<Pending> = batch.drain(..len).collect();
                    self.settle(run, &found)?;
                }
            }
            Err(_) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT migrate_replay")
                    .map_err(q("rolling back a replay batch"))?;
                for p in batch {
                    let one = format!(
                        "SAVEPOINT migrate_replay_one; {}; RELEASE SAVEPOINT migrate_replay_one",
                        run_sql(std::slice::from_ref(&p))
                    );
                    match tx.simple_query(&one) {
                        Ok(messages) => {
                            let found = results(&messages).into_iter().nth(1).unwrap_or_default();
                            self.settle(vec![p], &found)?;
                        }
                        Err(e) => {
                            tx.batch_execute("ROLLBACK TO SAVEPOINT migrate_replay_one")
                                .map_err(q("rolling back a replayed change"))?;
                            self.files.write(&Entry::of(
                                &p.source,
                                false,
                                format!(
                                    "the restored table refused it: {}",
                                    crate::backup::error::pg_detail(&e)
                                ),
                            ))?;
                        }
                    }
                }
                tx.batch_execute("RELEASE SAVEPOINT migrate_replay")
                    .map_err(q("ending a replay batch"))?;
            }
        }
        Ok(())
    }

    /// Records how a run that ran ended: UPDATE and DELETE changes whose key the statement did
    /// not return found no row.
    fn settle(
        &mut self,
        run: Vec<Pending>,
        found: &HashSet<Vec<String>>,
    ) -> Result<(), BackupError> {
        for p in run {
            let matched = match p.change.op {
                Op::Update | Op::Delete => found.contains(&p.change.key),
                Op::Insert | Op::Truncate => true,
            };
            if !matched {
                self.files.write(&Entry::of(
                    &p.source,
                    false,
                    "no row with this key in the restored table",
                ))?;
                continue;
            }
            self.report.changes += 1;
            if p.change.op == Op::Insert && !self.inserted.contains(&p.table.qualified) {
                self.inserted.push(p.table.qualified.clone());
            }
            if let Some(reason) = p.change.note {
                self.files.write(&Entry::of(&p.source, true, reason))?;
            }
        }
        Ok(())
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
                    "SELECT setval({literal}, m) FROM (SELECT max({column}) AS m FROM {table}) x \
                     WHERE m IS NOT NULL AND m > (SELECT last_value FROM {seq})",
                    literal = quote_literal(&seq),
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
        self.report.reconcile = self.files.finish()?;
        Ok(self.report)
    }
}

/// The rows each statement of a simple query returned (as text), one set per statement.
fn results(messages: &[SimpleQueryMessage]) -> Vec<HashSet<Vec<String>>> {
    let mut out = Vec::new();
    let mut rows = HashSet::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => {
                rows.insert(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or_default().to_owned())
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(_) => out.push(std::mem::take(&mut rows)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
