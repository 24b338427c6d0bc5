//! Health probes against real endpoints: a local HTTP server, the test database, real commands.

use std::time::{Duration, Instant};

use migrate_core::health::{
    run_probes, CommandProbe, HealthConfig, HealthProbe, HttpProbe, ProbeContext, ProbeFailure,
    RetryWindow, SqlProbe,
};
use migrate_tests::TestDb;

use self::server::{closed_port_url, Reply, TestServer};
use crate::common::url;

const FAST: RetryWindow = RetryWindow {
    window: Duration::from_secs(5),
    interval: Duration::from_millis(50),
};

fn no_db() -> ProbeContext {
    ProbeContext::without_database()
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for the health and monitor tests: each connection on its
/// own thread, one request per connection, every request recorded.
pub mod server {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// What to answer: a status after a delay.
    #[derive(Debug, Clone, Copy)]
    pub struct Reply {
        pub status: u16,
        pub delay: Duration,
    }

    impl Reply {
        pub fn status(status: u16) -> Self {
            Self {
                status,
                delay: Duration::ZERO,
            }
        }
    }

    /// A request as received.
    #[derive(Debug, Clone)]
    pub struct Request {
        pub method: String,
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    type Handler = dyn Fn(usize) -> Reply + Send + Sync;

    pub struct TestServer {
        pub addr: std::net::SocketAddr,
        requests: Arc<Mutex<Vec<Request>>>,
        stop: Arc<AtomicBool>,
    }

    impl TestServer {
        /// Answers the `n`th request (0-based) with `handler(n)`.
        pub fn start(handler: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let requests = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let handler: Arc<Handler> = Arc::new(handler);
            let (reqs, stopped) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                let counter = Arc::new(Mutex::new(0usize));
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, reqs, counter) = (handler.clone(), reqs.clone(), counter.clone());
                    std::thread::spawn(move || serve(stream, &*handler, &reqs, &counter));
                }
            });
            Self {
                addr,
                requests,
                stop,
            }
        }

        pub fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }

        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }

        pub fn hits(&self) -> usize {
            self.requests.lock().unwrap().len()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so that it sees the flag.
            let _ = TcpStream::connect(self.addr);
        }
    }

    fn serve(
        stream: TcpStream,
        handler: &Handler,
        requests: &Mutex<Vec<Request>>,
        counter: &Mutex<usize>,
    ) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // Numbered and recorded in arrival order, under one lock.
        let n = {
            let mut counter = counter.lock().unwrap();
            let n = *counter;
            *counter += 1;
            requests.lock().unwrap().push(Request {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            n
        };
        let reply = handler(n);
        std::thread::sleep(reply.delay);
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            reply.status
        );
    }

    /// A URL on 127.0.0.1 where nothing listens.
    pub fn closed_port_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/")
    }
}

#[test]
fn http_probe_passes_once_the_server_recovers() {
    let server = TestServer::start(|n| Reply::status(if n < 3 { 500 } else { 200 }));
    let probe: Box<dyn HealthProbe> =
        Box::new(HttpProbe::new(server.url("/healthz"), Duration::from_secs(2)).unwrap());
    let report = run_probes(&[probe], &no_db(), FAST);
    assert!(report.passed(), "{report:?}");
    let outcome = &report.probes[0];
    assert_eq!(outcome.attempts, 4, "{outcome:?}");
    assert_eq!(server.hits(), 4);
    assert_eq!(server.requests()[0].method, "GET");
    assert_eq!(server.requests()[0].path, "/healthz");
    assert!(report.ensure_passed().is_ok());
}

#[test]
fn http_probe_fails_after_the_window_with_attempts_counted() {
    let server = TestServer::start(|_| Reply::status(500));
    let probe: Box<dyn HealthProbe> =
        Box::new(HttpProbe::new(server.url("/"), Duration::from_secs(2)).unwrap());
    let window = RetryWindow {
        window: Duration::from_millis(600),
        interval: Duration::from_millis(50),
    };
    let started = Instant::now();
    let report = run_probes(&[probe], &no_db(), window);
    let outcome = &report.probes[0];
    assert!(!outcome.passed);
    assert!(outcome.attempts >= 5, "{outcome:?}");
    assert_eq!(outcome.attempts as usize, server.hits());
    let error = outcome.last_error.as_deref().unwrap();
    assert!(error.contains("returned status 500"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let unhealthy = report.ensure_passed().unwrap_err().to_string();
    assert!(
        unhealthy.contains("1 of 1 health probe(s) failed") && unhealthy.contains("status 500"),
        "{unhealthy}"
    );
}

#[test]
fn http_probe_times_out_on_a_slow_server() {
    let server = TestServer::start(|_| Reply {
        status: 200,
        delay: Duration::from_secs(3),
    });
    let probe = HttpProbe::new(server.url("/slow"), Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let error = probe.check(&no_db()).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(error, ProbeFailure::HttpTimeout { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("timed out after 300ms"),
        "{error}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[test]
fn http_probe_refused_connection_hides_url_secrets() {
    let raw =
        closed_port_url().replace("http://", "http://ops:hunter2hunter2@") + "h?token=s3cr3tvalue";
    let probe = HttpProbe::new(raw, Duration::from_secs(1)).unwrap();
    let error = probe.check(&no_db()).unwrap_err();
    let text = format!("{error} {error:?} {probe:?} {}", probe.name());
    assert!(matches!(error, ProbeFailure::Request { .. }), "{error:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("s3cr3tvalue"), "{text}");
    assert!(text.contains("token=********"), "{text}");
}

#[test]
fn sql_probe_passes_on_the_database() {
    let db = TestDb::new();
    let ctx = ProbeContext::new(url(&db));
    SqlProbe::from_flag("SELECT 1 = 1 => t")
        .unwrap()
        .check(&ctx)
        .unwrap();
    SqlProbe::from_flag("SELECT current_database()")
        .unwrap()
        .check(&ctx)
        .unwrap();
    SqlProbe::from_flag("SELECT NULL::int => NULL")
        .unwrap()
        .check(&ctx)
        .unwrap();
}

#[test]
fn sql_probe_wrong_value_shows_expected_and_got() {
    let db = TestDb::new();
    let error = SqlProbe::from_flag("SELECT 41 + 1 => 43")
        .unwrap()
        .check(&ProbeContext::new(url(&db)))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"sql probe query "SELECT 41 + 1" returned "42", expected "43""#
    );
}

#[test]
fn sql_probe_reports_query_errors_missing_rows_and_timeouts() {
    let db = TestDb::new();
    let ctx = ProbeContext::new(url(&db));
    let error = SqlProbe::from_flag("SELECT * FROM no_such_table")
        .unwrap()
        .check(&ctx)
        .unwrap_err();
    assert!(matches!(error, ProbeFailure::Query { .. }), "{error:?}");
    let chain = migrate_core::Error::from(migrate_core::health::HealthError::EmptyQuery);
    assert_eq!(chain.to_string(), "sql health probe has an empty query");

    let error = SqlProbe::from_flag("SELECT 1 WHERE false")
        .unwrap()
        .check(&ctx)
        .unwrap_err();
    assert!(matches!(error, ProbeFailure::NoRow { .. }), "{error:?}");

    let started = Instant::now();
    let error = SqlProbe::from_flag("SELECT pg_sleep(5)")
        .unwrap()
        .timeout(Duration::from_millis(200))
        .check(&ctx)
        .unwrap_err();
    assert!(matches!(error, ProbeFailure::Query { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));

    let error = SqlProbe::from_flag("SELECT 1")
        .unwrap()
        .check(&no_db())
        .unwrap_err();
    assert!(matches!(error, ProbeFailure::NoDatabase), "{error:?}");
}

#[test]
fn sql_probe_retries_until_the_expected_row_appears() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE ready (ok boolean)")
        .unwrap();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            db.client()
                .batch_execute("INSERT INTO ready VALUES (true)")
                .unwrap();
        })
    };
    let probe: Box<dyn HealthProbe> =
        Box::new(SqlProbe::from_flag("SELECT count(*) FROM ready => 1").unwrap());
    let report = run_probes(&[probe], &ProbeContext::new(url(&db)), FAST);
    writer.join().unwrap();
    assert!(report.passed(), "{report:?}");
    assert!(report.probes[0].attempts > 1, "{report:?}");
}

#[test]
fn command_probe_passes_on_exit_zero_and_fails_otherwise() {
    CommandProbe::from_flag("true")
        .unwrap()
        .check(&no_db())
        .unwrap();
    let error = CommandProbe::from_flag("false")
        .unwrap()
        .check(&no_db())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"command probe "false" exited with exit code 1"#
    );
}

#[test]
fn command_probe_error_carries_stderr() {
    let probe = CommandProbe::new("sh", ["-c", "echo first >&2; echo boom >&2; exit 3"]).unwrap();
    let error = probe.check(&no_db()).unwrap_err();
    match &error {
        ProbeFailure::Exit { status, stderr, .. } => {
            assert_eq!(status, "exit code 3");
            assert_eq!(stderr, "first | boom");
        }
        other => panic!("expected an exit failure, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .ends_with("exit code 3; stderr: first | boom"),
        "{error}"
    );
}

#[test]
fn command_probe_is_killed_on_timeout() {
    let probe = CommandProbe::new("sleep", ["5"])
        .unwrap()
        .timeout(Duration::from_millis(300));
    let started = Instant::now();
    let error = probe.check(&no_db()).unwrap_err();
    assert!(
        matches!(error, ProbeFailure::CommandTimeout { .. }),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error
            .to_string()
            .contains("timed out after 300ms and was killed"),
        "{error}"
    );
}

#[test]
fn command_probe_missing_program_fails_to_spawn() {
    let error = CommandProbe::from_flag("/nonexistent/probe-binary")
        .unwrap()
        .check(&no_db())
        .unwrap_err();
    assert!(matches!(error, ProbeFailure::Spawn { .. }), "{error:?}");
}

#[test]
fn configured_probes_run_together() {
    let db = TestDb::new();
    let server = TestServer::start(|n| Reply::status(if n < 1 { 503 } else { 204 }));
    let config: HealthConfig = toml_config(&format!(
        r#"
        window_secs = 5
        interval_secs = 0.05
        [[probes]]
        kind = "http"
        url = "{}"
        timeout_secs = 2
        [[probes]]
        kind = "sql"
        query = "SELECT 2 * 21"
        expected = "42"
        [[probes]]
        kind = "command"
        command = ["sh", "-c", "test -n \"$HOME\" || true"]
        "#,
        server.url("/ready")
    ));
    let probes = config.build_probes().unwrap();
    let report = run_probes(
        &probes,
        &ProbeContext::new(url(&db)),
        config.retry_window().unwrap(),
    );
    assert!(report.passed(), "{report:?}");
    let attempts: Vec<u32> = report.probes.iter().map(|p| p.attempts).collect();
    assert_eq!(attempts, [2, 1, 1]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["probes"][0]["attempts"], 2);
    assert!(json["probes"][0]["elapsed_ms"].is_number());
}

fn toml_config(text: &str) -> HealthConfig {
    toml::from_str(text).unwrap()
}
