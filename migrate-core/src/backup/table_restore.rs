//! Table-level restore of a scoped backup (issue #12): the covered tables are put back whole
//! (definition, rows, sequences, indexes, constraints, triggers, grants, foreign keys to and
//! from them), the objects created since the backup are dropped, the ledger is rewound, and
//! every other table, with the writes made to it since the backup, is left alone.
//!
//! It all happens in one transaction that first takes `ACCESS EXCLUSIVE` locks on the covered
//! tables with a bounded wait (`lock_timeout`, retried), and commits only when every covered
//! table's count and digest and the schema fingerprint equal the manifest's: a mismatch rolls
//! everything back and the database is as it was. One transaction rather than one per table,
//! because foreign keys between covered tables would otherwise be checked half-restored; the
//! transaction holds the covered tables only, so its length is proportional to their data.
//!
//! When the backup has a replication slot (`replay`), the transaction reads it right after the
//! locks, before anything is dropped, and replays the application's writes after the check:
//! one cut-over for all covered tables.

use std::time::{Duration, Instant};

use super::pg_dump::tools_for;
use super::{
    Backup, BackupError, PgDumpBackup, PgTools, RestoreOptions, RestoreReport, Scope, TableLoss,
    VerifyOptions,
};
use crate::connection::{connect, DatabaseUrl};
use crate::sql::split;

/// How long each attempt waits for the covered tables' locks.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before giving up on the locks.
const LOCK_ATTEMPTS: u32 = 6;

pub(crate) fn restore_tables(
    provider: &PgDumpBackup,
    backup: &Backup,
    scope: &Scope,
    url: &DatabaseUrl,
    options: &RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    let start = Instant::now();
    let target = url.target();
    let tools = tools_for(provider, backup)?;
    {
        let mut client = connect(url)?;
        let privileges = super::RolePrivileges::read(&mut client, &target)?;
        let tables: Vec<String> = scope.covered.iter().map(|t| t.qualified()).collect();
        let missing = privileges.missing_for_tables(tables.iter().map(String::as_str));
        if !missing.is_empty() {
            return Err(BackupError::MissingPrivilege {
                role: privileges.role,
                operation: "a table-level restore".to_owned(),
                missing: super::list_privileges(&missing),
            });
        }
    }
    super::verify::verify(
        provider,
        backup,
        options.verify_before,
        &VerifyOptions::default(),
    )?
    .required(backup.id(), options.verify_before)
    .map(drop)?;
    let mut phases = vec![("verify backup".to_owned(), start.elapsed().as_secs_f64())];
    let t = Instant::now();
    let archive = Archive::read(&tools, backup)?;
    phases.push(("read the archive".to_owned(), t.elapsed().as_secs_f64()));

    let mut client = connect(url)?;
    let plan = Plan::build(&mut client, &archive, scope, &target)?;
    let t = Instant::now();
    let mut decoder = decoder_for(url, scope)?;
    // With a replay, nothing written since the backup is lost: no need to count (a scan).
    let mut lost = match decoder {
        Some(_) => Vec::new(),
        None => losses(&mut client, scope, &target)?,
    };
    let reconcile_dir = backup.dir.join(format!("{}.reconcile", backup.id()));
    let mut attempt = 0;
    let replay = loop {
        attempt += 1;
        let replay = match (decoder.as_mut(), scope.replay.as_ref()) {
            (Some(decoder), Some(point)) => Some((
                decoder,
                super::replay::apply::Input {
                    point,
                    covered: &scope.covered,
                    reconcile_dir: reconcile_dir.clone(),
                    target: &target,
                },
            )),
            _ => None,
        };
        match plan.run(&mut client, backup, scope, &target, replay) {
            Ok(replayed) => break replayed,
            Err(RunError::Restore(BackupError::Query { source, .. }))
                if attempt < LOCK_ATTEMPTS
                    && source.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) =>
            {
                log::warn!(target: "migrate_core::backup", "{target}: the covered tables are busy; trying again (attempt {attempt})");
                std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
            }
            // The restore itself is sound without the replay: done again without it, the
            // writes since the backup counted as lost, rather than no rollback at all.
            Err(RunError::Replay(e)) => {
                log::warn!(target: "migrate_core::backup", "{target}: replaying the writes since the backup failed, restoring without them: {e}");
                decoder = None;
                if client.is_closed() {
                    client = connect(url)?;
                }
                lost = losses(&mut client, scope, &target)?;
            }
            Err(RunError::Restore(e)) => return Err(e),
        }
    };
    phases.push((
        "swap the covered tables in".to_owned(),
        t.elapsed().as_secs_f64(),
    ));
    // The writes are in: the slot has served (a later restore of this backup counts losses).
    if let (Some(decoder), Some(point)) = (decoder.as_mut(), scope.replay.as_ref()) {
        if let Err(e) = super::replay::slot::drop_slot(decoder, &point.slot) {
            log::warn!(target: "migrate_core::backup", "{target}: dropping replication slot {}: {e}", point.slot);
        }
    }
    crate::journal::record_schema_latest(&mut client, &target);
    log::info!(
        target: "migrate_core::backup",
        "restored {} table(s) of {} into {target} in {:.1}s",
        scope.covered.len(),
        backup.id(),
        start.elapsed().as_secs_f64()
    );
    Ok(RestoreReport {
        backup: backup.id().to_owned(),
        database: url.database().to_owned(),
        previous_database: None,
        duration: start.elapsed(),
        phases,
        lost,
        sessions_ended: 0,
        recovered: Vec::new(),
        replay,
    })
}

/// A session for reading the backup's replication slot, when it has one and the slot is there.
fn decoder_for(url: &DatabaseUrl, scope: &Scope) -> Result<Option<postgres::Client>, BackupError> {
    let Some(point) = &scope.replay else {
        return Ok(None);
    };
    let mut decoder = connect(url)?;
    match super::replay::slot::exists(&mut decoder, &point.slot) {
        Ok(true) => Ok(Some(decoder)),
        Ok(false) => {
            log::warn!(target: "migrate_core::backup", "{}: replication slot {} is gone: the writes since the backup cannot be replayed", url.target(), point.slot);
            Ok(None)
        }
        Err(e) => Err(BackupError::query(
            "looking up the replication slot",
            url.target(),
        )(e)),
    }
}

/// Where [`Plan::run`] failed.
enum RunError {
    /// Restoring the covered tables.
    Restore(BackupError),
    /// Replaying the writes since the backup.
    Replay(BackupError),
}

/// The archive as SQL: definitions (before and after the data), the data, and its listing.
struct Archive {
    pre: String,
    data: String,
    post: String,
    /// `(kind, schema, name)` of every TABLE, VIEW, MATERIALIZED VIEW, TYPE and DOMAIN entry.
    objects: Vec<(String, String, String)>,
}

impl Archive {
    fn read(tools: &PgTools, backup: &Backup) -> Result<Self, BackupError> {
        let script = |args: &[&str]| -> Result<String, BackupError> {
            let mut command = std::process::Command::new(tools.dir().join("pg_restore"));
            command.args(args).arg(backup.path()).env("LC_ALL", "C");
            let out = super::tools::run(&mut command)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        };
        let listing = script(&["--list"])?;
        let kinds = ["MATERIALIZED VIEW", "TABLE", "VIEW", "TYPE", "DOMAIN"];
        let objects = listing
            .lines()
            .filter(|l| !l.starts_with(';'))
            .filter_map(|l| {
                // `215; 1259 16386 TABLE public t owner`
                let rest = l.split_once(';')?.1.trim_start();
                let rest = rest.splitn(3, ' ').nth(2)?;
                let kind = kinds.iter().find(|k| {
                    rest.starts_with(&format!("{k} ")) && !rest.starts_with("TABLE DATA ")
                })?;
                let mut words = rest[kind.len() + 1..].split(' ');
                Some((
                    (*kind).to_owned(),
                    words.next()?.to_owned(),
                    words.next()?.to_owned(),
                ))
            })
            .collect();
        Ok(Self {
            pre: script(&["--section=pre-data", "--no-owner", "-f", "-"])?,
            data: script(&["--section=data", "-f", "-"])?,
            post: script(&["--section=post-data", "--no-owner", "-f", "-"])?,
            objects,
        })
    }
}

/// What the transaction runs.
struct Plan {
    /// `LOCK TABLE …`: the covered tables and the ledger (empty when there is none).
    lock: String,
    /// `DROP … CASCADE` of the objects created since the backup, then of the covered tables.
    drops: Vec<String>,
    /// Definitions of the covered tables (and what hangs on them), before the data.
    pre: Vec<String>,
    /// `(COPY statement, rows)` of the covered tables and the ledger.
    copies: Vec<(String, String)>,
    /// `setval` of the covered tables' sequences.
    setvals: Vec<String>,
    /// Indexes, constraints (foreign keys to and from the covered tables), triggers.
    post: Vec<String>,
    /// The ledger, `schema.table` as pg_dump writes it.
    ledger: Option<String>,
}

impl Plan {
    fn build(
        client: &mut postgres::Client,
        archive: &Archive,
        scope: &Scope,
        target: &str,
    ) -> Result<Self, BackupError> {
        let query = |client: &mut postgres::Client, sql: &str, what: &str| {
            client
                .query(sql, &[])
                .map_err(BackupError::query(what.to_owned(), target.to_owned()))
        };
        // Names as pg_dump writes them (quoted only where needed): the server's quote_ident.
        let mut covered = Vec::new();
        for t in &scope.covered {
            let row = client
                .query_one(
                    "SELECT quote_ident($1) || '.' || quote_ident($2)",
                    &[&t.schema, &t.table],
                )
                .map_err(BackupError::query("quoting names", target.to_owned()))?;
            covered.push(row.get::<_, String>(0));
        }
        // The ledger is rewound to the backup's rows; created since the backup, it goes with
        // the other objects created since (as it would with the whole database).
        let ledger: Option<String> = query(
            client,
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname::text, c.relname::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass('_prisma_migrations')",
            "finding the ledger",
        )?
        .first()
        .filter(|r| {
            let (schema, name): (String, String) = (r.get(1), r.get(2));
            archive
                .objects
                .iter()
                .any(|(k, s, n)| k == "TABLE" && *s == schema && *n == name)
        })
        .map(|r| r.get(0));
        let live = query(
            client,
            &format!(
                "SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, \
                 n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {} AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relispartition = false \
                 UNION ALL \
                 SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname::text, t.typname::text, \
                 quote_ident(n.nspname) || '.' || quote_ident(t.typname) \
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE {} AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND \
                 (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))",
                crate::schema::SYSTEM_SCHEMAS,
                crate::schema::SYSTEM_SCHEMAS
            ),
            "listing relations and types",
        )?;
        let mut drops = Vec::new();
        for row in &live {
            let (kind, schema, name, quoted): (String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let known = archive
                .objects
                .iter()
                .any(|(k, s, n)| *s == schema && *n == name && (*k == kind || kind == "TYPE"));
            if !known {
                // Created after the backup: it goes, as it would with the old database.
                drops.push(format!("DROP {kind} IF EXISTS {quoted} CASCADE"));
            }
        }
        // Enums whose labels changed (Prisma rebuilds an enum under the same name) or that were
        // dropped: recreated as the backup has them, before the tables that use them.
        let mut types = Vec::new();
        for statement in statements(&archive.pre) {
            let Some((name, labels)) = enum_of(&statement) else {
                continue;
            };
            let live: Option<String> = client
                .query_one(
                    "SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder)                      FROM pg_enum WHERE enumtypid = to_regtype($1)",
                    &[&name],
                )
                .map_err(BackupError::query("reading an enum", target.to_owned()))?
                .get(0);
            if live.as_deref() != Some(labels.as_str()) {
                drops.push(format!("DROP TYPE IF EXISTS {name} CASCADE"));
                types.push(name);
            }
        }
        drops.extend(
            covered
                .iter()
                .map(|q| format!("DROP TABLE IF EXISTS {q} CASCADE")),
        );
        let owned = owned_sequences(&archive.pre, &covered);
        let about = |text: &str| {
            mentions(text, &covered)
                || mentions(text, &owned)
                || types
                    .iter()
                    .any(|t| text.starts_with(&format!("CREATE TYPE {t} ")))
        };
        let pre = statements(&archive.pre)
            .into_iter()
            .filter(|s| about(s) && !is_routine(s))
            .collect();
        let post = statements(&archive.post)
            .into_iter()
            .filter(|s| about(s) && !is_routine(s))
            .collect();
        let (copies, setvals) = data_of(&archive.data, &covered, ledger.as_deref(), &owned);
        // Only what exists can be locked: a table the migrations dropped comes back from the
        // archive.
        let mut locked: Vec<&str> = Vec::new();
        for name in &covered {
            let exists: bool = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[name])
                .map_err(BackupError::query(
                    "looking up a covered table",
                    target.to_owned(),
                ))?
                .get(0);
            if exists {
                locked.push(name);
            }
        }
        locked.extend(ledger.as_deref());
        Ok(Self {
            lock: if locked.is_empty() {
                String::new()
            } else {
                format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", locked.join(", "))
            },
            drops,
            pre,
            copies,
            setvals,
            post,
            ledger,
        })
    }

    /// One transaction: lock, drop, define, load, constrain, check, replay, commit.
    fn run(
        &self,
        client: &mut postgres::Client,
        backup: &Backup,
        scope: &Scope,
        target: &str,
        replay: Option<(&mut postgres::Client, super::replay::apply::Input<'_>)>,
    ) -> Result<Option<super::replay::ReplayReport>, RunError> {
        let q = |what: &str| BackupError::query(what.to_owned(), target.to_owned());
        let mut tx = client
            .transaction()
            .map_err(q("starting the restore"))
            .map_err(RunError::Restore)?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}",
            LOCK_TIMEOUT.as_millis()
        ))
        .and_then(|()| match self.lock.is_empty() {
            true => Ok(()),
            false => tx.batch_execute(&self.lock),
        })
        .map_err(q("locking the covered tables"))
        .map_err(RunError::Restore)?;
        // The slot is read now, with the covered tables locked and before the restore writes
        // anything: decoding past a large transaction still in progress (this one, once it has
        // dropped and loaded tables) costs seconds.
        let decoded = match replay {
            Some((decoder, input)) => Some((
                super::replay::apply::read(decoder, input.point, input.target)
                    .map_err(RunError::Replay)?,
                input,
            )),
            None => None,
        };
        self.restore(&mut tx, backup, scope, target)
            .map_err(RunError::Restore)?;
        let replayed = match decoded {
            Some((decoded, input)) => Some(
                super::replay::apply::replay(&mut tx, decoded, &input).map_err(RunError::Replay)?,
            ),
            None => None,
        };
        tx.commit()
            .map_err(BackupError::query(
                "committing the restore",
                target.to_owned(),
            ))
            .map_err(RunError::Restore)?;
        Ok(replayed)
    }

    /// In `tx`, which holds the locks: drop, define, load, constrain, check against the manifest.
    fn restore(
        &self,
        tx: &mut postgres::Transaction<'_>,
        backup: &Backup,
        scope: &Scope,
        target: &str,
    ) -> Result<(), BackupError> {
        let q = |what: &str| BackupError::query(what.to_owned(), target.to_owned());
        for sql in self.drops.iter().chain(&self.pre) {
            tx.batch_execute(sql).map_err(q(&first_words(sql)))?;
        }
        if let Some(ledger) = &self.ledger {
            tx.batch_execute(&format!("DELETE FROM {ledger}"))
                .map_err(q("rewinding the ledger"))?;
        }
        for (copy, rows) in &self.copies {
            let mut writer = tx.copy_in(copy.as_str()).map_err(q(&first_words(copy)))?;
            std::io::Write::write_all(&mut writer, rows.as_bytes())
                .map_err(BackupError::io("stream rows to", "COPY"))?;
            writer.finish().map_err(q(&first_words(copy)))?;
        }
        for sql in self.setvals.iter().chain(&self.post) {
            tx.batch_execute(sql).map_err(q(&first_words(sql)))?;
        }
        let failures = check(tx, backup, scope, target)?;
        if !failures.is_empty() {
            // Dropped with the transaction: the database is as it was.
            return Err(BackupError::RestoreMismatch {
                id: backup.id().to_owned(),
                failures: failures.join("; "),
            });
        }
        Ok(())
    }
}

/// The covered tables' counts and digests, and the schema fingerprint, against the manifest.
fn check(
    tx: &mut postgres::Transaction<'_>,
    backup: &Backup,
    scope: &Scope,
    target: &str,
) -> Result<Vec<String>, BackupError> {
    let mut failures = Vec::new();
    for t in &scope.covered {
        let (rows, digest) = super::table_digest(tx, &t.qualified(), target)?;
        if rows != t.rows || digest != t.digest {
            failures.push(format!(
                "{}: {rows} rows (digest {digest}) instead of {} (digest {})",
                t.qualified(),
                t.rows,
                t.digest
            ));
        }
    }
    let lines = crate::schema::describe_schema(tx, target)?;
    let now = crate::schema::SchemaFingerprint::of(&lines);
    let expected = &backup.manifest.state.schema_fingerprint;
    if now.sha256 != expected.sha256 {
        failures.push(format!(
            "schema fingerprint {} ({} objects) instead of {} ({} objects)",
            &now.sha256[..12.min(now.sha256.len())],
            now.objects,
            &expected.sha256[..12.min(expected.sha256.len())],
            expected.objects
        ));
    }
    Ok(failures)
}

/// What the restore loses: rows of the covered tables written since the backup (count now
/// against count then; an estimate from the statistics when the counts agree).
fn losses(
    client: &mut postgres::Client,
    scope: &Scope,
    target: &str,
) -> Result<Vec<TableLoss>, BackupError> {
    let mut lost = Vec::new();
    for t in &scope.covered {
        let rows: Option<i64> = client
            .query_opt(&format!("SELECT count(*) FROM {}", t.qualified()), &[])
            .ok()
            .flatten()
            .map(|r| r.get(0));
        let Some(rows) = rows else { continue };
        let digest = super::table_digest(client, &t.qualified(), target)
            .map(|(_, d)| d)
            .unwrap_or_default();
        if rows != t.rows || digest != t.digest {
            lost.push(TableLoss {
                schema: t.schema.clone(),
                table: t.table.clone(),
                rows_at_backup: Some(t.rows),
                rows_before_restore: rows,
                writes_since_backup: None,
            });
        }
    }
    Ok(lost)
}

/// The statements of a pg_restore script, whitespace as written, without psql meta-commands
/// (`\restrict`, `\connect`).
fn statements(script: &str) -> Vec<String> {
    let cleaned: String = script
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n");
    split(&cleaned)
        .iter()
        .map(|s| s.text(&cleaned).trim().to_owned())
        .filter(|s| {
            !s.is_empty()
                && !s.starts_with("SET ")
                && !s.starts_with("SELECT pg_catalog.set_config")
        })
        .collect()
}

/// Whether `statement` names one of `names` (`schema.table`, as pg_dump writes it) as a whole
/// token: followed by a space, `(`, `.`, `;`, `,`, `'` or the end.
fn mentions(statement: &str, names: &[String]) -> bool {
    names.iter().any(|name| {
        statement.match_indices(name.as_str()).any(|(i, _)| {
            let before = statement[..i].chars().next_back();
            let after = statement[i + name.len()..].chars().next();
            before.is_none_or(|c| c.is_whitespace() || c == '(' || c == '\'')
                && after.is_none_or(|c| " \n\t(.;,')".contains(c))
        })
    })
}

/// Functions and procedures are not dropped with a table: never recreated.
fn is_routine(statement: &str) -> bool {
    let upper = statement.trim_start().to_ascii_uppercase();
    upper.starts_with("CREATE FUNCTION")
        || upper.starts_with("CREATE PROCEDURE")
        || upper.starts_with("CREATE OR REPLACE FUNCTION")
        || upper.starts_with("CREATE OR REPLACE PROCEDURE")
        || upper.starts_with("CREATE AGGREGATE")
}

/// `CREATE TYPE name AS ENUM ('a', 'b')`: the name as written and the labels as
/// `string_agg(quote_literal(label), ', ')` gives them.
fn enum_of(statement: &str) -> Option<(String, String)> {
    let rest = statement.strip_prefix("CREATE TYPE ")?;
    let (name, labels) = rest.split_once(" AS ENUM")?;
    let labels: Vec<&str> = labels
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(",\n")
        .flat_map(|l| l.split('\n'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches(','))
        .collect();
    Some((name.trim().to_owned(), labels.join(", ")))
}

/// Sequences owned by the covered tables (`ALTER SEQUENCE s OWNED BY t.c`), dropped with them.
fn owned_sequences(pre: &str, covered: &[String]) -> Vec<String> {
    statements(pre)
        .iter()
        .filter_map(|s| {
            let rest = s.strip_prefix("ALTER SEQUENCE ")?;
            let (seq, owner) = rest.split_once(" OWNED BY ")?;
            covered
                .iter()
                .any(|t| owner.starts_with(&format!("{t}.")))
                .then(|| seq.trim().to_owned())
        })
        .collect()
}

/// The COPY blocks of the covered tables and the ledger, and the setvals of their sequences.
fn data_of(
    data: &str,
    covered: &[String],
    ledger: Option<&str>,
    owned: &[String],
) -> (Vec<(String, String)>, Vec<String>) {
    let mut copies = Vec::new();
    let mut setvals = Vec::new();
    let mut lines = data.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("COPY ") {
            let table = rest.split(' ').next().unwrap_or_default();
            let mut rows = String::new();
            for row in lines.by_ref() {
                if row == "\\." {
                    break;
                }
                rows.push_str(row);
                rows.push('\n');
            }
            if covered.iter().any(|t| t == table) || ledger == Some(table) {
                copies.push((line.trim_end_matches(';').to_owned(), rows));
            }
        } else if line.starts_with("SELECT pg_catalog.setval(")
            && owned
                .iter()
                .any(|s| line.contains(&format!("'{}'", s.replace('\'', "''"))))
        {
            setvals.push(line.to_owned());
        }
    }
    (copies, setvals)
}

fn first_words(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    format!("running `{} …`", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_only_whole_names() {
        let names = vec!["public.t".to_owned()];
        assert!(mentions("ALTER TABLE ONLY public.t ADD CONSTRAINT", &names));
        assert!(mentions("REFERENCES public.t(id)", &names));
        assert!(!mentions("ALTER TABLE ONLY public.t2 ADD", &names));
        assert!(!mentions("CREATE TABLE public.tt (", &names));
    }

    #[test]
    fn copies_and_setvals_of_covered_tables_only() {
        let data =
            "COPY public.t (id) FROM stdin;\n1\n2\n\\.\n\nCOPY public.u (id) FROM stdin;\n3\n\\.\n\
                    SELECT pg_catalog.setval('public.t_id_seq', 2, true);\n\
                    SELECT pg_catalog.setval('public.u_id_seq', 9, true);\n";
        let (copies, setvals) = data_of(
            data,
            &["public.t".to_owned()],
            None,
            &["public.t_id_seq".to_owned()],
        );
        assert_eq!(
            copies,
            [(
                "COPY public.t (id) FROM stdin".to_owned(),
                "1\n2\n".to_owned()
            )]
        );
        assert_eq!(setvals.len(), 1);
    }

    #[test]
    fn enum_labels_read_as_the_server_quotes_them() {
        let (name, labels) =
            enum_of("CREATE TYPE public.\"Role\" AS ENUM (\n    'A',\n    'it''s'\n)").unwrap();
        assert_eq!(name, "public.\"Role\"");
        assert_eq!(labels, "'A', 'it''s'");
    }

    #[test]
    fn owned_sequences_follow_their_table() {
        let pre = "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;\n\
                   ALTER SEQUENCE public.u_id_seq OWNED BY public.u.id;\n";
        assert_eq!(
            owned_sequences(pre, &["public.t".to_owned()]),
            ["public.t_id_seq"]
        );
    }
}
