//! Fleets: one history to many databases (and schemas) of the one test cluster, in waves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use migrate_core::fleet::{Fleet, Target, TargetStatus};
use migrate_core::ledger::RowState;
use migrate_core::pipeline::PipelineOptions;
use migrate_core::Event;
use migrate_tests::TestDb;

use crate::common::{backup_dir, last_json, migrate_bin, table_exists, text, Dir};

const INIT: &str = "20240101000000_init";
const CONFIG: &str = "20240102000000_config";
const SEED: &str = "20240103000000_seed";

fn history() -> Dir {
    Dir::with(&[
        (
            INIT,
            "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT NULL);",
        ),
        (
            CONFIG,
            "CREATE TABLE \"Config\" (id int PRIMARY KEY, value text);",
        ),
    ])
}

/// A targets file listing `(name, url, wave)`.
fn targets_file(entries: &[(&str, &str, u32)]) -> tempfile::NamedTempFile {
    let mut toml = String::new();
    for (name, url, wave) in entries {
        toml.push_str(&format!(
            "[[target]]\nname = \"{name}\"\nurl = \"{url}\"\nwave = {wave}\n\n"
        ));
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    file
}

fn fleet_cmd(args: &[&str], backups: &Path) -> Command {
    let mut cmd = Command::new(migrate_bin());
    cmd.arg("fleet")
        .args(args)
        .env_remove("DATABASE_URL")
        .env("MIGRATE_BACKUP_DIR", backups)
        .env("NO_COLOR", "1")
        .env_remove("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK")
        .stdin(Stdio::null());
    cmd
}

/// Applied migrations of a ledger (a `?schema=` target's: `schema` set), with their count.
fn applied_in(db: &TestDb, schema: Option<&str>) -> Vec<String> {
    let mut client = db.client();
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .unwrap();
    }
    let exists: bool = client
        .query_one("SELECT to_regclass('_prisma_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    client
        .query(
            "SELECT migration_name FROM _prisma_migrations \
             WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn status_of(json: &serde_json::Value, name: &str) -> String {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {json}"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn fleet_canary_wave_then_later_waves_reach_databases_and_schema_tenants() {
    let (canary, region, shared) = (TestDb::new(), TestDb::new(), TestDb::new());
    let dir = history();
    let url = |db: &TestDb, schema: Option<&str>| {
        let raw = match schema {
            Some(s) => format!("{}?schema={s}", db.url),
            None => db.url.clone(),
        };
        raw.parse().unwrap()
    };
    let targets = vec![
        Target::new("canary", url(&canary, None)),
        Target::new("region", url(&region, None)).wave(2),
        Target::new("tenant-a", url(&shared, Some("tenant_a"))).wave(2),
        Target::new("tenant-b", url(&shared, Some("tenant_b"))).wave(3),
    ];
    let mut options = PipelineOptions::default();
    options.backup_dir = backup_dir();
    let fleet = Fleet::new(targets, dir.path(), options).parallel(2);
    let events = Mutex::new(Vec::new());
    let report = fleet
        .deploy(&|e: &Event| events.lock().unwrap().push(e.clone()))
        .unwrap();
    assert!(report.is_success(), "{report:#?}");
    assert_eq!(report.count(TargetStatus::Deployed), 4);
    for t in &report.targets {
        assert_eq!(t.applied, [INIT, CONFIG], "{t:?}");
        assert!(
            t.backup.is_some(),
            "each target takes its own backup: {t:?}"
        );
        assert!(!t.location.contains(migrate_tests::cluster().password()));
    }
    assert_eq!(applied_in(&canary, None), [INIT, CONFIG]);
    assert_eq!(applied_in(&shared, Some("tenant_a")), [INIT, CONFIG]);
    assert_eq!(applied_in(&shared, Some("tenant_b")), [INIT, CONFIG]);
    assert!(applied_in(&shared, None).is_empty(), "public is untouched");

    // Waves in order: every event of the canary before any of wave 2, and one summary per wave.
    let events = events.into_inner().unwrap();
    let position = |name: &str, last: bool| {
        let mut it = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::Target { target, .. } if target == name));
        if last { it.next_back() } else { it.next() }.unwrap().0
    };
    assert!(position("canary", true) < position("region", false));
    assert!(position("canary", true) < position("tenant-a", false));
    assert!(position("tenant-a", true) < position("tenant-b", false));
    let waves: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::WaveFinished { wave, failed, .. } if failed.is_empty() => Some(*wave),
            _ => None,
        })
        .collect();
    assert_eq!(waves, [1, 2, 3]);

    // A rerun resumes: every target is up to date after its preflight.
    let again = fleet.deploy(&|_| {}).unwrap();
    assert_eq!(again.count(TargetStatus::UpToDate), 4, "{again:#?}");
}

#[test]
fn fleet_failing_target_in_wave_2_stops_wave_3_then_a_rerun_after_the_fix_resumes() {
    let dbs = [TestDb::new(), TestDb::new(), TestDb::new(), TestDb::new()];
    let dir = history();
    let backups = backup_dir();
    let file = targets_file(&[
        ("w1", &dbs[0].url, 1),
        ("w2-ok", &dbs[1].url, 2),
        ("w2-bad", &dbs[2].url, 2),
        ("w3", &dbs[3].url, 3),
    ]);
    let targets = file.path().to_str().unwrap();
    let migrations = dir.path().to_str().unwrap();
    let deploy = |parallel: &str| {
        fleet_cmd(
            &[
                "deploy",
                "--targets",
                targets,
                "--migrations-dir",
                migrations,
                "--parallel",
                parallel,
                "--json",
            ],
            &backups,
        )
        .output()
        .unwrap()
    };
    let first = deploy("2");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));

    // The next release seeds a row that w2-bad already has by hand: its insert fails there.
    dir.add(
        SEED,
        "INSERT INTO \"Config\" (id, value) VALUES (1, 'seeded');",
    );
    dbs[2]
        .client()
        .batch_execute("INSERT INTO \"Config\" (id, value) VALUES (1, 'by hand')")
        .unwrap();
    let failed = deploy("2");
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    let json = last_json(&failed.stdout);
    assert_eq!(status_of(&json, "w1"), "deployed", "{json}");
    assert_eq!(status_of(&json, "w2-bad"), "failed", "{json}");
    assert_eq!(status_of(&json, "w3"), "not_started", "{json}");
    assert_eq!(json["halted_at_wave"], 2, "{json}");
    let bad = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "w2-bad")
        .unwrap();
    assert_eq!(bad["pending"], serde_json::json!([SEED]), "{bad}");
    assert!(bad["error"].as_str().unwrap().contains(SEED), "{bad}");
    assert!(bad["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        applied_in(&dbs[3], None),
        [INIT, CONFIG],
        "wave 3 not started"
    );
    assert_eq!(
        applied_in(&dbs[2], None),
        [INIT, CONFIG],
        "w2-bad rolled back"
    );
    let pw = migrate_tests::cluster().password();
    assert!(!text(&failed.stdout).contains(pw) && !text(&failed.stderr).contains(pw));

    // The fix, then a rerun: w1 is skipped, the rest proceed.
    dbs[2]
        .client()
        .batch_execute("DELETE FROM \"Config\" WHERE id = 1")
        .unwrap();
    let rerun = deploy("2");
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stdout));
    let json = last_json(&rerun.stdout);
    assert_eq!(status_of(&json, "w1"), "up_to_date", "{json}");
    assert_eq!(status_of(&json, "w2-bad"), "deployed", "{json}");
    assert_eq!(status_of(&json, "w3"), "deployed", "{json}");
    for db in &dbs {
        assert_eq!(applied_in(db, None), [INIT, CONFIG, SEED]);
    }
}

#[test]
fn fleet_status_reports_an_unreachable_target_and_reads_the_others() {
    let db = TestDb::new();
    let dir = history();
    let backups = backup_dir();
    let file = targets_file(&[
        ("up", &db.url, 1),
        ("gone", "postgresql://app:s3cret@127.0.0.1:1/nowhere", 1),
    ]);
    let targets = file.path().to_str().unwrap();
    let migrations = dir.path().to_str().unwrap();
    // Deploy only `up` first: a one-target file.
    let only_up = targets_file(&[("up", &db.url, 1)]);
    let deployed = fleet_cmd(
        &[
            "deploy",
            "--targets",
            only_up.path().to_str().unwrap(),
            "--migrations-dir",
            migrations,
        ],
        &backups,
    )
    .output()
    .unwrap();
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        text(&deployed.stderr)
    );

    let t = Instant::now();
    let out = fleet_cmd(
        &[
            "status",
            "--targets",
            targets,
            "--migrations-dir",
            migrations,
            "--timeout",
            "5",
            "--json",
        ],
        &backups,
    )
    .output()
    .unwrap();
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("s3cret") && !text(&out.stderr).contains("s3cret"));
    let json = last_json(&out.stdout);
    let up = &json["targets"][0];
    assert_eq!(up["reachable"], true, "{json}");
    assert_eq!(up["applied"], serde_json::json!([INIT, CONFIG]), "{json}");
    assert_eq!(up["pending"], serde_json::json!([]), "{json}");
    assert_eq!(up["last_deployment"]["outcome"], "succeeded", "{json}");
    let gone = &json["targets"][1];
    assert_eq!(gone["reachable"], false, "{json}");
    assert!(gone["error"].as_str().is_some(), "{json}");

    // For people: one line per target, the unreachable one said so.
    let human = fleet_cmd(
        &[
            "status",
            "--targets",
            targets,
            "--migrations-dir",
            migrations,
        ],
        &backups,
    )
    .output()
    .unwrap();
    let stdout = text(&human.stdout);
    assert!(stdout.contains("unreachable"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
}

/// A history whose second migration takes a while, so that a kill lands mid-wave.
fn slow_history() -> Dir {
    Dir::with(&[
        (
            INIT,
            "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT NULL);",
        ),
        (
            CONFIG,
            "SELECT pg_sleep(0.6);\nCREATE TABLE \"Config\" (id int PRIMARY KEY, value text);",
        ),
    ])
}

fn spawn_fleet(file: &Path, dir: &Dir, backups: &Path, parallel: &str) -> std::process::Child {
    fleet_cmd(
        &[
            "deploy",
            "--targets",
            file.to_str().unwrap(),
            "--migrations-dir",
            dir.path().to_str().unwrap(),
            "--parallel",
            parallel,
            "--json",
        ],
        backups,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits (up to 60 s) until `cond` holds.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The ledger's rows; none when it does not exist yet.
fn rows(db: &TestDb) -> Vec<migrate_core::ledger::LedgerRow> {
    if table_exists(db, "public._prisma_migrations") {
        crate::common::rows(db)
    } else {
        Vec::new()
    }
}

fn exactly_once(db: &TestDb) {
    let rows = rows(db);
    for name in [INIT, CONFIG] {
        let applied = rows
            .iter()
            .filter(|r| r.migration_name == name && r.state() == RowState::Applied)
            .count();
        assert_eq!(applied, 1, "{name} in {}: {rows:?}", db.name);
    }
    assert!(
        rows.iter().all(|r| r.state() != RowState::Failed),
        "{}: {rows:?}",
        db.name
    );
}

#[test]
fn fleet_sigkill_mid_wave_then_rerun_leaves_every_target_consistent() {
    let dbs: Vec<TestDb> = (0..5).map(|_| TestDb::new()).collect();
    let dir = slow_history();
    let backups = backup_dir();
    let entries: Vec<(String, String)> = dbs
        .iter()
        .enumerate()
        .map(|(i, db)| (format!("t{i}"), db.url.clone()))
        .collect();
    let file = targets_file(
        &entries
            .iter()
            .map(|(n, u)| (n.as_str(), u.as_str(), 1))
            .collect::<Vec<_>>(),
    );
    let mut child = spawn_fleet(file.path(), &dir, &backups, "2");
    // Killed while some target is inside its slow migration.
    wait_until("a target to be applying the slow migration", || {
        migrate_tests::cluster()
            .connect("postgres")
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.6)%' \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
            > 0
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let touched: Vec<usize> = (0..dbs.len())
        .filter(|&i| !rows(&dbs[i]).is_empty())
        .collect();
    assert!(
        touched.len() < dbs.len(),
        "the kill should land mid-wave, before every target started: {touched:?}"
    );

    let rerun = spawn_fleet(file.path(), &dir, &backups, "2")
        .wait_with_output()
        .unwrap();
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
    let json = last_json(&rerun.stdout);
    for (name, _) in &entries {
        let status = status_of(&json, name);
        assert!(
            status == "deployed" || status == "up_to_date",
            "{name}: {json}"
        );
    }
    for db in &dbs {
        exactly_once(db);
    }
}

#[test]
fn fleet_sigint_stops_starting_targets_and_lets_running_ones_finish() {
    let dbs: Vec<TestDb> = (0..4).map(|_| TestDb::new()).collect();
    let dir = slow_history();
    let backups = backup_dir();
    let entries: Vec<(String, String)> = dbs
        .iter()
        .enumerate()
        .map(|(i, db)| (format!("t{i}"), db.url.clone()))
        .collect();
    let file = targets_file(
        &entries
            .iter()
            .map(|(n, u)| (n.as_str(), u.as_str(), 1))
            .collect::<Vec<_>>(),
    );
    let child = spawn_fleet(file.path(), &dir, &backups, "1");
    wait_until("the first target to be applying", || {
        !rows(&dbs[0]).is_empty()
    });
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    assert_eq!(json["stopped"], true, "{json}");
    assert_eq!(
        status_of(&json, "t0"),
        "deployed",
        "the running target finished: {json}"
    );
    assert_eq!(status_of(&json, "t3"), "not_started", "{json}");
    exactly_once(&dbs[0]);
    assert!(rows(&dbs[3]).is_empty());
}

#[test]
fn fleet_from_a_migrate_toml_environment_posts_one_webhook_summary_per_wave() {
    use crate::health::server::{Reply, TestServer};
    let (a, b) = (TestDb::new(), TestDb::new());
    let dir = history();
    let backups = backup_dir();
    let targets = targets_file(&[("a", &a.url, 1), ("b", &b.url, 2)]);
    let server = TestServer::start(|_| Reply::status(200));
    let events = tempfile::tempdir().unwrap();
    let events_file = events.path().join("events.ndjson");
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[environments.tenants]\ntargets = \"{}\"\nwebhook_env = \"FLEET_TEST_WEBHOOK\"\n",
            targets.path().display()
        ),
    )
    .unwrap();
    let out = fleet_cmd(
        &[
            "deploy",
            "--config",
            config.path().to_str().unwrap(),
            "--env",
            "tenants",
            "--migrations-dir",
            dir.path().to_str().unwrap(),
            "--events",
            events_file.to_str().unwrap(),
        ],
        &backups,
    )
    .env("FLEET_TEST_WEBHOOK", server.url("/hook"))
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("[a] deployed") && stdout.contains("[b] deployed"),
        "{stdout}"
    );
    let waves: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["event"].clone())
        .collect();
    assert_eq!(
        waves.len(),
        2,
        "one summary per wave, nothing else: {waves:?}"
    );
    assert!(
        waves.iter().all(|w| w["event"] == "wave_finished"),
        "{waves:?}"
    );
    assert_eq!(waves[0]["wave"], 1);
    assert_eq!(waves[1]["wave"], 2);
    assert_eq!(applied_in(&b, None), [INIT, CONFIG]);

    // The events file has every target's events, each tagged with its name.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let applied: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["event"] == "target" && l["target_event"]["event"] == "migration_applied")
        .map(|l| {
            (
                l["target"].as_str().unwrap().to_owned(),
                l["target_event"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ["a", "b"]
        .iter()
        .flat_map(|t| [INIT, CONFIG].map(|m| (t.to_string(), m.to_owned())))
        .collect();
    assert_eq!(applied, expected);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["event"] == "wave_finished")
            .count(),
        2
    );
}

#[test]
fn fleet_status_gives_a_silent_target_its_timeout_and_no_more() {
    let db = TestDb::new();
    let dir = history();
    // Accepts connections (the kernel's backlog) and never answers: a hung server.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let hung = format!("postgresql://app:s3cret@127.0.0.1:{port}/hung?connect_timeout=30");
    let file = targets_file(&[("hung", &hung, 1), ("up", &db.url, 1)]);
    let t = Instant::now();
    let out = fleet_cmd(
        &[
            "status",
            "--targets",
            file.path().to_str().unwrap(),
            "--migrations-dir",
            dir.path().to_str().unwrap(),
            "--timeout",
            "5",
            "--json",
        ],
        &backup_dir(),
    )
    .output()
    .unwrap();
    // The silent target costs its 5 s (a loaded machine may need them for the real one), not
    // the 30 s of its connect timeout.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = last_json(&out.stdout);
    assert_eq!(json["targets"][0]["reachable"], false, "{json}");
    let error = json["targets"][0]["error"].as_str().unwrap();
    assert!(error.contains("no answer within"), "{error}");
    assert_eq!(json["targets"][1]["reachable"], true, "{json}");
    assert_eq!(
        json["targets"][1]["pending"],
        serde_json::json!([INIT, CONFIG])
    );
    assert!(!text(&out.stdout).contains("s3cret"));
}

#[test]
fn fleet_target_failing_its_health_probe_rolls_back_and_halts_the_next_wave() {
    use migrate_core::health::SqlProbe;
    let (good, bad, later) = (TestDb::new(), TestDb::new(), TestDb::new());
    let dir = history();
    let targets = vec![
        Target::new("good", crate::common::url(&good)),
        Target::new("bad", crate::common::url(&bad)),
        Target::new("later", crate::common::url(&later)).wave(2),
    ];
    let mut options = PipelineOptions::default();
    options.backup_dir = backup_dir();
    options.health_window.window = Duration::from_millis(300);
    // The pipeline of each target, built from the same parts: `bad` gets a probe that fails.
    let fleet = Fleet::new(targets, dir.path(), options)
        .parallel(2)
        .customize(|target, pipeline| {
            let expected = if target.name == "bad" { "2" } else { "1" };
            let probe = SqlProbe::new("SELECT 1", Some(expected.to_owned())).unwrap();
            pipeline.probe(Box::new(probe))
        });
    let report = fleet.deploy(&|_| {}).unwrap();
    let of = |name: &str| report.targets.iter().find(|t| t.name == name).unwrap();
    assert_eq!(of("good").status, TargetStatus::Deployed, "{report:#?}");
    assert_eq!(of("bad").status, TargetStatus::Failed, "{report:#?}");
    assert!(of("bad")
        .rollback
        .as_deref()
        .unwrap()
        .starts_with("rolled back"));
    assert_eq!(
        of("bad").pending.as_deref(),
        Some(&[INIT.to_owned(), CONFIG.to_owned()][..])
    );
    assert_eq!(of("later").status, TargetStatus::NotStarted);
    assert_eq!(report.halted_at_wave, Some(1));
    assert!(applied_in(&bad, None).is_empty(), "rolled back");
    assert!(applied_in(&later, None).is_empty(), "wave 2 never started");
}

#[test]
fn fleet_on_a_terminal_shows_each_running_target_in_a_status_line() {
    let (a, b) = (TestDb::new(), TestDb::new());
    let dir = history();
    let file = targets_file(&[("a", &a.url, 1), ("b", &b.url, 2)]);
    let out = crate::common::on_a_terminal(
        &a.url,
        &[
            "fleet",
            "deploy",
            "--targets",
            file.path().to_str().unwrap(),
            "--migrations-dir",
            dir.path().to_str().unwrap(),
        ],
        false,
    );
    let shown = crate::common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("\x1b[2K"),
        "the status line is redrawn: {shown:?}"
    );
    assert!(shown.contains("wave 1: running a 0/2"), "{shown:?}");
    assert!(shown.contains("wave 2: running b"), "{shown:?}");
    assert!(
        shown.contains("[a] deployed") && shown.contains("[b] deployed"),
        "{shown}"
    );
    assert!(!shown.contains(migrate_tests::cluster().password()));
}
