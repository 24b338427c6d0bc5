//! Issue #12: a rollback that keeps the writes made after the backup. On a `wal_level =
//! logical` server, a deployment's scoped backup starts a replication slot at its snapshot; the
//! table-level restore replays the application's changes to the covered tables since, and no
//! slot is left behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use migrate_tests::{LogicalDb, TestDb};

use crate::common::{last_json, migrate_bin, text, Dir};

pub const INIT: &str = "20240101000000_pgbench";
pub const DROP_FILLER: &str = "20240102000000_drop_filler";
/// pgbench's tables, as `pgbench -i` makes them (with their primary keys).
pub const INIT_SQL: &str = "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));\n\
    CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL REFERENCES pgbench_branches, tbalance int, filler char(84));\n\
    CREATE TABLE pgbench_history (tid int, bid int, delta int, mtime timestamp, filler char(22));\n\
    INSERT INTO pgbench_branches VALUES (1, 0, NULL);\n\
    INSERT INTO pgbench_tellers SELECT g, 1, 0, 'teller ' || g FROM generate_series(1, 10) g;";
pub const DROP_FILLER_SQL: &str = "ALTER TABLE pgbench_tellers DROP COLUMN filler;";

/// An application writing to `pgbench_tellers` (inserts, updates, deletes) and
/// `pgbench_history`, one small transaction at a time, keeping what committed.
pub struct Writer {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Committed>,
}

/// What the writer's committed transactions left.
#[derive(Debug, Default)]
pub struct Committed {
    /// `tid → tbalance` of every teller.
    pub tellers: BTreeMap<i32, i32>,
    /// Rows inserted into `pgbench_history`.
    pub history: i64,
    /// Transactions committed.
    pub transactions: u64,
}

impl Writer {
    /// Starts writing on database `name` of `cluster`, from the tellers there now.
    pub fn start(cluster: &'static migrate_core::embedded::EmbeddedCluster, name: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name = name.to_owned();
        let handle = std::thread::spawn(move || {
            let mut client = cluster.connect(&name).unwrap();
            let mut done = Committed::default();
            for row in client
                .query("SELECT tid, tbalance FROM pgbench_tellers", &[])
                .unwrap()
            {
                done.tellers.insert(row.get(0), row.get(1));
            }
            let mut next = 1000;
            let mut i: i32 = 0;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                // Insert a teller, update another, every fifth time delete the oldest inserted.
                let update = *done
                    .tellers
                    .keys()
                    .nth(i as usize % done.tellers.len())
                    .unwrap();
                let delete = (i % 5 == 0)
                    .then(|| {
                        done.tellers
                            .keys()
                            .copied()
                            .find(|t| *t >= 1000 && *t != update)
                    })
                    .flatten();
                let attempt = (|| -> Result<(), postgres::Error> {
                    let mut tx = client.transaction()?;
                    tx.execute(
                        "INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES ($1, 1, $2)",
                        &[&next, &i],
                    )?;
                    tx.execute(
                        "UPDATE pgbench_tellers SET tbalance = tbalance + $2 WHERE tid = $1",
                        &[&update, &i],
                    )?;
                    if let Some(tid) = delete {
                        tx.execute("DELETE FROM pgbench_tellers WHERE tid = $1", &[&tid])?;
                    }
                    tx.execute(
                        "INSERT INTO pgbench_history (tid, bid, delta, mtime) VALUES ($1, 1, $2, now())",
                        &[&update, &i],
                    )?;
                    tx.commit()
                })();
                match attempt {
                    Ok(()) => {
                        done.tellers.insert(next, i);
                        *done.tellers.get_mut(&update).unwrap() += i;
                        if let Some(tid) = delete {
                            done.tellers.remove(&tid);
                        }
                        done.history += 1;
                        done.transactions += 1;
                        next += 1;
                    }
                    // A restore swapping the table in, say: not committed, not expected.
                    Err(_) => {
                        if client.is_closed() {
                            client = cluster.connect(&name).unwrap();
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            done
        });
        Self { stop, handle }
    }

    /// Stops and returns what committed.
    pub fn stop(self) -> Committed {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// The tellers as the database has them.
pub fn tellers(client: &mut postgres::Client) -> BTreeMap<i32, i32> {
    client
        .query("SELECT tid, tbalance FROM pgbench_tellers", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

pub fn slots(client: &mut postgres::Client) -> Vec<String> {
    client
        .query("SELECT slot_name::text FROM pg_replication_slots", &[])
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect()
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

/// `migrate deploy --json` of `dir` into `url`, the drop approved when it is there, checked by `health` (a shell
/// command), backups in `backups`.
pub fn deploy(url: &str, dir: &Path, backups: &Path, health: &str) -> std::process::Command {
    let mut command = std::process::Command::new(migrate_bin());
    command
        .args(["deploy", "--health-window", "0", "--no-compat-check"])
        .arg("--migrations-dir")
        .arg(dir)
        .arg("--backup-dir")
        .arg(backups)
        .args(["--health-cmd", health])
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command.arg("--json");
    if dir.join(DROP_FILLER).exists() {
        command.args(["--approve", DROP_FILLER]);
    }
    command
}

/// Runs `command`, which must exit with `code` (what it printed is the failure message).
pub fn exits(command: &mut std::process::Command, code: i32) -> std::process::Output {
    let out = command.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The case: a writer commits inserts and updates on `pgbench_tellers` before, during
/// and after a deployment that drops its `filler` column and fails its health check; the
/// automatic rollback keeps every committed write, the schema is the one before, the other
/// tables keep theirs, and no slot remains.
#[test]
fn a_failed_deployment_rolls_back_and_keeps_every_write_made_since_the_backup() {
    let db = LogicalDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = tempfile::tempdir().unwrap();
    exits(&mut deploy(&db.url, dir.path(), backups.path(), "true"), 0);
    let before = db.app_state();
    dir.add(DROP_FILLER, DROP_FILLER_SQL);

    let writer = Writer::start(migrate_tests::logical_cluster(), &db.name);
    std::thread::sleep(Duration::from_millis(300));
    // Unhealthy after a second: the application writes to the migrated table meanwhile.
    let out = deploy(
        &db.url,
        dir.path(),
        backups.path(),
        "sh -c 'sleep 1; exit 1'",
    )
    .output()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let committed = writer.stop();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = last_json(&out.stdout);
    let restore = &report["rollback"]["restore"];
    assert_eq!(
        restore["previous_database"],
        serde_json::Value::Null,
        "table-level"
    );
    let replay = &restore["replay"];
    assert!(
        replay["changes"].as_u64().unwrap() > 0,
        "writes were replayed: {replay}"
    );
    assert!(replay["deployment"].as_u64().unwrap() >= 1, "{replay}");
    assert_eq!(restore["lost"], serde_json::json!([]), "{restore}");

    let mut client = db.client();
    assert!(
        committed.transactions > 20,
        "the writer wrote: {committed:?}"
    );
    assert_eq!(
        tellers(&mut client),
        committed.tellers,
        "every committed insert, update and delete is there"
    );
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM pgbench_history"),
        committed.history,
        "the other table kept its writes"
    );
    assert_eq!(db.app_state().0, before.0, "the schema is the one before");
    assert!(slots(&mut client).is_empty(), "no slot remains");
    let applied: Vec<String> = migrate_core::ledger::read_rows(&mut client)
        .unwrap()
        .into_iter()
        .filter(|r| r.finished_at.is_some() && r.rolled_back_at.is_none())
        .map(|r| r.migration_name)
        .collect();
    assert_eq!(applied, [INIT]);

    // The inserts made without `filler` are in the reconciliation file, replayed.
    let files = replay["reconcile"].as_array().unwrap();
    let tellers_file = files
        .iter()
        .find(|f| f["table"] == "public.pgbench_tellers")
        .unwrap_or_else(|| panic!("a reconciliation file for the tellers: {replay}"));
    assert_eq!(tellers_file["not_replayed"], 0, "{replay}");
    let lines = std::fs::read_to_string(tellers_file["file"].as_str().unwrap()).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["replayed"], true);
    assert!(
        first["reason"].as_str().unwrap().contains("filler"),
        "{first}"
    );
}

/// A slot whose process died (no session holds its lock) is dropped by the next deployment,
/// which says so; a slot that is not ours is left alone.
#[test]
fn the_next_deployment_drops_an_orphaned_slot() {
    let db = LogicalDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = tempfile::tempdir().unwrap();
    let mut client = db.client();
    client
        .batch_execute(
            "SELECT pg_create_logical_replication_slot('migrate_backup_20240101_000000', 'test_decoding');\n\
             SELECT pg_create_logical_replication_slot('someone_elses', 'test_decoding');",
        )
        .unwrap();
    let out = exits(
        deploy(&db.url, dir.path(), backups.path(), "true").arg("--json-events"),
        0,
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("dropped replication slot migrate_backup_20240101_000000"),
        "{said}"
    );
    let mut left = slots(&mut client);
    left.retain(|s| s.starts_with("migrate_") || s == "someone_elses");
    assert_eq!(left, ["someone_elses"]);
    client
        .batch_execute("SELECT pg_drop_replication_slot('someone_elses')")
        .unwrap();
}

/// Without `wal_level = logical`, the deployment says once why later writes cannot be kept,
/// and goes on as before (the rollback counts them).
#[test]
fn without_logical_wal_the_deployment_says_so_once_and_goes_on() {
    let db = TestDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = tempfile::tempdir().unwrap();
    exits(&mut deploy(&db.url, dir.path(), backups.path(), "true"), 0);
    dir.add(DROP_FILLER, DROP_FILLER_SQL);
    let out = exits(
        deploy(&db.url, dir.path(), backups.path(), "false").arg("--json-events"),
        1,
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        said.matches("wal_level is replica, not logical").count(),
        1,
        "{said}"
    );
    assert!(
        said.contains("\"strategy\":\"restore\""),
        "rolled back by restore: {said}"
    );
    assert!(!said.contains("\"replay\""), "{said}");
}

/// Every slot in use: the deployment is refused before anything changes, saying how to free
/// one (a scoped backup's slot could not be created, and a rollback would lose writes).
#[test]
fn every_slot_in_use_refuses_the_deployment() {
    let db = LogicalDb::new();
    let dir = Dir::with(&[(INIT, INIT_SQL)]);
    let backups = tempfile::tempdir().unwrap();
    exits(&mut deploy(&db.url, dir.path(), backups.path(), "true"), 0);
    dir.add(DROP_FILLER, DROP_FILLER_SQL);
    let mut client = db.client();
    // The tests on this cluster run one at a time: these are the only slots.
    let max: i64 = client
        .query_one(
            "SELECT current_setting('max_replication_slots')::bigint",
            &[],
        )
        .unwrap()
        .get(0);
    let used = i64::try_from(slots(&mut client).len()).unwrap();
    for i in used..max {
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
                &[&format!("filler_{i}")],
            )
            .unwrap();
    }
    let out = exits(&mut deploy(&db.url, dir.path(), backups.path(), "true"), 1);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("replication slots are in use"), "{said}");
    let applied = migrate_core::ledger::read_rows(&mut client).unwrap().len();
    assert_eq!(applied, 1, "nothing was applied: {said}");
    for slot in slots(&mut client) {
        if slot.starts_with("filler_") {
            client
                .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                .unwrap();
        }
    }
}
