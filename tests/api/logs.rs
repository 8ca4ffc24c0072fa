//! Logs as pipelines take them: the real binary, its stderr a file (not a terminal).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The server binary, killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(vars: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("stderr.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
        command
            .arg("serve")
            .env_clear()
            .current_dir(dir.path())
            .env("BRIDGE_DATA_DIR", dir.path().join("data"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("bridge.db").display()),
            )
            .env("BRIDGE_BIND", format!("127.0.0.1:{port}"))
            .env("BRIDGE_ADMIN_PASSWORD", "admin-password-for-log-tests")
            .env("BRIDGE_SCHEDULER", "off")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in vars {
            command.env(k, v);
        }
        let server = Server {
            child: command.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start: {}", server.stderr());
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The log once the server has had time to write the line of the last request.
    async fn stderr_with(&self, needle: &str) -> String {
        for _ in 0..100 {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no {needle} in the log: {}", self.stderr());
    }
}

#[actix_web::test]
async fn json_lines_are_flat_with_request_id_elapsed_and_client_address() {
    let server = Server::start(&[
        ("BRIDGE_LOG_FORMAT", "json"),
        ("BRIDGE_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let client = reqwest::Client::new();
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let answered = client.get(format!("{}{probe}", server.base)).send().await;
        assert_eq!(answered.unwrap().status(), 200, "{probe}");
    }
    let refused = client
        .get(format!("{}/api/v1/auth/me", server.base))
        .header("x-request-id", "log-test-0001")
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let text = server.stderr_with("log-test-0001").await;
    assert!(!text.contains('\u{1b}'), "no ANSI colours into a file");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
        assert!(
            line.get("fields").is_none() && line.get("span").is_none(),
            "{line}"
        );
    }
    let request = lines
        .iter()
        .find(|l| l["request_id"] == "log-test-0001")
        .unwrap();
    assert_eq!(request["message"], "request");
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["path"], "/api/v1/auth/me");
    assert_eq!(request["status"], 401);
    assert!(request["elapsed_ms"].is_number(), "{request}");
    assert_eq!(request["client_address"], "198.51.100.9");
    // Probes are debug: not in an info log.
    assert!(
        !lines.iter().any(|l| ["/healthz", "/readyz", "/metrics"]
            .iter()
            .any(|p| l["path"] == *p)),
        "{text}"
    );
}

#[actix_web::test]
async fn human_logs_into_a_file_have_no_colours() {
    let server = Server::start(&[("BRIDGE_LOG_FORMAT", "human")]).await;
    let client = reqwest::Client::new();
    client
        .get(format!("{}/api/v1/auth/me", server.base))
        .header("x-request-id", "log-test-0002")
        .send()
        .await
        .unwrap();
    let text = server.stderr_with("log-test-0002").await;
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("elapsed_ms="), "{text}");
}
