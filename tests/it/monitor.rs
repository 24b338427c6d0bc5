//! Event sinks against real destinations: a local HTTP server (up, failing, slow, down), a file,
//! and a real deployment's events.

use crate::common::engine;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use migrate_core::monitor::{EventSink, Fanout, NdjsonSink, Overflow, WebhookOptions, WebhookSink};
use migrate_core::Event;
use migrate_tests::TestDb;
use serde_json::Value;

use crate::common::Dir;
use crate::health::server::{closed_port_url, Reply, TestServer};

/// Keeps every event it is sent, to compare with what other sinks delivered.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn send(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl EventSink for &'static Recorder {
    fn send(&self, event: &Event) {
        (*self).send(event);
    }
}

fn warning(i: usize) -> Event {
    Event::Warning {
        migration: Some(format!("m{i}")),
        message: format!("event {i}"),
    }
}

fn bodies(server: &TestServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

fn seqs(bodies: &[Value]) -> Vec<u64> {
    bodies
        .iter()
        .map(|b| b["event"]["seq"].as_u64().unwrap())
        .collect()
}

fn quick(options: WebhookOptions) -> WebhookOptions {
    WebhookOptions {
        backoff: Duration::from_millis(20),
        ..options
    }
}

#[test]
fn deployment_events_reach_webhook_and_ndjson_in_order() {
    let db = TestDb::new();
    let dir = Dir::with(&[
        (
            "20240101000000_init",
            "CREATE TABLE users (id bigint PRIMARY KEY);",
        ),
        (
            "20240102000000_posts",
            "CREATE TABLE posts (id bigint PRIMARY KEY);",
        ),
    ]);
    let server = TestServer::start(|_| Reply::status(200));
    let tmp = tempfile::tempdir().unwrap();
    let events_path = tmp.path().join("events.ndjson");
    let recorder: &'static Recorder = Box::leak(Box::default());

    let mut fanout = Fanout::new();
    fanout
        .push(recorder)
        .push(NdjsonSink::create(&events_path).unwrap())
        .push(WebhookSink::new(server.url("/hook"), WebhookOptions::default()).unwrap());
    assert_eq!(fanout.len(), 3);
    let report = engine(&db, dir.path())
        .deploy_with(&mut fanout.as_callback())
        .unwrap();
    assert_eq!(report.applied.len(), 2);
    drop(fanout); // flushes the webhook

    let sent = recorder.0.lock().unwrap().clone();
    assert!(
        sent.iter()
            .any(|e| matches!(e, Event::Finished { applied: 2, .. })),
        "{sent:?}"
    );
    assert!(
        matches!(sent.last(), Some(Event::Step { step, status, .. }) if step == "done" && status == "passed"),
        "{sent:?}"
    );
    assert!(sent.len() >= 5, "{sent:?}");

    let bodies = bodies(&server);
    assert_eq!(bodies.len(), sent.len(), "every event posted once");
    for (i, (body, event)) in bodies.iter().zip(&sent).enumerate() {
        assert_eq!(body["text"], event.to_string());
        assert_eq!(body["event"]["seq"], i as u64 + 1);
        let tag = serde_json::to_value(event).unwrap()["event"].clone();
        assert_eq!(body["event"]["event"], tag);
        assert!(body["event"]["ts"].as_str().unwrap().ends_with('Z'));
    }
    for request in server.requests() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        assert!(request
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json"));
    }

    let text = std::fs::read_to_string(&events_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), sent.len());
    for (i, (line, body)) in lines.iter().zip(&bodies).enumerate() {
        assert_eq!(line["seq"], i as u64 + 1);
        assert_eq!(line["event"], body["event"]["event"]);
    }
}

#[test]
fn webhook_skips_progress_events_unless_asked() {
    let progress = Event::BackupProgress {
        bytes: 1_000_000,
        elapsed: std::time::Duration::from_secs(5),
    };
    for (wanted, expected) in [(false, 2), (true, 3)] {
        let server = TestServer::start(|_| Reply::status(200));
        let sink = WebhookSink::new(
            server.url("/"),
            WebhookOptions {
                progress: wanted,
                ..WebhookOptions::default()
            },
        )
        .unwrap();
        sink.send(&warning(1));
        sink.send(&progress);
        sink.send(&warning(2));
        drop(sink);
        let bodies = bodies(&server);
        assert_eq!(bodies.len(), expected, "progress: {wanted}");
        // Numbered without gaps either way.
        for (i, body) in bodies.iter().enumerate() {
            assert_eq!(body["event"]["seq"], i as u64 + 1);
        }
    }
}

#[test]
fn ndjson_file_is_private_appended_and_numbered_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("events.ndjson");
    let sink = NdjsonSink::create(&path).unwrap();
    for i in 0..20 {
        sink.send(&warning(i));
    }
    drop(sink);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 20);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], i as u64 + 1);
        assert_eq!(line["message"], format!("event {i}"));
        assert_eq!(line["event"], "warning");
    }

    // A second run appends after the first run's lines.
    NdjsonSink::create(&path)
        .unwrap()
        .send(&Event::LedgerCreated);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 21);
    assert!(text.lines().last().unwrap().contains("ledger_created"));

    let error = NdjsonSink::create(tmp.path().join("missing/events.ndjson")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("could not open the events file"),
        "{error}"
    );
}

#[test]
fn webhook_retries_failed_posts_without_reordering() {
    let server = TestServer::start(|n| Reply::status(if n < 2 { 500 } else { 200 }));
    let sink = WebhookSink::new(server.url("/"), quick(WebhookOptions::default())).unwrap();
    for i in 0..5 {
        sink.send(&warning(i));
    }
    sink.close();
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.dropped), (5, 0, 0));
    assert_eq!(seqs(&bodies(&server)), [1, 1, 1, 2, 3, 4, 5]);
}

#[test]
fn webhook_gives_up_on_client_errors_and_after_retries() {
    let server = TestServer::start(|n| Reply::status(if n == 0 { 404 } else { 503 }));
    let options = quick(WebhookOptions {
        retries: 2,
        ..WebhookOptions::default()
    });
    let sink = WebhookSink::new(server.url("/"), options).unwrap();
    sink.send(&warning(0));
    sink.send(&warning(1));
    sink.close();
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed), (0, 2));
    // 404 is not retried; 503 is, twice.
    assert_eq!(seqs(&bodies(&server)), [1, 2, 2, 2]);
}

#[test]
fn webhook_down_does_not_slow_the_deployment() {
    let options = WebhookOptions {
        timeout: Duration::from_secs(2),
        retries: 3,
        backoff: Duration::from_millis(100),
        flush_timeout: Duration::from_secs(1),
        ..WebhookOptions::default()
    };
    let sink = WebhookSink::new(closed_port_url(), options).unwrap();
    let started = Instant::now();
    for i in 0..100 {
        sink.send(&warning(i));
    }
    let sending = started.elapsed();
    assert!(sending < Duration::from_millis(200), "{sending:?}");

    let started = Instant::now();
    sink.close();
    let closing = started.elapsed();
    assert!(closing < Duration::from_millis(1500), "{closing:?}");
    assert_eq!(sink.stats().delivered, 0);
}

#[test]
fn webhook_slow_server_does_not_slow_the_deployment() {
    let server = TestServer::start(|_| Reply {
        status: 200,
        delay: Duration::from_secs(3),
    });
    let options = WebhookOptions {
        timeout: Duration::from_millis(500),
        retries: 1,
        flush_timeout: Duration::from_secs(1),
        ..WebhookOptions::default()
    };
    let sink = WebhookSink::new(server.url("/slow"), options).unwrap();
    let started = Instant::now();
    for i in 0..100 {
        sink.send(&warning(i));
    }
    let sending = started.elapsed();
    assert!(sending < Duration::from_millis(200), "{sending:?}");
    let started = Instant::now();
    drop(sink);
    let closing = started.elapsed();
    assert!(closing < Duration::from_millis(1500), "{closing:?}");
    assert!(server.hits() >= 1);
}

#[test]
fn webhook_full_queue_drops_oldest_and_keeps_the_last_events() {
    let server = TestServer::start(|_| Reply {
        status: 200,
        delay: Duration::from_millis(100),
    });
    let options = WebhookOptions {
        capacity: 5,
        overflow: Overflow::DropOldest,
        ..WebhookOptions::default()
    };
    let sink = WebhookSink::new(server.url("/"), options).unwrap();
    for i in 0..40 {
        sink.send(&warning(i));
    }
    sink.close();
    let received = seqs(&bodies(&server));
    assert!(received.windows(2).all(|w| w[0] < w[1]), "{received:?}");
    assert_eq!(received.last(), Some(&40), "{received:?}");
    // The first event is in flight while the others pile up: little more than 1 + capacity.
    assert!(received.len() <= 10, "{received:?}");
    let stats = sink.stats();
    assert_eq!(stats.delivered, received.len() as u64);
    assert_eq!(stats.dropped, 40 - received.len() as u64);

    // After close, events are dropped, not sent.
    sink.send(&warning(99));
    assert_eq!(sink.stats().dropped, 41 - received.len() as u64);
}

#[test]
fn webhook_drop_newest_keeps_the_first_events() {
    let server = TestServer::start(|_| Reply {
        status: 200,
        delay: Duration::from_millis(100),
    });
    let options = WebhookOptions {
        capacity: 3,
        overflow: Overflow::DropNewest,
        ..WebhookOptions::default()
    };
    let sink = WebhookSink::new(server.url("/"), options).unwrap();
    for i in 0..20 {
        sink.send(&warning(i));
    }
    sink.close();
    let received = seqs(&bodies(&server));
    assert!(received.len() <= 8, "{received:?}");
    assert_eq!(received[..3], [1, 2, 3], "{received:?}");
    assert_eq!(sink.stats().dropped, 20 - received.len() as u64);
}

/// Log records of the monitor's target, captured for the whole test binary.
fn captured_logs() -> &'static Mutex<Vec<String>> {
    struct Capture;
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.target().starts_with("migrate_core::monitor")
        }
        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                captured_logs()
                    .lock()
                    .unwrap()
                    .push(record.args().to_string());
            }
        }
        fn flush(&self) {}
    }
    static CAPTURE: Capture = Capture;
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        log::set_logger(&CAPTURE).expect("no other logger in the test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

#[test]
fn webhook_secrets_never_reach_logs_errors_or_debug() {
    let logs = captured_logs();
    let secret_path = "XXXXXXXXXXXXXXXXXXXXXXXX";
    let base = closed_port_url();
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let raw = base.replace("http://", "http://hook:pa55w0rd@")
        + &format!("services/T0/B0/{secret_path}?token=tok3nvalue");
    let sink = WebhookSink::new(
        raw.clone(),
        WebhookOptions {
            retries: 1,
            ..quick(WebhookOptions::default())
        },
    )
    .unwrap();
    sink.send(&warning(0));
    sink.close();
    assert_eq!(sink.stats().failed, 1);

    let port = host;
    let logs: Vec<String> = logs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(&port))
        .cloned()
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("not delivered")),
        "{logs:#?}"
    );
    let invalid = WebhookSink::new(raw.replacen("http", "ftp", 1), WebhookOptions::default())
        .unwrap_err()
        .to_string();
    for text in logs.iter().chain([
        &format!("{sink:?}"),
        &sink.redacted_url().to_owned(),
        &invalid,
    ]) {
        for secret in ["pa55w0rd", "tok3nvalue", secret_path] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    assert!(
        invalid.starts_with("invalid webhook url ftp://"),
        "{invalid}"
    );
}

#[test]
fn deploy_json_is_one_object_and_json_events_streams_the_events_before_it() {
    let db = TestDb::new();
    let dir = Dir::with(&[("20240101000000_a", "CREATE TABLE a (id int);")]);
    let path = dir.path().to_str().unwrap();
    let out = crate::common::migrate(&db.url, &["deploy", "--json", "--migrations-dir", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::text(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(result["applied"], serde_json::json!(["20240101000000_a"]));

    dir.add("20240102000000_b", "CREATE TABLE b (id int);");
    let out = crate::common::migrate(
        &db.url,
        &[
            "deploy",
            "--json",
            "--json-events",
            "--migrations-dir",
            path,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::text(&out.stderr)
    );
    let lines: Vec<Value> = crate::common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (result, events) = lines.split_last().unwrap();
    assert_eq!(result["applied"], serde_json::json!(["20240102000000_b"]));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "migration_applied" && e["name"] == "20240102000000_b"),
        "{events:?}"
    );

    let out = crate::common::migrate(&db.url, &["status", "--json-events"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--json-events needs --json and deploy"
    );
}
