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
    /// `(kind, schema, name)` of every entry of a kind in [`LISTED`] (`-` as the schema of
    /// schemas and extensions; a routine's name with its argument types, as
    /// [`ROUTINE_SIGNATURE`] writes it).
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
        let objects = listing.lines().filter_map(listed_object).collect();
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
        let live = created_objects(client, target)?;
        let mut drops = Vec::new();
        for (kind, schema, name, drop) in &live {
            let known = archive
                .objects
                .iter()
                .any(|(k, s, n)| s == schema && n == name && (k == kind || kind == "TYPE"));
            if !known {
                // Created after the backup: it goes, as it would with the old database.
                drops.push(format!("DROP {kind} IF EXISTS {drop} CASCADE"));
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

/// The kinds of archive entries whose absence from the archive means "created since the
/// backup" (longest first where one is a prefix of another).
const LISTED: [&str; 12] = [
    "MATERIALIZED VIEW",
    "FOREIGN TABLE",
    "TABLE",
    "VIEW",
    "SEQUENCE",
    "TYPE",
    "DOMAIN",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "SCHEMA",
    "EXTENSION",
];

/// `(kind, schema, name)` of a `pg_restore --list` line of a kind in [`LISTED`]:
/// `215; 1259 16386 TABLE public t owner`, `7; 2615 16446 SCHEMA - s owner`,
/// `271; 1255 16489 FUNCTION public f(integer, public.r) owner`, `2; 3079 16447 EXTENSION -
/// pgcrypto ` (no owner). Names are written unquoted and may hold spaces: the name is every
/// word between the schema and the owner.
fn listed_object(line: &str) -> Option<(String, String, String)> {
    if line.starts_with(';') {
        return None;
    }
    let rest = line.split_once(';')?.1.trim_start();
    let rest = rest.splitn(3, ' ').nth(2)?;
    // Entries about an object rather than the object itself.
    if ["TABLE DATA ", "SEQUENCE SET ", "SEQUENCE OWNED BY "]
        .iter()
        .any(|p| rest.starts_with(p))
    {
        return None;
    }
    let kind = LISTED.iter().find(|k| rest.starts_with(&format!("{k} ")))?;
    let (schema, tagged) = rest[kind.len() + 1..].split_once(' ')?;
    let name = tagged
        .rsplit_once(' ')
        .map_or(tagged, |(name, _owner)| name);
    Some(((*kind).to_owned(), schema.to_owned(), name.to_owned()))
}

/// A routine's name and argument types as `pg_dump` lists it (`f(integer, public.r)`,
/// `count(*)`), when computed under an empty `search_path` as `pg_dump` does.
const ROUTINE_SIGNATURE: &str =
    "p.proname || '(' || CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*' ELSE \
     coalesce((SELECT string_agg(format_type(a.t, NULL), ', ' ORDER BY a.o) \
     FROM unnest(p.proargtypes) WITH ORDINALITY a(t, o)), '') END || ')'";

/// Every object of the application's schemas an archive entry could describe, as `(kind,
/// schema, name as listed, name to drop)`: relations, types and domains, routines, schemas and
/// extensions. Left out: what belongs to an extension (dropped with it, never in the archive),
/// sequences owned by a column (dropped with their table), `public` and `plpgsql`.
fn created_objects(
    client: &mut postgres::Client,
    target: &str,
) -> Result<Vec<(String, String, String, String)>, BackupError> {
    let q = |what: &str| BackupError::query(what.to_owned(), target.to_owned());
    let member = |catalog: &str, oid: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass \
             AND e.objid = {oid} AND e.deptype = 'e')"
        )
    };
    let sql = format!(
        "SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' \
         WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, \
         n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {system} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relispartition = false \
         AND {rel_member} \
         AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend o \
             WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid \
             AND o.refclassid = 'pg_class'::regclass AND o.deptype IN ('a', 'i'))) \
         UNION ALL \
         SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname::text, t.typname::text, \
         quote_ident(n.nspname) || '.' || quote_ident(t.typname) \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {system} AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND \
         (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) AND {type_member} \
         UNION ALL \
         SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, \
         n.nspname::text, {signature}, \
         quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || \
         CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*' \
         ELSE pg_get_function_identity_arguments(p.oid) END || ')' \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {system} AND {proc_member} \
         UNION ALL \
         SELECT 'SCHEMA', '-', n.nspname::text, quote_ident(n.nspname) FROM pg_namespace n \
         WHERE {system} AND n.nspname <> 'public' AND {schema_member} \
         UNION ALL \
         SELECT 'EXTENSION', '-', x.extname::text, quote_ident(x.extname) FROM pg_extension x \
         WHERE x.extname <> 'plpgsql'",
        system = crate::schema::SYSTEM_SCHEMAS,
        rel_member = member("pg_class", "c.oid"),
        type_member = member("pg_type", "t.oid"),
        proc_member = member("pg_proc", "p.oid"),
        schema_member = member("pg_namespace", "n.oid"),
        signature = ROUTINE_SIGNATURE,
    );
    // Argument types qualified as pg_dump writes them: under an empty search_path.
    let mut tx = client
        .transaction()
        .map_err(q("listing the database's objects"))?;
    tx.batch_execute("SET LOCAL search_path = ''")
        .map_err(q("listing the database's objects"))?;
    let rows = tx
        .query(&sql, &[])
        .map_err(q("listing the database's objects"))?;
    tx.commit().map_err(q("listing the database's objects"))?;
    let mut objects: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    // Routines first: their argument types still exist (a type dropped first drops them with
    // it, and `DROP FUNCTION IF EXISTS f(gone_type)` fails); schemas and extensions last.
    let rank = |kind: &str| match kind {
        "FUNCTION" | "PROCEDURE" | "AGGREGATE" => 0,
        "SCHEMA" => 2,
        "EXTENSION" => 3,
        _ => 1,
    };
    objects.sort_by_key(|(kind, ..)| rank(kind));
    Ok(objects)
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
    fn listing_entries_read_with_names_holding_spaces() {
        let entry = |l: &str| listed_object(l).map(|(k, s, n)| format!("{k}|{s}|{n}"));
        assert_eq!(
            entry("215; 1259 16386 TABLE public my table app").as_deref(),
            Some("TABLE|public|my table")
        );
        assert_eq!(
            entry("271; 1255 16489 FUNCTION public f(integer, public.r) app").as_deref(),
            Some("FUNCTION|public|f(integer, public.r)")
        );
        assert_eq!(
            entry("900; 1255 16507 AGGREGATE public ag0(*) app").as_deref(),
            Some("AGGREGATE|public|ag0(*)")
        );
        assert_eq!(
            entry("7; 2615 16446 SCHEMA - reporting app").as_deref(),
            Some("SCHEMA|-|reporting")
        );
        assert_eq!(
            entry("2; 3079 16447 EXTENSION - pgcrypto ").as_deref(),
            Some("EXTENSION|-|pgcrypto")
        );
        assert_eq!(
            entry("216; 1259 16492 SEQUENCE public sq app").as_deref(),
            Some("SEQUENCE|public|sq")
        );
        for other in [
            "3402; 0 16495 TABLE DATA public t app",
            "3412; 0 0 SEQUENCE SET public sq app",
            "3411; 0 0 SEQUENCE OWNED BY public t_id_seq app",
            "3410; 0 0 COMMENT - EXTENSION pgcrypto ",
            "3255; 2604 16498 DEFAULT public t id app",
            ";     Dumped from database version 16.4",
        ] {
            assert_eq!(entry(other), None, "{other}");
        }
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
