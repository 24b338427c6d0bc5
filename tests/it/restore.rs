//! Restore that really restores: objects created after the backup vanish, the state equals the
//! manifest, writes stop meanwhile, and the report says how long it took and what was lost.

use crate::common::engine;
use migrate_core::backup::{
    is_read_only, set_read_only, BackupProvider, BackupStore, ReadOnlyGuard, RestoreOptions,
};
use migrate_tests::TestDb;

use crate::backup::{provider, seeded_db, state_of};
use crate::common::{table_exists, url, Dir};

/// A deployment that is hard to undo: new tables with foreign keys to old ones, a dropped
/// column, a type rewrite. The safety gate's findings are approved in the SQL, as a team would.
pub const RISKY_UP: &str = "
CREATE TABLE tag (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES post(id), label text);
CREATE TABLE follower (author_id int NOT NULL REFERENCES author(id), since timestamptz DEFAULT now());
-- migrate:approve drop-column reason: score is recomputed elsewhere (rollback test)
ALTER TABLE post DROP COLUMN score;
-- migrate:approve changing-column-type reason: names are short (rollback test)
ALTER TABLE author ALTER COLUMN name TYPE varchar(200);
INSERT INTO tag (post_id, label) SELECT id, 'tag' FROM post WHERE id <= 100;
";

/// Its complete down script.
pub const RISKY_DOWN: &str = "
ALTER TABLE author ALTER COLUMN name TYPE text;
ALTER TABLE post ADD COLUMN score int DEFAULT 0;
DROP TABLE follower;
DROP TABLE tag;
";

pub const RISKY_NAME: &str = "20240202000000_risky";

/// Adds the risky migration (with `down.sql` when asked) and deploys it.
pub fn deploy_risky(db: &TestDb, dir: &Dir, with_down: bool) {
    dir.add(RISKY_NAME, RISKY_UP);
    if with_down {
        std::fs::write(dir.path().join(RISKY_NAME).join("down.sql"), RISKY_DOWN).unwrap();
    }
    let report = engine(db, dir.path()).deploy().unwrap();
    assert_eq!(report.applied.len(), 1);
}

fn can_write(db: &TestDb) -> Result<(), String> {
    db.client()
        .batch_execute(
            "CREATE TEMP TABLE probe (x int); INSERT INTO author (name) VALUES ('probe')",
        )
        .map_err(|e| {
            e.as_db_error()
                .map(|d| d.code().code().to_owned())
                .unwrap_or_default()
        })
}

#[test]
fn restore_returns_exactly_to_the_backup_and_reports_rto_and_loss() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    deploy_risky(&db, &dir, false);
    db.client()
        .batch_execute("INSERT INTO author (name) SELECT 'later' FROM generate_series(1, 7)")
        .unwrap();
    assert!(!backup.manifest.state.differences(&state_of(&db)).is_empty());
    // A session left open by an application: it must be ended, not block the swap.
    let mut idle = db.client();
    idle.batch_execute("SELECT 1").unwrap();

    let report = provider()
        .restore(&backup, &url(&db), &RestoreOptions::default())
        .unwrap();

    let now = state_of(&db);
    assert_eq!(
        backup.manifest.state.differences(&now),
        Vec::<String>::new(),
        "fingerprint and counts equal the manifest"
    );
    assert!(!table_exists(&db, "tag") && !table_exists(&db, "follower"));
    assert!(
        idle.batch_execute("SELECT 1").is_err(),
        "old sessions were ended"
    );
    assert!(report.sessions_ended >= 1);
    assert!(report.duration.as_secs_f64() > 0.0);
    assert_eq!(report.database, db.name);
    let phases: Vec<&str> = report.phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        phases,
        [
            "verify backup",
            "stop writes and measure loss",
            "load into a fresh database",
            "verify against the manifest",
            "swap databases"
        ]
    );
    // What was lost: the new tables entirely, and the 7 authors written after the backup.
    let lost = |t: &str| report.lost.iter().find(|l| l.table == t).cloned();
    let author = lost("author").expect("author lost rows");
    assert_eq!(
        (author.rows_at_backup, author.rows_before_restore),
        (Some(50), 57)
    );
    let tag = lost("tag").expect("tag was created after the backup");
    assert_eq!((tag.rows_at_backup, tag.rows_before_restore), (None, 100));
    assert!(lost("follower").is_some());
    assert_eq!(
        lost("_prisma_migrations").map(|l| (l.rows_at_backup, l.rows_before_restore)),
        Some((Some(1), 2))
    );
    // The restored database takes writes; the replaced one is kept, read-only, for forensics.
    assert_eq!(can_write(&db), Ok(()));
    let previous = report.previous_database.clone().expect("kept");
    let mut admin = db.client();
    assert!(is_read_only(&mut admin, &previous, "test").unwrap());
    assert!(!is_read_only(&mut admin, &db.name, "test").unwrap());
    let old = TestDb {
        name: previous,
        url: migrate_tests::cluster().url(&report.previous_database.clone().unwrap()),
    };
    assert!(
        table_exists(&old, "tag"),
        "the replaced database still has the later objects"
    );
    assert_eq!(can_write(&old).unwrap_err(), "25006", "and refuses writes");
}

#[test]
fn restore_refuses_a_damaged_backup_and_leaves_the_database_alone() {
    let (db, dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    deploy_risky(&db, &dir, false);
    let mut bytes = std::fs::read(backup.path()).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(backup.path(), &bytes).unwrap();
    let err = provider()
        .restore(&backup, &url(&db), &RestoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("failed verification at level 2"), "{err}");
    assert!(table_exists(&db, "tag"), "nothing was touched");
    assert_eq!(can_write(&db), Ok(()));
}

#[test]
fn read_only_guard_stops_writes_until_dropped() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE author (name text)")
        .unwrap();
    let mut before = db.client();
    {
        let guard = ReadOnlyGuard::engage(&url(&db)).unwrap();
        assert!(guard.sessions_ended() >= 1);
        assert!(before.batch_execute("SELECT 1").is_err(), "ended");
        assert_eq!(can_write(&db).unwrap_err(), "25006");
        db.client()
            .batch_execute("SELECT count(*) FROM author")
            .unwrap();
    }
    assert_eq!(can_write(&db), Ok(()), "the setting is back after drop");

    let change = set_read_only(&url(&db), true).unwrap();
    assert!(change.read_only);
    assert_eq!(can_write(&db).unwrap_err(), "25006");
    set_read_only(&url(&db), false).unwrap();
    assert_eq!(can_write(&db), Ok(()));
}

#[test]
fn writes_are_refused_while_restoring() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // An application that keeps writing (and reconnecting when its session is ended).
    let writer = {
        let (stop, db) = (stop.clone(), db.clone());
        std::thread::spawn(move || {
            let mut codes = std::collections::BTreeSet::new();
            let mut client = db.client();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = client.batch_execute("INSERT INTO author (name) VALUES ('w')") {
                    match e.code() {
                        Some(code) => {
                            codes.insert(code.code().to_owned());
                        }
                        None => {
                            codes.insert("disconnected".to_owned());
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    if let Ok(c) = migrate_tests::cluster().connect(&db.name) {
                        client = c;
                    }
                }
            }
            codes
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let report = provider()
        .restore(&backup, &url(&db), &RestoreOptions::default())
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let codes = writer.join().unwrap();
    assert!(
        codes.contains("25006"),
        "writes failed as read-only during the restore: {codes:?}"
    );
    // What the writer did before writes stopped is reported as lost.
    let author = report
        .lost
        .iter()
        .find(|t| t.table == "author")
        .expect("author rows written after the backup");
    assert!(author.rows_before_restore > 50, "{author:?}");
}
