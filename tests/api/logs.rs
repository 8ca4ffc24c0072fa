//! Logs as pipelines take them: the real binary, its stderr a file (not a terminal).

use serde_json::Value;

use crate::helpers::ServerProcess as Server;

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
