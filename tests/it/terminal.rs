//! The CLI on a terminal (a pseudo-terminal), as a person runs it: what it shows, what it asks,
//! and what it does with the answer.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migrate_tests::TestDb;
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::common::{backup_dir, migrate_bin, table_exists, Dir};

/// Runs `migrate args` on a pseudo-terminal with `DATABASE_URL=url`, typing `answer` when a
/// `[y/N]` question appears; returns the exit code and everything shown.
pub(crate) fn on_terminal(url: &str, args: &[&str], answer: Option<&str>) -> (u32, String) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 60,
            cols: 220,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = CommandBuilder::new(migrate_bin());
    cmd.args(args);
    cmd.cwd(cwd.path());
    cmd.env("DATABASE_URL", url);
    cmd.env("MIGRATE_BACKUP_DIR", backup_dir());
    cmd.env("NO_COLOR", "1");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let shown = Arc::new(Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let sink = Arc::clone(&shown);
    let reading = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EOF or EIO once the child and its terminal are gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    if let Some(answer) = answer {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !shown.lock().unwrap().contains("[y/N]") {
            assert!(
                Instant::now() < deadline,
                "no question asked: {}",
                shown.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut writer = pair.master.take_writer().unwrap();
        writer.write_all(format!("{answer}\r").as_bytes()).unwrap();
    }
    let status = child.wait().unwrap();
    drop(pair.master);
    reading.join().unwrap();
    let text = shown.lock().unwrap().replace('\r', "");
    (status.exit_code(), text)
}

/// The first run on a laptop: the database does not exist yet.
#[test]
fn a_missing_database_is_created_on_a_terminal_too() {
    let db = TestDb::new();
    let fresh = format!("{}_fresh", db.name);
    let url = db
        .url
        .replacen(&format!("/{}", db.name), &format!("/{fresh}"), 1);
    let dir = Dir::with(&[("20240101000000_init", "CREATE TABLE t (id int);")]);
    let (code, shown) = on_terminal(
        &url,
        &[
            "deploy",
            "--yes",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("successfully applied"), "{shown}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let tables: i64 = client
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 't'", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);
}

/// The question names the target first, and asks about exactly what the gate would refuse,
/// with the data facts `plan` shows.
#[test]
fn the_prompt_is_the_gates_review_naming_the_target_first() {
    let db = TestDb::new();
    let dir = Dir::with(&[(
        "20240101000000_init",
        "CREATE TABLE account (id int PRIMARY KEY, legacy text);",
    )]);
    crate::common::engine(&db, dir.path()).deploy().unwrap();
    db.client()
        .batch_execute("INSERT INTO account SELECT g, 'x' FROM generate_series(1, 5) g")
        .unwrap();
    // One change that needs approval (a column holding data), and findings that do not.
    dir.add(
        "20240102000000_cleanup",
        "ALTER TABLE account DROP COLUMN legacy;\nCREATE TABLE note (id varchar(20));",
    );
    let path = dir.path().to_str().unwrap();

    let (code, shown) = on_terminal(&db.url, &["deploy", "--migrations-dir", path], Some("n"));
    assert_eq!(code, 1, "declined: the gate refuses; {shown}");
    assert!(table_exists(&db, "public.account"));
    let target = shown.find(&db.name).expect("names the target");
    let finding = shown.find("drop-column").expect("shows the finding");
    assert!(target < finding, "the target first: {shown}");
    assert!(
        shown.contains("Approve these 1 destructive or high-risk change(s)"),
        "{shown}"
    );
    assert!(
        shown.contains("5 non-null values"),
        "the data facts: {shown}"
    );

    let (code, shown) = on_terminal(&db.url, &["deploy", "--migrations-dir", path], Some("y"));
    assert_eq!(code, 0, "{shown}");
    let legacy: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'legacy'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(legacy, 0, "approved and applied");
}
