//! What the benchmarks share: the release server binary as a child process (so its memory is
//! measured apart from the load generator and the fakes), its admin login, and the verdicts.
// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "bench-admin-password-123";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret!!";

/// The server binary, running with its output in files of `dir`.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts `serve` on `database_url`, listening on a free loopback port and reaching out to
    /// loopback only; waits until it listens.
    pub fn start(database_url: &str, dir: &Path) -> Server {
        let stdout_path = dir.join("server.out");
        let stdout = std::fs::File::create(&stdout_path).expect("server output file");
        let stderr = std::fs::File::create(dir.join("server.err")).expect("server log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BRIDGE_BIND", "127.0.0.1:0")
            .env("BRIDGE_DATA_DIR", dir.join("data"))
            .env("BRIDGE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("BRIDGE_JWT_SECRET", JWT_SECRET)
            .env("BRIDGE_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env("BRIDGE_SCHEDULER", "off")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .current_dir(dir)
            .spawn()
            .expect("start the server binary");
        let mut server = Server {
            child,
            base: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let mut out = String::new();
            if let Ok(mut f) = std::fs::File::open(&stdout_path) {
                let _ = f.read_to_string(&mut out);
            }
            if let Some(url) = out.lines().find_map(|l| l.split("is listening on ").nth(1)) {
                server.base = url.trim().to_string();
                println!("server pid {} on {}", server.child.id(), server.base);
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("server.err")).unwrap_or_default();
                panic!("the server exited ({status}): {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not start listening within 60 s");
    }

    /// `VmHWM` of the server process.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    /// CPU time the server process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.child.id().to_string())
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The admin's access token.
pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200, "login failed");
    let body: Value = response.json().await.expect("a login answer");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// A number from the environment within `range`; the default when unset; the process stops
/// with a message when the value is not a number in range (it is never silently replaced).
pub fn env_number(name: &str, default: usize, range: std::ops::RangeInclusive<usize>) -> usize {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => parse_in_range(name, &v, &range),
    }
}

/// Numbers from a comma-separated environment value, each within `range`.
pub fn env_numbers(
    name: &str,
    default: &[usize],
    range: std::ops::RangeInclusive<usize>,
) -> Vec<usize> {
    match std::env::var(name) {
        Err(_) => default.to_vec(),
        Ok(v) => v
            .split(',')
            .map(|n| parse_in_range(name, n.trim(), &range))
            .collect(),
    }
}

fn parse_in_range(name: &str, value: &str, range: &std::ops::RangeInclusive<usize>) -> usize {
    match value.parse::<usize>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            eprintln!(
                "{name}={value:?} is out of range: give a whole number from {} to {}",
                range.start(),
                range.end()
            );
            std::process::exit(2);
        }
    }
}

/// User + system CPU seconds of a process (`self` for this one), from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start with the state.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
