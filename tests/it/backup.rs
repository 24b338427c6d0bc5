//! Backups with real `pg_dump`/`pg_restore`: the file and its manifest, the snapshot they
//! share, verification levels 1–4 catching damage, tool discovery, retention, plain format.

use crate::common::engine;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use migrate_core::backup::{
    hash_file, Backup, BackupFormat, BackupProvider, BackupStore, DatabaseState, PgDumpBackup,
    PgDumpOptions, Retention, VerifyLevel, VerifyOptions, VerifyReport,
};
use migrate_tests::{cluster, TestDb};

use crate::common::{url, Dir};

/// A provider using the cluster's own client tools.
pub fn provider() -> PgDumpBackup {
    provider_with(BackupFormat::Custom, None)
}

pub fn provider_with(format: BackupFormat, compression: Option<u32>) -> PgDumpBackup {
    PgDumpBackup::new(PgDumpOptions {
        format,
        compression,
        bin_dir: Some(cluster().bin_dir().to_owned()),
    })
}

/// A database with two related tables, a ledger and some rows.
pub fn seeded_db() -> (TestDb, Dir) {
    let db = TestDb::new();
    let dir = Dir::with(&[(
        "20240101000000_init",
        "CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
         CREATE TABLE post (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES author(id),
                            title text NOT NULL, score int DEFAULT 0);
         CREATE INDEX post_author_idx ON post (author_id);",
    )]);
    engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO author (name) SELECT 'author ' || g FROM generate_series(1, 50) g;
             INSERT INTO post (author_id, title, score)
               SELECT 1 + g % 50, 'post ' || g, g FROM generate_series(1, 2000) g;",
        )
        .unwrap();
    (db, dir)
}

pub fn state_of(db: &TestDb) -> DatabaseState {
    DatabaseState::capture(&mut db.client(), "test").unwrap()
}

fn verify(backup: &Backup, level: u8) -> VerifyReport {
    let level: VerifyLevel = level.to_string().parse().unwrap();
    provider()
        .verify(backup, level, &VerifyOptions::default())
        .unwrap()
}

fn failed_names(report: &VerifyReport) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn backup_writes_archive_and_manifest_with_hashes_counts_and_ledger() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path().join("backups"));
    let backup = provider().backup(&url(&db), &store).unwrap();
    let m = &backup.manifest;

    // Name, permissions, files.
    assert!(
        m.id.starts_with("backup_") && m.id.len() == "backup_20240101_000000".len(),
        "{}",
        m.id
    );
    assert_eq!(backup.path(), store.dir().join(format!("{}.dump", m.id)));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.dir()), 0o700);
    assert_eq!(mode(&backup.path()), 0o600);
    assert_eq!(mode(&backup.manifest_path()), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // `git add .` in the project never picks up a dump.
    let ignore = std::fs::read_to_string(store.dir().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");

    // Hashes equal an independent read of the file.
    let bytes = std::fs::read(backup.path()).unwrap();
    assert_eq!(m.digests.bytes, bytes.len() as u64);
    assert_eq!(m.digests.sha256, crate::common::sha256_hex(&bytes));
    {
        use md5::Digest;
        assert_eq!(m.digests.md5, format!("{:x}", md5::Md5::digest(&bytes)));
    }
    let md5sum = std::process::Command::new("md5sum")
        .arg(backup.path())
        .output()
        .unwrap();
    assert_eq!(
        crate::common::text(&md5sum.stdout)
            .split_whitespace()
            .next(),
        Some(m.digests.md5.as_str()),
        "what md5sum prints"
    );
    assert_eq!(&bytes[..5], b"PGDMP", "a custom-format archive");

    // Manifest content.
    assert_eq!(m.database, db.name);
    assert!(
        m.pg_dump_version.contains("pg_dump"),
        "{}",
        m.pg_dump_version
    );
    assert_eq!(m.server_major, cluster().server_major_version());
    assert!(m.finished_at >= m.started_at);
    assert!(!m.snapshot.is_empty());
    assert!(m.ledger_present);
    assert_eq!(m.applied_migrations(), ["20240101000000_init"]);
    assert_eq!(m.table("public", "author").unwrap().rows, 50);
    assert_eq!(m.table("public", "post").unwrap().rows, 2000);
    assert_eq!(m.table("public", "_prisma_migrations").unwrap().rows, 1);
    assert!(
        m.state.differences(&state_of(&db)).is_empty(),
        "counts and fingerprint equal the live database"
    );

    // The manifest on disk is what was returned, and is JSON with the documented keys.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup.manifest_path()).unwrap()).unwrap();
    for key in [
        "id",
        "file",
        "bytes",
        "md5",
        "sha256",
        "tables",
        "schema_fingerprint",
        "ledger",
        "server_version",
        "pg_dump_version",
        "started_at",
        "finished_at",
    ] {
        assert!(json.get(key).is_some(), "manifest lacks {key}: {json}");
    }
    assert_eq!(Backup::open(&backup.manifest_path()).unwrap(), backup);
    assert_eq!(store.get(&m.id).unwrap(), backup);
    assert_eq!(store.list().unwrap(), vec![backup.clone()]);
    let report = verify(&backup, 4);
    assert!(report.passed(), "{report:?}");
}

#[test]
fn counts_come_from_the_dump_snapshot_under_concurrent_writes() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    // Enough data that the dump takes a moment, and a writer that never stops during it.
    db.client()
        .batch_execute(
            "INSERT INTO post (author_id, title) SELECT 1, repeat('x', 200) \
             FROM generate_series(1, 100000)",
        )
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, db) = (stop.clone(), db.clone());
        std::thread::spawn(move || {
            let mut client = db.client();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client
                    .batch_execute("INSERT INTO author (name) VALUES ('late')")
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let backup = provider().backup(&url(&db), &store).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    let now = state_of(&db);
    let at_backup = backup.manifest.table("public", "author").unwrap().rows;
    let at_end = now
        .tables
        .iter()
        .find(|t| t.table == "author")
        .unwrap()
        .rows;
    assert!(
        at_backup > 50 && at_backup < at_end,
        "the writer ran before and after the snapshot ({written} inserts): {at_backup} of {at_end}"
    );
    // The restored archive has exactly the manifest's counts: same snapshot.
    let report = verify(&backup, 4);
    assert!(report.passed(), "{:#?}", report.failures());
}

#[test]
fn flipped_byte_and_truncation_fail_level_1() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    assert!(verify(&backup, 1).passed());
    let original = std::fs::read(backup.path()).unwrap();

    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(backup.path(), &flipped).unwrap();
    let report = verify(&backup, 4);
    assert!(!report.passed());
    assert_eq!(
        report.checks.iter().map(|c| c.level).max(),
        Some(1),
        "stops at L1: {report:?}"
    );
    assert_eq!(
        failed_names(&report),
        ["md5", "sha256"],
        "same size, other content"
    );

    std::fs::write(backup.path(), &original[..original.len() - 100]).unwrap();
    let report = verify(&backup, 1);
    assert!(!report.passed());
    assert_eq!(failed_names(&report), ["size", "md5", "sha256"]);

    std::fs::remove_file(backup.path()).unwrap();
    let report = verify(&backup, 1);
    assert!(
        !report.passed() && report.checks[0].name == "file",
        "{report:?}"
    );

    std::fs::write(backup.path(), &original).unwrap();
    assert!(verify(&backup, 3).passed(), "the original bytes pass again");
}

/// Rewrites the manifest's digests to match the file as it is now: the corruption then happened
/// before hashing (a faulty disk cache, a pg_dump bug), which only a test restore can see.
fn rehash(backup: &Backup) -> Backup {
    let digests = hash_file(&backup.path()).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup.manifest_path()).unwrap()).unwrap();
    json["bytes"] = digests.bytes.into();
    json["md5"] = digests.md5.into();
    json["sha256"] = digests.sha256.into();
    std::fs::write(backup.manifest_path(), json.to_string()).unwrap();
    Backup::open(&backup.manifest_path()).unwrap()
}

#[test]
fn level_4_catches_corrupted_table_data_that_levels_1_to_3_miss() {
    let db = TestDb::new();
    db.client()
        .batch_execute(
            "CREATE TABLE note (body text);
             INSERT INTO note SELECT 'note-' || lpad(g::text, 6, '0') FROM generate_series(1, 1000) g;",
        )
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    // Uncompressed, so that damaged data is not caught by zlib at L3 (see backup-rollback.md).
    let backup = provider_with(BackupFormat::Custom, Some(0))
        .backup(&url(&db), &store)
        .unwrap();
    let mut bytes = std::fs::read(backup.path()).unwrap();
    let needle = b"note-000500";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("row data in the archive");
    // One row becomes two: same length, a newline in the middle of the COPY data.
    bytes[at + 5] = b'\n';
    std::fs::write(backup.path(), &bytes).unwrap();
    let backup = rehash(&backup);

    let report = verify(&backup, 3);
    assert!(report.passed(), "L1-L3 cannot see it: {report:?}");
    let report = verify(&backup, 4);
    assert!(!report.passed());
    let failures = report.failures().join("\n");
    assert!(
        failures.contains("public.note has 1001 rows instead of 1000"),
        "{failures}"
    );
}

#[test]
fn level_2_and_3_catch_damage_inside_the_archive() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    assert!(verify(&backup, 3).passed());
    // A truncated archive whose manifest was rewritten: the data ends early.
    let bytes = std::fs::read(backup.path()).unwrap();
    std::fs::write(backup.path(), &bytes[..bytes.len() * 3 / 4]).unwrap();
    let backup = rehash(&backup);
    let report = verify(&backup, 3);
    assert!(!report.passed(), "{report:?}");
    assert!(
        report.checks.iter().any(|c| !c.passed && c.level >= 2),
        "{report:?}"
    );

    // Garbage instead of an archive fails the listing.
    std::fs::write(backup.path(), b"this is not an archive at all").unwrap();
    let backup = rehash(&backup);
    let report = verify(&backup, 2);
    assert!(!report.passed());
    assert!(
        report.failures()[0].starts_with("L2 pg_restore --list"),
        "{:?}",
        report.failures()
    );
}

#[test]
fn level_4_on_a_scratch_database_of_the_same_server() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let backup = provider().backup(&url(&db), &store).unwrap();
    let options = VerifyOptions {
        scratch: migrate_core::backup::Scratch::Server(Box::new(url(&db))),
        ..VerifyOptions::default()
    };
    let report = provider()
        .verify(&backup, VerifyLevel::TestRestore, &options)
        .unwrap();
    assert!(report.passed(), "{report:?}");
    let scratch = format!("{}_verify_{}", backup.id(), std::process::id());
    let leftover: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&scratch],
        )
        .unwrap()
        .get(0);
    assert_eq!(leftover, 0, "the scratch database is dropped");
}

#[test]
fn missing_or_too_old_pg_dump_is_a_clear_error() {
    let db = TestDb::new();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path().join("b"));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(empty),
        ..PgDumpOptions::default()
    })
    .backup(&url(&db), &store)
    .unwrap_err()
    .to_string();
    let major = cluster().server_major_version();
    assert!(err.contains("no pg_dump found"), "{err}");
    assert!(
        err.contains(&format!("install postgresql-client-{major}")),
        "{err}"
    );

    let old = tmp.path().join("old");
    std::fs::create_dir(&old).unwrap();
    for tool in ["pg_dump", "pg_restore"] {
        let f = old.join(tool);
        std::fs::write(
            &f,
            format!("#!/bin/sh\necho '{tool} (PostgreSQL) 9.6.24'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(old),
        ..PgDumpOptions::default()
    })
    .backup(&url(&db), &store)
    .unwrap_err()
    .to_string();
    assert!(err.contains("pg_dump 9 in"), "{err}");
    assert!(
        err.contains(&format!("older than the server (PostgreSQL {major})")),
        "{err}"
    );
    assert!(
        err.contains(&format!("install postgresql-client-{major}")),
        "{err}"
    );
    assert!(!store.dir().exists(), "nothing written");
}

#[test]
fn password_reaches_pg_dump_by_environment_only() {
    let db = TestDb::new();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = tmp.path().join("log");
    let real = cluster().bin_dir().join("pg_dump");
    // A wrapper that records its arguments and whether PGPASSWORD was set, then runs the real one.
    std::fs::write(
        bin.join("pg_dump"),
        format!(
            "#!/bin/sh\necho \"args: $*\" >> {log}\n[ -n \"$PGPASSWORD\" ] && echo env-password >> {log}\nexec {real} \"$@\"\n",
            log = log.display(),
            real = real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("pg_dump"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(
        cluster().bin_dir().join("pg_restore"),
        bin.join("pg_restore"),
    )
    .unwrap();
    let store = BackupStore::new(tmp.path().join("b"));
    PgDumpBackup::new(PgDumpOptions {
        bin_dir: Some(bin),
        ..PgDumpOptions::default()
    })
    .backup(&url(&db), &store)
    .unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("env-password"), "{logged}");
    assert!(logged.contains("--snapshot="), "{logged}");
    assert!(
        !logged.contains(cluster().password()),
        "password in the arguments: {logged}"
    );
}

#[test]
fn plain_gzip_backup_verifies_at_every_level() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let store = BackupStore::new(tmp.path());
    let plain = provider_with(BackupFormat::PlainGzip, None);
    let backup = plain.backup(&url(&db), &store).unwrap();
    assert!(backup.path().to_string_lossy().ends_with(".sql.gz"));
    assert_eq!(
        &std::fs::read(backup.path()).unwrap()[..2],
        &[0x1f, 0x8b],
        "gzip magic"
    );
    assert!(backup.manifest.state.differences(&state_of(&db)).is_empty());
    let report = plain
        .verify(&backup, VerifyLevel::TestRestore, &VerifyOptions::default())
        .unwrap();
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.checks.iter().map(|c| c.level).max(), Some(4));
    assert_eq!(
        store.get(&backup.path().to_string_lossy()).unwrap(),
        backup,
        "found by file path"
    );
}

/// A database with one table and a store in `dir` holding three of its backups, oldest first.
fn three_backups(dir: &Path) -> (TestDb, BackupStore, Vec<String>) {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let store = BackupStore::new(dir);
    let ids = (0..3)
        .map(|_| provider().backup(&url(&db), &store).unwrap().manifest.id)
        .collect();
    (db, store, ids)
}

#[test]
fn prune_keeps_the_newest_and_removes_by_count_and_age() {
    let tmp = tempfile::tempdir().unwrap();
    let (_db, store, ids) = three_backups(tmp.path());
    assert_eq!(store.list().unwrap().len(), 3);
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        3,
        "ids in the same second get a suffix: {ids:?}"
    );

    let keep_two = Retention {
        keep_last: Some(2),
        max_age: None,
    };
    let removed = store.prune(&keep_two, chrono::Utc::now()).unwrap();
    assert_eq!(removed, [ids[0].clone()]);
    let left: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|b| b.manifest.id)
        .collect();
    assert_eq!(left, ids[1..]);
    assert!(!tmp.path().join(format!("{}.dump", ids[0])).exists());

    let one_day = Retention {
        keep_last: None,
        max_age: Some(std::time::Duration::from_secs(86400)),
    };
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let removed = store.prune(&one_day, later).unwrap();
    assert_eq!(removed, [ids[1].clone()], "the newest is kept however old");
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn cli_backup_create_json_list_verify_and_prune() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    let dir_s = dir.to_str().unwrap();
    let out = crate::common::migrate(
        &db.url,
        &["backup", "create", "--backup-dir", dir_s, "--json"],
    );
    let stdout = crate::common::text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        crate::common::text(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = json["id"].as_str().unwrap().to_owned();
    let path = json["path"].as_str().unwrap();
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(json["bytes"], bytes.len());
    assert_eq!(json["sha256"], crate::common::sha256_hex(&bytes));
    assert_eq!(json["md5"].as_str().unwrap().len(), 32);
    assert_eq!(json["verification"]["passed"], true);
    assert_eq!(json["verification"]["level"], 2);
    assert!(!stdout.contains(migrate_tests::cluster().password()));

    let out = crate::common::migrate(
        &db.url,
        &["backup", "list", "--backup-dir", dir_s, "--json"],
    );
    let list: serde_json::Value = serde_json::from_str(&crate::common::text(&out.stdout)).unwrap();
    assert_eq!(list["backups"][0]["id"], id.as_str());

    for level in ["1", "3", "4"] {
        let out = crate::common::migrate(
            &db.url,
            &[
                "backup",
                "verify",
                &id,
                "--level",
                level,
                "--backup-dir",
                dir_s,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "L{level}: {}",
            crate::common::text(&out.stdout)
        );
    }
    let mut damaged = bytes.clone();
    damaged[10] ^= 1;
    std::fs::write(path, &damaged).unwrap();
    let out = crate::common::migrate(
        &db.url,
        &["backup", "verify", path, "--level", "1", "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let report: serde_json::Value =
        serde_json::from_str(&crate::common::text(&out.stdout)).unwrap();
    assert_eq!(report["passed"], false);
    let out = crate::common::migrate(
        &db.url,
        &["backup", "verify", "backup_nope", "--backup-dir", dir_s],
    );
    assert_eq!(out.status.code(), Some(2), "an unknown backup is an error");

    let out = crate::common::migrate(
        &db.url,
        &["backup", "create", "--plain", "--backup-dir", dir_s],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::text(&out.stderr)
    );
    let out = crate::common::migrate(
        &db.url,
        &[
            "backup",
            "prune",
            "--keep",
            "1",
            "--backup-dir",
            dir_s,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let pruned: serde_json::Value =
        serde_json::from_str(&crate::common::text(&out.stdout)).unwrap();
    assert_eq!(pruned["removed"], serde_json::json!([id]));
    assert!(!Path::new(path).exists());
}

#[test]
fn pre_deploy_policy_backs_up_and_verifies_or_is_skipped_explicitly() {
    let (db, _dir) = seeded_db();
    let tmp = tempfile::tempdir().unwrap();
    let mut policy = migrate_core::backup::BackupPolicy::new(tmp.path());
    policy.options(PgDumpOptions {
        bin_dir: Some(cluster().bin_dir().to_owned()),
        ..PgDumpOptions::default()
    });
    let (backup, report) = policy.before_deploy(&url(&db)).unwrap().unwrap();
    assert!(report.passed());
    assert_eq!(report.level, 2, "L2 by default");
    assert_eq!(policy.store().list().unwrap(), vec![backup]);
    policy.dangerous_skip_backup(true);
    assert!(policy.before_deploy(&url(&db)).unwrap().is_none());
    assert_eq!(policy.store().list().unwrap().len(), 1);
}

/// `backup prune` without --keep or --max-age-days removes what the deployments' automatic prune
/// would: the config file's `retention` (the environment's with --env), and refuses, removing
/// nothing, when no retention is set anywhere.
#[test]
fn cli_prune_without_flags_applies_the_config_files_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backups");
    let (db, store, ids) = three_backups(&dir);
    let config = tmp.path().join("migrate.toml");
    let prune = |extra: &[&str]| {
        let mut args = vec![
            "backup",
            "prune",
            "--backup-dir",
            dir.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = crate::common::migrate(&db.url, &args);
        let json: serde_json::Value =
            serde_json::from_str(&crate::common::text(&out.stdout)).unwrap();
        (out.status.code(), json)
    };

    // No retention anywhere: an error that says how to set one, and nothing removed.
    let (code, json) = prune(&[]);
    assert_eq!(code, Some(2), "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("retention"), "{message}");
    assert_eq!(store.list().unwrap().len(), 3);

    std::fs::write(
        &config,
        "retention = { keep = 2 }\n[environments.prod]\nretention = { keep = 1 }\n",
    )
    .unwrap();
    let (code, json) = prune(&["--dry-run"]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["would_remove"], serde_json::json!([ids[0]]));
    assert_eq!(store.list().unwrap().len(), 3, "a dry run removes nothing");

    let (code, json) = prune(&[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["removed"], serde_json::json!([ids[0]]));

    let (code, json) = prune(&["--env", "prod"]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["removed"], serde_json::json!([ids[1]]));
    let left: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|b| b.manifest.id)
        .collect();
    assert_eq!(left, [ids[2].clone()]);

    let (code, json) = prune(&["--env", "nope"]);
    assert_eq!(code, Some(2), "an unknown environment is an error: {json}");
}
