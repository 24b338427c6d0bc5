//! The statements that replay decoded changes on the restored tables: one per run of like
//! changes (same table, operation and columns, no key twice), a `VALUES` list the server plans
//! once, every value read by the restored column's type as the dump's were.

use std::collections::HashSet;
use std::rc::Rc;

use super::decode::{Change, Column, Op, Value};
use super::reconcile::Source;
use crate::sql::{quote_ident, quote_literal};

/// A table as the restored database has it.
#[derive(Debug)]
pub(crate) struct Table {
    pub qualified: String,
    pub covered: bool,
    pub exists: bool,
    /// Columns an INSERT may name (no generated ones), with their types (`format_type`).
    pub columns: Vec<(String, String)>,
    /// The primary key's (or replica identity index's) columns, with their types.
    pub key: Vec<(String, String)>,
}

impl Table {
    fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|(c, _)| c == name)
    }

    fn type_of(&self, name: &str) -> &str {
        self.columns
            .iter()
            .chain(&self.key)
            .find(|(c, _)| c == name)
            .map_or("text", |(_, t)| t.as_str())
    }
}

/// What a change does to the restored table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub op: Op,
    /// The row's key (UPDATE's old key, DELETE's), in the table's key order.
    pub key: Vec<String>,
    /// Columns written (INSERT's, UPDATE's SET) and their values (`None`: NULL).
    pub columns: Vec<String>,
    pub values: Vec<Option<String>>,
    /// A caveat to record even though it is replayed.
    pub note: Option<String>,
}

/// One change waiting to run.
pub(crate) struct Pending {
    pub table: Rc<Table>,
    pub change: Prepared,
    pub source: Source,
}

impl Pending {
    /// Keys this change reads or writes: a run holds each at most once, so that its changes do
    /// not depend on each other's order.
    pub(crate) fn keys(&self) -> Vec<Vec<String>> {
        let mut keys = Vec::new();
        if !self.change.key.is_empty() {
            keys.push(self.change.key.clone());
        }
        let written: Option<Vec<String>> = self
            .table
            .key
            .iter()
            .map(|(k, _)| {
                let i = self.change.columns.iter().position(|c| c == k)?;
                self.change.values[i].clone()
            })
            .collect();
        keys.extend(written.filter(|k| !k.is_empty()));
        keys
    }

    /// Whether `next` may join the run this change is in.
    pub(crate) fn same_shape(&self, next: &Pending) -> bool {
        self.change.op == next.change.op
            && self.change.op != Op::Truncate
            && Rc::ptr_eq(&self.table, &next.table)
            && self.change.columns == next.change.columns
    }
}

/// Splits `batch` into runs (lengths, in order) of like changes with no key twice.
pub(crate) fn runs(batch: &[Pending]) -> Vec<usize> {
    let mut lengths = Vec::new();
    let mut start = 0;
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    for (i, p) in batch.iter().enumerate() {
        let keys = p.keys();
        let joins =
            i > start && batch[start].same_shape(p) && keys.iter().all(|k| !seen.contains(k));
        if !joins && i > start {
            lengths.push(i - start);
            start = i;
            seen.clear();
        }
        seen.extend(keys);
    }
    if start < batch.len() {
        lengths.push(batch.len() - start);
    }
    lengths
}

/// The statement for `run` (non-empty, like changes): UPDATE and DELETE return the keys they
/// found, as written in the `VALUES` list.
pub(crate) fn run_sql(run: &[Pending]) -> String {
    let first = &run[0];
    let table = &first.table;
    let t = &table.qualified;
    let key_names: Vec<String> = (0..table.key.len()).map(|i| format!("k{i}")).collect();
    let value_names: Vec<String> = (0..first.change.columns.len())
        .map(|i| format!("c{i}"))
        .collect();
    let rows = |with_key: bool, with_values: bool| -> String {
        run.iter()
            .map(|p| {
                let mut cells: Vec<String> = Vec::new();
                if with_key {
                    cells.extend(p.change.key.iter().map(|k| quote_literal(k)));
                }
                if with_values {
                    cells.extend(
                        p.change
                            .values
                            .iter()
                            .map(|v| v.as_deref().map_or("NULL".to_owned(), quote_literal)),
                    );
                }
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let matches = || -> String {
        table
            .key
            .iter()
            .zip(&key_names)
            .map(|((k, ty), v)| format!("migrate_t.{} = v.{v}::{ty}", quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let returning = || -> String {
        key_names
            .iter()
            .map(|k| format!("v.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match first.change.op {
        Op::Truncate => format!("DELETE FROM {t}"),
        Op::Insert if first.change.columns.is_empty() => {
            format!("INSERT INTO {t} DEFAULT VALUES")
        }
        Op::Insert => {
            let names: Vec<String> = first
                .change
                .columns
                .iter()
                .map(|c| quote_ident(c))
                .collect();
            let casts: Vec<String> = first
                .change
                .columns
                .iter()
                .zip(&value_names)
                .map(|(c, v)| format!("v.{v}::{}", table.type_of(c)))
                .collect();
            format!(
                "INSERT INTO {t} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM (VALUES {}) AS v({})",
                names.join(", "),
                casts.join(", "),
                rows(false, true),
                value_names.join(", ")
            )
        }
        Op::Update => {
            let sets: Vec<String> = first
                .change
                .columns
                .iter()
                .zip(&value_names)
                .map(|(c, v)| format!("{} = v.{v}::{}", quote_ident(c), table.type_of(c)))
                .collect();
            format!(
                "UPDATE {t} AS migrate_t SET {} FROM (VALUES {}) AS v({}) WHERE {} RETURNING {}",
                sets.join(", "),
                rows(true, true),
                key_names
                    .iter()
                    .chain(&value_names)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                matches(),
                returning()
            )
        }
        Op::Delete => format!(
            "DELETE FROM {t} AS migrate_t USING (VALUES {}) AS v({}) WHERE {} RETURNING {}",
            rows(true, false),
            key_names.join(", "),
            matches(),
            returning()
        ),
    }
}

/// What replaying `change` on `table` does; `Err` with why when it cannot be replayed.
pub(crate) fn prepare(table: &Table, change: &Change) -> Result<Prepared, String> {
    let absent = |cols: &[Column]| -> Vec<String> {
        cols.iter()
            .filter(|c| !table.has(&c.name) && c.value != Value::Unchanged)
            .map(|c| c.name.clone())
            .collect()
    };
    let lacks = |gone: &[String]| {
        format!(
            "values of columns the restored table lacks were left out: {}",
            gone.join(", ")
        )
    };
    let written = |cols: &[&Column]| -> (Vec<String>, Vec<Option<String>>) {
        cols.iter()
            .map(|c| {
                let value = match &c.value {
                    Value::Text(t) => Some(t.clone()),
                    Value::Null | Value::Unchanged => None,
                };
                (c.name.clone(), value)
            })
            .unzip()
    };
    match change.op {
        Op::Truncate => Ok(Prepared {
            op: Op::Truncate,
            key: Vec::new(),
            columns: Vec::new(),
            values: Vec::new(),
            note: None,
        }),
        Op::Insert => {
            let new = change.new.as_deref().ok_or("an insert without its row")?;
            let cols: Vec<&Column> = new.iter().filter(|c| table.has(&c.name)).collect();
            let mut notes = Vec::new();
            let gone = absent(new);
            if !gone.is_empty() {
                notes.push(lacks(&gone));
            }
            let unwritten: Vec<&str> = table
                .columns
                .iter()
                .filter(|(t, _)| !new.iter().any(|c| &c.name == t))
                .map(|(t, _)| t.as_str())
                .collect();
            if !unwritten.is_empty() {
                notes.push(format!(
                    "the new version did not write restored columns, left at their defaults: {}",
                    unwritten.join(", ")
                ));
            }
            let (columns, values) = written(&cols);
            Ok(Prepared {
                op: Op::Insert,
                key: Vec::new(),
                columns,
                values,
                note: (!notes.is_empty()).then(|| notes.join("; ")),
            })
        }
        Op::Update => {
            let new = change
                .new
                .as_deref()
                .ok_or("an update without its new row")?;
            let key = key_of(table, change.old.as_deref().unwrap_or(new))?;
            // The key is set only when it changed (an identity column refuses even its own
            // value); TOASTed values the update did not touch stay as they are.
            let cols: Vec<&Column> = new
                .iter()
                .filter(|c| table.has(&c.name) && c.value != Value::Unchanged)
                .filter(|c| change.old.is_some() || !table.key.iter().any(|(k, _)| *k == c.name))
                .collect();
            let gone = absent(new);
            let note = (!gone.is_empty()).then(|| lacks(&gone));
            if cols.is_empty() {
                return Err(note.unwrap_or_else(|| "an update that changed no column".to_owned()));
            }
            let (columns, values) = written(&cols);
            Ok(Prepared {
                op: Op::Update,
                key,
                columns,
                values,
                note,
            })
        }
        Op::Delete => {
            let old = change
                .old
                .as_deref()
                .ok_or("a delete without its key (the table has no replica identity)")?;
            Ok(Prepared {
                op: Op::Delete,
                key: key_of(table, old)?,
                columns: Vec::new(),
                values: Vec::new(),
                note: None,
            })
        }
    }
}

/// The values of the restored table's key in `cols`.
fn key_of(table: &Table, cols: &[Column]) -> Result<Vec<String>, String> {
    if table.key.is_empty() {
        return Err("the restored table has no primary key or replica identity index".to_owned());
    }
    table
        .key
        .iter()
        .map(|(k, _)| {
            let column = cols.iter().find(|c| &c.name == k).ok_or_else(|| {
                format!("the change does not carry the key column {k} of the restored table")
            })?;
            match &column.value {
                Value::Text(t) => Ok(t.clone()),
                _ => Err(format!("the key column {k} has no value in the change")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::decode::parse;
    use super::*;

    fn table() -> Rc<Table> {
        Rc::new(Table {
            qualified: "public.t".to_owned(),
            covered: true,
            exists: true,
            columns: vec![
                ("id".into(), "integer".into()),
                ("a".into(), "text".into()),
                ("filler".into(), "character(84)".into()),
            ],
            key: vec![("id".into(), "integer".into())],
        })
    }

    fn pending(table: &Rc<Table>, line: &str) -> Pending {
        let change = parse(line).unwrap();
        Pending {
            table: table.clone(),
            change: prepare(table, &change).unwrap(),
            source: Source {
                lsn: String::new(),
                xid: 0,
                change,
            },
        }
    }

    #[test]
    fn changes_follow_the_restored_table() {
        let t = table();
        let insert = prepare(
            &t,
            &parse("table public.t: INSERT: id[integer]:3 a[text]:'x''y' b[integer]:9").unwrap(),
        )
        .unwrap();
        assert_eq!(insert.columns, ["id", "a"]);
        assert_eq!(insert.values, [Some("3".into()), Some("x'y".into())]);
        let note = insert.note.unwrap();
        assert!(
            note.contains(": b") && note.contains("defaults: filler"),
            "{note}"
        );

        let toasted = parse(
            "table public.t: UPDATE: id[integer]:3 a[text]:unchanged-toast-datum b[integer]:1",
        )
        .unwrap();
        assert!(prepare(&t, &toasted).unwrap_err().contains(": b"));
        let moved = prepare(
            &t,
            &parse("table public.t: UPDATE: old-key: id[integer]:3 new-tuple: id[integer]:4 a[text]:null").unwrap(),
        )
        .unwrap();
        assert_eq!(
            (moved.key, moved.columns),
            (vec!["3".to_owned()], vec!["id".to_owned(), "a".to_owned()])
        );
        assert_eq!(moved.values, [Some("4".to_owned()), None]);
        assert!(prepare(
            &t,
            &parse("table public.t: DELETE: (no-tuple-data)").unwrap()
        )
        .is_err());
        let keyless = Table {
            key: Vec::new(),
            ..Table {
                qualified: String::new(),
                covered: true,
                exists: true,
                columns: Vec::new(),
                key: Vec::new(),
            }
        };
        assert!(prepare(
            &keyless,
            &parse("table public.t: DELETE: id[integer]:4").unwrap()
        )
        .unwrap_err()
        .contains("no primary key"));
    }

    #[test]
    fn like_changes_run_together_until_a_key_repeats() {
        let t = table();
        let batch = vec![
            pending(&t, "table public.t: UPDATE: id[integer]:1 a[text]:'x'"),
            pending(&t, "table public.t: UPDATE: id[integer]:2 a[text]:'y'"),
            pending(&t, "table public.t: UPDATE: id[integer]:1 a[text]:'z'"),
            pending(&t, "table public.t: DELETE: id[integer]:2"),
            pending(&t, "table public.t: INSERT: id[integer]:5 a[text]:'n'"),
            pending(&t, "table public.t: INSERT: id[integer]:6 a[text]:'m'"),
        ];
        assert_eq!(runs(&batch), [2, 1, 1, 2]);
        assert_eq!(
            run_sql(&batch[..2]),
            "UPDATE public.t AS migrate_t SET \"a\" = v.c0::text FROM (VALUES (E'1', E'x'), (E'2', E'y')) \
             AS v(k0, c0) WHERE migrate_t.\"id\" = v.k0::integer RETURNING v.k0"
        );
        assert_eq!(
            run_sql(&batch[3..4]),
            "DELETE FROM public.t AS migrate_t USING (VALUES (E'2')) AS v(k0) WHERE migrate_t.\"id\" = v.k0::integer RETURNING v.k0"
        );
        assert_eq!(
            run_sql(&batch[4..]),
            "INSERT INTO public.t (\"id\", \"a\") OVERRIDING SYSTEM VALUE SELECT v.c0::integer, v.c1::text \
             FROM (VALUES (E'5', E'n'), (E'6', E'm')) AS v(c0, c1)"
        );
    }
}
