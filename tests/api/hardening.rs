//! The real binary under pressure: a crowd of slow connections, a log that cannot be written.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::helpers::ServerProcess;

/// The open-file limit many systems give a process: with it, a slow crowd used to starve
/// everyone (accept failed with EMFILE).
const USUAL_SOFT_LIMIT: libc::rlim_t = 1024;

/// Starts the server with the usual soft open-file limit (the hard limit as it is).
async fn server_with_the_usual_file_limit() -> ServerProcess {
    ServerProcess::start_with(&[("RUST_LOG", "info")], |command| {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = USUAL_SOFT_LIMIT.min(limit.rlim_max);
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
    .await
}

/// Keeps a connection open that sends half a request head and then nothing; when the server
/// closes it, opens another, until `until`. Returns how many it opened.
async fn slow_client(address: String, until: tokio::time::Instant) -> usize {
    let mut opened = 0;
    while tokio::time::Instant::now() < until {
        let Ok(stream) = TcpStream::connect(&address).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        opened += 1;
        if stream.writable().await.is_ok() {
            let _ = stream.try_write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        }
        // Hold it until the server gives up on it (or the attack ends).
        let _ = tokio::time::timeout_at(until, stream.readable()).await;
    }
    opened
}

#[actix_web::test]
async fn a_crowd_of_slow_connections_does_not_starve_a_real_client() {
    // This process holds the crowd's ends: it needs room too.
    let own = kaspersky_msp_bridge::adapters::net::raise_open_file_limit().unwrap();
    let server = server_with_the_usual_file_limit().await;
    let hard = own.now;
    // More slow connections than the usual limit, as far as this machine allows, each
    // reopened as soon as the server drops it, for a bounded time.
    let crowd = 2000.min(hard.saturating_sub(512) as usize);
    let address = server.base.trim_start_matches("http://").to_string();
    let attack_ends = tokio::time::Instant::now() + Duration::from_secs(9);
    let attackers: Vec<_> = (0..crowd)
        .map(|_| actix_web::rt::spawn(slow_client(address.clone(), attack_ends)))
        .collect();
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;

    // While they hang on, past the server's 5-second head timeout, a real client is answered.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    for round in 0..6 {
        let answered = client.get(format!("{}/healthz", server.base)).send().await;
        let status = answered.map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(200), "round {round}");
        actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    }
    let mut opened = 0;
    for attacker in attackers {
        opened += attacker.await.unwrap();
    }
    assert!(
        opened >= crowd,
        "{opened} slow connections for a crowd of {crowd}"
    );
    let log = server.stderr_with("client connections at once").await;
    if hard > USUAL_SOFT_LIMIT {
        let raised = format!("from={USUAL_SOFT_LIMIT} to={hard}");
        assert!(log.contains(&raised), "{raised} in {log}");
    }
}

/// `/metrics` as text.
async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn dropped_lines(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("bridge_log_lines_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no dropped-lines counter in {metrics}"))
}

#[actix_web::test]
async fn a_full_log_disk_drops_lines_counts_them_and_says_so_but_never_fails_a_request() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let server = ServerProcess::start_with(&[("RUST_LOG", "debug")], move |command| {
        command.stderr(full);
    })
    .await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({"username": "admin", "password": "admin-password-for-log-tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the API answers");
    let ready: serde_json::Value = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert!(
        ready["warnings"][0]
            .as_str()
            .unwrap()
            .contains("log lines are being dropped"),
        "{ready}"
    );
    assert!(dropped_lines(&metrics(&server.base).await) > 0);
}

#[actix_web::test]
async fn a_stuck_log_reader_never_holds_up_a_request() {
    // Nobody reads this pipe: a writer on the request path would block once it is full.
    let (unread, writer) = std::io::pipe().unwrap();
    let server = ServerProcess::start_with(&[("RUST_LOG", "debug")], move |command| {
        command.stderr(writer);
    })
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // Far more log lines than a pipe holds (each request logs at debug).
    for n in 0..1500 {
        let answered = client
            .get(format!("{}/api/v1/auth/me", server.base))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(answered.ok(), Some(401), "request {n}");
    }
    drop(unread);
}
