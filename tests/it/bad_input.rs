//! Bad input through the `migrate` CLI: each case ends with a clear outcome naming the file,
//! line or parameter, no password in the output, and the database unchanged.
//!
//! Covered elsewhere: missing `migration.sql` (`failures.rs`), bad / unreachable URL and wrong
//! password (`cli.rs`), missing or too old `pg_dump` (`backup.rs`).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use migrate_tests::TestDb;

use crate::common::{backup_dir, migrate, migrate_bin, sha256_hex, table_exists, text, Dir};

/// stdout and stderr of a run.
fn all(out: &Output) -> String {
    text(&out.stdout) + &text(&out.stderr)
}

/// Asserts the exit code, and that the password appears nowhere.
fn assert_exit(out: &Output, code: i32) {
    let all = all(out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    assert!(
        !all.contains(migrate_tests::cluster().password()),
        "password leaked: {all}"
    );
}

/// Number of ledger rows (0 when there is no ledger), in `public`.
fn ledger_rows(db: &TestDb) -> i64 {
    if !table_exists(db, "public._prisma_migrations") {
        return 0;
    }
    db.client()
        .query_one("SELECT count(*) FROM public._prisma_migrations", &[])
        .unwrap()
        .get(0)
}

/// The applied migration names, in order.
fn ledger_names(db: &TestDb, schema: &str) -> Vec<String> {
    db.client()
        .query(
            &format!(
                "SELECT migration_name FROM {}._prisma_migrations \
                 WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name",
                migrate_core::sql::quote_ident(schema)
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// User tables of the database (outside the catalogs and `_migrate`).
fn user_tables(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema', '_migrate') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn deploy(db: &TestDb, dir: &Path) -> Output {
    migrate(
        &db.url,
        &["deploy", "--migrations-dir", dir.to_str().unwrap()],
    )
}

#[test]
fn empty_migration_sql_is_applied_as_an_empty_migration_like_prisma() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        ("20240101000000_empty", ""),
        ("20240102000000_a", "CREATE TABLE a (id int);"),
    ]);
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("20240101000000_empty"), "{}", all(&out));
    assert_eq!(
        ledger_names(&db, "public"),
        ["20240101000000_empty", "20240102000000_a"]
    );
    let checksum: String = db
        .client()
        .query_one(
            "SELECT checksum FROM _prisma_migrations WHERE migration_name = '20240101000000_empty'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        checksum,
        sha256_hex(b""),
        "Prisma's checksum of an empty file"
    );
    let d = dir.path().to_str().unwrap();
    let out = migrate(&db.url, &["status", "--migrations-dir", d]);
    assert_exit(&out, 0);
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    assert_eq!(ledger_rows(&db), 2, "a second deploy is a no-op");
}

#[test]
fn non_utf8_bytes_in_migration_sql_are_decoded_like_prisma_with_a_warning() {
    let db = TestDb::new();
    let dir = Dir::new();
    let bytes: &[u8] = b"-- caf\xe9 cr\xe8me \xff\xfe\nCREATE TABLE latin1 (id int);\n";
    let m = dir.path().join("20240101000000_latin1");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("migration.sql"), bytes).unwrap();
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    let all = all(&out);
    assert!(
        all.contains("20240101000000_latin1") && all.contains("not valid UTF-8"),
        "{all}"
    );
    assert!(table_exists(&db, "latin1"));
    let checksum: String = db
        .client()
        .query_one("SELECT checksum FROM _prisma_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        checksum,
        sha256_hex(String::from_utf8_lossy(bytes).as_bytes()),
        "the checksum of the lossy text, as Prisma's"
    );
}

#[test]
fn non_utf8_directory_name_is_refused_naming_it() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let name = std::ffi::OsStr::from_bytes(b"20240102000000_caf\xe9");
    let m = dir.path().join(name);
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("migration.sql"), "CREATE TABLE b (id int);").unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["deploy", "--migrations-dir", d],
        vec!["status", "--migrations-dir", d],
    ] {
        let out = migrate(&db.url, &args);
        assert_exit(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("20240102000000_caf") && stderr.contains("not valid UTF-8"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(ledger_rows(&db), 0);
    assert!(user_tables(&db).is_empty(), "{:?}", user_tables(&db));
}

#[test]
fn names_of_255_bytes_are_the_limit_and_are_recorded_exactly() {
    // Longer names cannot exist on Linux file systems (NAME_MAX 255): the engine's own check
    // (`SourceError::NameTooLong`) is unreachable here. 255 bytes, multi-byte included, work.
    let db = TestDb::new();
    let ascii = format!("20240101000000_{}", "a".repeat(255 - 15));
    let unicode = format!("20240102000000_{}", "é".repeat(120));
    assert_eq!(ascii.len(), 255);
    assert_eq!(unicode.len(), 255);
    let dir = Dir::with(&[
        (ascii.as_str(), "CREATE TABLE a (id int);"),
        (unicode.as_str(), "CREATE TABLE b (id int);"),
    ]);
    let too_long = dir.path().join(format!("{ascii}x"));
    let err = std::fs::create_dir(&too_long).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(36), "ENAMETOOLONG: {err}");
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    assert_eq!(ledger_names(&db, "public"), [ascii, unicode]);
}

#[test]
fn symlink_loops_return_promptly_with_a_meaningful_outcome() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let p = dir.path();
    // Symbolic links among the migrations are skipped (Node's isDirectory() is false for them),
    // loops included.
    std::os::unix::fs::symlink("20240102000000_self", p.join("20240102000000_self")).unwrap();
    std::os::unix::fs::symlink("20240103000000_y", p.join("20240103000000_x")).unwrap();
    std::os::unix::fs::symlink("20240103000000_x", p.join("20240103000000_y")).unwrap();
    let d = p.to_str().unwrap();
    let started = Instant::now();
    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    assert_exit(&out, 1);
    let status = crate::common::last_json(&out.stdout);
    assert_eq!(status["pending"], serde_json::json!(["20240101000000_a"]));
    let out = deploy(&db, p);
    assert_exit(&out, 0);
    assert_eq!(ledger_names(&db, "public"), ["20240101000000_a"]);

    // A `migration.sql` that is a link to itself: an error naming it, nothing applied.
    let m = p.join("20240104000000_loop");
    std::fs::create_dir(&m).unwrap();
    std::os::unix::fs::symlink("migration.sql", m.join("migration.sql")).unwrap();
    let out = deploy(&db, p);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("20240104000000_loop/migration.sql") && stderr.contains("symbolic links"),
        "{stderr}"
    );

    // A migrations directory that is a loop itself.
    std::os::unix::fs::symlink("loop", p.join("loop")).unwrap();
    let looped = p.join("loop");
    let out = migrate(
        &db.url,
        &["deploy", "--migrations-dir", looped.to_str().unwrap()],
    );
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(looped.to_str().unwrap()), "{stderr}");

    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ledger_rows(&db), 1, "nothing more applied");
    assert_eq!(user_tables(&db), ["public._prisma_migrations", "public.a"]);
}

#[test]
fn fifty_megabyte_migration_deploys_in_bounded_time_and_memory() {
    let db = TestDb::new();
    let dir = Dir::new();
    let m = dir.path().join("20240101000000_big");
    std::fs::create_dir(&m).unwrap();
    // 50 MB: 20,000 INSERTs of ~1 KB each (20 MB) and a 30 MB comment.
    let mut sql = String::with_capacity(51 << 20);
    sql.push_str("CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL);\n");
    let pad = "p".repeat(1000);
    for i in 0..20_000 {
        sql.push_str(&format!("INSERT INTO big VALUES ({i}, '{pad}');\n"));
    }
    let line = format!("-- {}\n", "c".repeat(1000));
    while sql.len() < 50 << 20 {
        sql.push_str(&line);
    }
    std::fs::write(m.join("migration.sql"), &sql).unwrap();

    let started = Instant::now();
    let mut child = Command::new(migrate_bin())
        .args(["deploy", "--migrations-dir", dir.path().to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_BACKUP_DIR", backup_dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Peak resident memory, read while it runs.
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).unwrap();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).unwrap();
        buf
    });
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("deploy of a 50 MB migration did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let out = Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    assert_exit(&out, 0);
    eprintln!(
        "50 MB migration: {elapsed:?}, peak RSS {} MB",
        peak_kb / 1024
    );
    assert!(
        peak_kb < 1024 * 1024,
        "peak RSS {peak_kb} kB for a 50 MB file"
    );
    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM big", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 20_000);
    let checksum: String = db
        .client()
        .query_one("SELECT checksum FROM _prisma_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(checksum, sha256_hex(sql.as_bytes()));
}

#[test]
fn malformed_migration_lock_toml_is_refused_naming_the_file() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let lock = dir.path().join("migration_lock.toml");
    let d = dir.path().to_str().unwrap();
    for body in [
        "provider = \"postgres\"\n",
        "provider=\"postgresql\"\n",
        "provider = \"mysql\"\n",
    ] {
        std::fs::write(&lock, body).unwrap();
        for command in ["deploy", "status"] {
            let out = migrate(&db.url, &[command, "--migrations-dir", d]);
            assert_exit(&out, 2);
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("P3019") && stderr.contains(lock.to_str().unwrap()),
                "{body}: {stderr}"
            );
        }
    }
    // Unreadable: a directory where the file should be.
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(lock.to_str().unwrap()) && stderr.contains("cannot read"),
        "{stderr}"
    );
    assert_eq!(ledger_rows(&db), 0);
    assert!(user_tables(&db).is_empty(), "{:?}", user_tables(&db));

    // Binary garbage without a `provider` line: Prisma skips the check, and so do we.
    std::fs::remove_dir(&lock).unwrap();
    std::fs::write(&lock, b"\xff\xfe[[[ garbage\n\0\0").unwrap();
    let out = migrate(&db.url, &["deploy", "--migrations-dir", d]);
    assert_exit(&out, 0);
    assert_eq!(ledger_names(&db, "public"), ["20240101000000_a"]);
}

#[test]
fn malformed_migrate_toml_is_refused_with_file_line_and_column_and_no_secret() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let d = dir.path().to_str().unwrap();
    let config = dir.tmp.path().join("migrate.toml");
    let c = config.to_str().unwrap();
    for (body, needles) in [
        (
            "backup_dir = \"b\"\n[environments.prod]\nurl_env = \"postgresql://u:S3cretInToml@h/db\n",
            vec!["line 3"],
        ),
        (
            "[environments.prod]\nurl = \"postgresql://u:S3cretInToml@h/db\"\n",
            vec!["line 2", "url"],
        ),
        (
            "[environments.prod]\nbackup_verify_level = 9\n",
            vec!["prod", "backup_verify_level"],
        ),
        ("\u{0}\u{1}binary", vec!["line 1"]),
    ] {
        std::fs::write(&config, body).unwrap();
        let out = migrate(
            &db.url,
            &[
                "deploy",
                "--env",
                "prod",
                "--config",
                c,
                "--migrations-dir",
                d,
            ],
        );
        assert_exit(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(c), "{body}: {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{body}: {needle}: {stderr}");
        }
        assert!(!all(&out).contains("S3cretInToml"), "{}", all(&out));
        // Read even without --env: a broken file is never silently ignored.
        let out = migrate(&db.url, &["deploy", "--config", c, "--migrations-dir", d]);
        assert_exit(&out, 2);
        assert!(text(&out.stderr).contains(c), "{}", text(&out.stderr));
    }
    assert_eq!(ledger_rows(&db), 0);
    assert!(user_tables(&db).is_empty(), "{:?}", user_tables(&db));
}

/// A database with a few MB of data, and its migrations directory.
fn seeded(db: &TestDb) -> Dir {
    let dir = Dir::with(&[(
        "20240101000000_big",
        "CREATE TABLE big (id int PRIMARY KEY, h text);\n\
         INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 60000) g;\n",
    )]);
    let out = deploy(db, dir.path());
    assert_exit(&out, 0);
    dir
}

/// Runs `migrate args` under `ulimit -f blocks` (512-byte blocks in POSIX sh).
fn migrate_with_file_limit(url: &str, blocks: u32, backups: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -f {blocks} && exec \"$0\" \"$@\""))
        .arg(migrate_bin())
        .args(args)
        .env("DATABASE_URL", url)
        .env("MIGRATE_BACKUP_DIR", backups)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Files of a backup directory (none when it does not exist), its `.gitignore` aside.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name != ".gitignore")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn file_size_limit_during_a_backup_is_a_clear_error_leaving_nothing() {
    let db = TestDb::new();
    let dir = seeded(&db);
    let tmp = tempfile::tempdir().unwrap();
    let backups = tmp.path().join("backups");

    let started = Instant::now();
    let out = migrate_with_file_limit(&db.url, 100, &backups, &["backup", "create"]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("File too large") || stderr.contains("file size limit"),
        "{stderr}"
    );
    assert!(
        files(&backups).is_empty(),
        "nothing that looks like a backup: {:?}",
        files(&backups)
    );
    let out = migrate(
        &db.url,
        &[
            "backup",
            "list",
            "--json",
            "--backup-dir",
            backups.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        crate::common::last_json(&out.stdout)["backups"],
        serde_json::json!([])
    );

    // The pre-deploy backup hits the limit: the deployment stops before applying anything. (A
    // full one: the scoped default holds no rows for this migration, which puts none at risk.)
    dir.add("20240102000000_b", "CREATE TABLE b (id int);");
    let out = migrate_with_file_limit(
        &db.url,
        100,
        &backups,
        &[
            "deploy",
            "--backup",
            "full",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("backup"), "{stderr}");
    assert!(
        !files(&backups).iter().any(|f| f.ends_with(".dump")),
        "{:?}",
        files(&backups)
    );
    assert_eq!(ledger_names(&db, "public"), ["20240101000000_big"]);
    assert!(!table_exists(&db, "b"));
    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM big", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 60_000);
}

#[test]
fn corrupted_manifest_is_a_clear_error_naming_the_file() {
    let db = TestDb::new();
    let _dir = seeded(&db);
    let tmp = tempfile::tempdir().unwrap();
    let backups = tmp.path().join("backups");
    let b = backups.to_str().unwrap();
    let out = migrate(&db.url, &["backup", "create", "--json", "--backup-dir", b]);
    assert_exit(&out, 0);
    let created = crate::common::last_json(&out.stdout);
    let id = created["id"].as_str().unwrap().to_owned();
    let manifest = Path::new(created["manifest_path"].as_str().unwrap()).to_owned();
    let m = manifest.to_str().unwrap();
    let good = std::fs::read_to_string(&manifest).unwrap();

    for damaged in [
        good[..good.len() / 2].to_owned(),
        String::new(),
        "{\"not\": \"a manifest\"}".to_owned(),
        good.replacen('{', "\u{0}\u{ff}", 1),
    ] {
        std::fs::write(&manifest, &damaged).unwrap();
        let out = migrate(&db.url, &["backup", "verify", &id, "--backup-dir", b]);
        assert_exit(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(m), "{stderr}");

        // The list goes on without it and says which file it skipped.
        let out = migrate(&db.url, &["backup", "list", "--json", "--backup-dir", b]);
        assert_exit(&out, 0);
        assert_eq!(
            crate::common::last_json(&out.stdout)["backups"],
            serde_json::json!([])
        );
        assert!(text(&out.stderr).contains(m), "{}", text(&out.stderr));
    }

    // A manifest whose file points outside the backup directory (pruning deletes it) or whose
    // id is a path: refused, and `prune` removes nothing outside the directory.
    let out = migrate(&db.url, &["backup", "create", "--json", "--backup-dir", b]);
    assert_exit(&out, 0);
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    for (field, value) in [
        ("file", victim.to_str().unwrap().to_owned()),
        ("file", "../victim.txt".to_owned()),
        ("id", "../victim".to_owned()),
    ] {
        let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
        json[field] = serde_json::json!(value);
        std::fs::write(&manifest, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        let out = migrate(
            &db.url,
            &[
                "backup",
                "prune",
                "--keep",
                "1",
                "--json",
                "--backup-dir",
                b,
            ],
        );
        assert_exit(&out, 0);
        assert!(text(&out.stderr).contains(m), "{}", text(&out.stderr));
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep me",
            "{field} = {value}"
        );
        let out = migrate(&db.url, &["backup", "verify", &id, "--backup-dir", b]);
        assert_exit(&out, 2);
        assert!(text(&out.stderr).contains(field), "{}", text(&out.stderr));
    }

    // A well-formed manifest whose digest was altered: the check fails (exit 1), naming it.
    let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
    let digests = json
        .pointer_mut("/sha256")
        .expect("a sha256 in the manifest");
    *digests = serde_json::json!("0".repeat(64));
    std::fs::write(&manifest, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let out = migrate(
        &db.url,
        &["backup", "verify", &id, "--level", "1", "--backup-dir", b],
    );
    assert_exit(&out, 1);
    assert!(all(&out).to_lowercase().contains("sha"), "{}", all(&out));
    assert_eq!(ledger_names(&db, "public"), ["20240101000000_big"]);
}

#[test]
fn hostile_migration_and_table_names_are_recorded_exactly_and_inject_nothing() {
    let db = TestDb::new();
    let names = [
        "20240101000000_init",
        "20240102000000_a\"b;c",
        "20240103000000_é ü ☃",
        "20240104000000_x'; DROP TABLE y; --",
        "20240105000000_$$ \\ `",
    ];
    let dir = Dir::with(&[
        (
            names[0],
            "CREATE TABLE y (id int);\nINSERT INTO y VALUES (1), (2), (3);\n",
        ),
        (
            names[1],
            "CREATE TABLE \"x\"\"; DROP TABLE y; --\" (id int);\n\
             INSERT INTO \"x\"\"; DROP TABLE y; --\" VALUES (1);\n",
        ),
        (
            names[2],
            "CREATE TABLE \"ünï cødé ☃\" (\"ç'ol\" text);\n\
             INSERT INTO \"ünï cødé ☃\" VALUES ('a''b');\n",
        ),
        (
            names[3],
            "CREATE TABLE \"q'); DROP TABLE y; --\" (id int);\n",
        ),
        (names[4], "SELECT 1;\n"),
    ]);
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    assert_eq!(ledger_names(&db, "public"), names);

    // A second deployment backs up (exact counts of the hostile tables) and verifies that they
    // kept their rows.
    dir.add("20240106000000_more", "CREATE TABLE z (id int);");
    let out = deploy(&db, dir.path());
    assert_exit(&out, 0);
    let d = dir.path().to_str().unwrap();
    let out = migrate(&db.url, &["status", "--json", "--migrations-dir", d]);
    assert_exit(&out, 0);
    let status = crate::common::last_json(&out.stdout);
    assert_eq!(status["applied"][1], names[1]);
    assert_eq!(status["applied"][2], names[2]);

    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM y", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 3, "y was not dropped");
    assert!(table_exists(&db, "public.\"x\"\"; DROP TABLE y; --\""));
    assert!(table_exists(&db, "public.\"ünï cødé ☃\""));
    assert!(table_exists(&db, "public.\"q'); DROP TABLE y; --\""));
    assert!(table_exists(&db, "z"));

    // `resolve` and `plan` take the hostile names as parameters too.
    let out = migrate(
        &db.url,
        &["resolve", "--applied", names[3], "--migrations-dir", d],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(text(&out.stderr).contains(names[3]), "{}", all(&out));
    let out = migrate(
        &db.url,
        &[
            "plan",
            "--offline",
            "--format",
            "json",
            "--migrations-dir",
            d,
            dir.path().join(names[1]).to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(ledger_rows(&db), 6);
}

#[test]
fn hostile_schema_name_in_the_url_is_quoted_everywhere() {
    let db = TestDb::new();
    let schema = "we\"ird'; DROP TABLE y; --é ☃";
    let encoded: String = schema
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}schema={encoded}", db.url);
    let dir = Dir::with(&[
        (
            "20240101000000_init",
            "CREATE TABLE y (id int);\nINSERT INTO y VALUES (1), (2);\n",
        ),
        ("20240102000000_b", "CREATE TABLE b (id int);"),
    ]);
    let d = dir.path().to_str().unwrap();
    let out = migrate(&url, &["deploy", "--migrations-dir", d]);
    assert_exit(&out, 0);
    assert_eq!(
        ledger_names(&db, schema),
        ["20240101000000_init", "20240102000000_b"]
    );
    let quoted = migrate_core::sql::quote_ident(schema);
    assert!(table_exists(&db, &format!("{quoted}.y")));
    assert!(table_exists(&db, &format!("{quoted}.b")));
    assert!(!table_exists(&db, "public._prisma_migrations"));

    // A second deployment backs the hostile schema up and verifies it.
    dir.add("20240103000000_c", "INSERT INTO y VALUES (3);");
    let out = migrate(&url, &["deploy", "--migrations-dir", d]);
    assert_exit(&out, 0);
    let out = migrate(&url, &["status", "--migrations-dir", d]);
    assert_exit(&out, 0);
    let count: i64 = db
        .client()
        .query_one(&format!("SELECT count(*) FROM {quoted}.y"), &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 3);
}
