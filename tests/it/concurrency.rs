//! Many replicas deploying at once: the lock serializes them, each migration runs once.

use migrate_tests::TestDb;

use crate::common::{migrate_bin, rows, Dir};

#[test]
fn eight_processes_deploy_at_once_and_apply_each_migration_once() {
    let db = TestDb::new();
    let dir = Dir::new();
    for i in 0..20 {
        // Each migration would fail if run twice.
        dir.add(
            &format!("2024010100{i:04}_m{i}"),
            &format!(
                "CREATE TABLE t{i} (id int); INSERT INTO t{i} VALUES ({i}); SELECT pg_sleep(0.01);"
            ),
        );
    }
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(migrate_bin())
                .args([
                    "deploy",
                    "--json",
                    "--lock-timeout",
                    "120",
                    "--migrations-dir",
                ])
                .arg(dir.path())
                .env("DATABASE_URL", &db.url)
                .env("MIGRATE_BACKUP_DIR", crate::common::backup_dir())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_total = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = crate::common::last_json(&out.stdout);
        applied_total += report["applied"].as_array().unwrap().len();
    }
    assert_eq!(
        applied_total, 20,
        "every migration applied by exactly one process"
    );
    let rows = rows(&db);
    assert_eq!(rows.len(), 20);
    let mut names: Vec<_> = rows.iter().map(|r| r.migration_name.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), 20);
    for i in 0..20 {
        let n: i64 = db
            .client()
            .query_one(&format!("SELECT count(*) FROM t{i}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }
}
