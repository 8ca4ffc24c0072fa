//! Start-up failures exit non-zero quickly with the reason on one line.

use std::process::Command;
use std::time::{Duration, Instant};

fn run_with(vars: &[(&str, &str)]) -> (bool, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
    command
        .env_clear()
        .current_dir(dir.path())
        .env("BRIDGE_DATA_DIR", dir.path().join("data"))
        .env("BRIDGE_BIND", "127.0.0.1:0");
    for (k, v) in vars {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.success(), stderr, started.elapsed())
}

fn error_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn bad_configuration_exits_with_one_readable_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("DATABASE_URL", "mysql://localhost/x")], "DATABASE_URL"),
        (&[("BRIDGE_BIND", "not-an-address")], "BRIDGE_BIND"),
        (&[("BRIDGE_JWT_SECRET", "short")], "BRIDGE_JWT_SECRET"),
        (
            &[("BRIDGE_ADMIN_PASSWORD", "short")],
            "BRIDGE_ADMIN_PASSWORD",
        ),
        (
            &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")],
            "cannot open the database",
        ),
        (
            &[
                ("BRIDGE_ADMIN_PASSWORD", "long enough password"),
                ("BRIDGE_ADMIN_PASSWORD_FILE", "/etc/hostname"),
            ],
            "set BRIDGE_ADMIN_PASSWORD or BRIDGE_ADMIN_PASSWORD_FILE, not both",
        ),
        (
            &[("BRIDGE_ENCRYPTION_KEY_FILE", "no-such-secret-file")],
            "BRIDGE_ENCRYPTION_KEY_FILE names a file that cannot be read: no-such-secret-file",
        ),
    ];
    for (vars, needle) in cases {
        let (ok, stderr, elapsed) = run_with(vars);
        assert!(!ok, "{vars:?} should fail");
        let line = error_line(&stderr);
        assert!(line.contains(needle), "{vars:?}: {stderr}");
        assert!(
            elapsed < Duration::from_secs(15),
            "{vars:?} took {elapsed:?}"
        );
    }
}

#[test]
fn a_wrong_database_password_is_reported() {
    // A refused login and an absent server are both reported the same way, so this runs
    // with or without a PostgreSQL server on loopback.
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rest = url
        .strip_prefix("postgres://")
        .expect("TEST_DATABASE_URL is a postgres:// URL");
    let host_part = rest.split_once('@').map(|(_, h)| h).unwrap_or(rest);
    let wrong = format!("postgres://no_such_role_x:wrong@{host_part}");
    let (ok, stderr, _) = run_with(&[("DATABASE_URL", &wrong)]);
    assert!(!ok);
    let line = error_line(&stderr);
    assert!(
        line.contains("cannot open the database") && !line.contains("wrong@"),
        "{line}"
    );
}

#[test]
fn migrate_and_openapi_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"))
        .arg("migrate")
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/bridge.db").exists());

    let output = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"))
        .arg("openapi")
        .output()
        .unwrap();
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(spec["paths"]["/api/v1/auth/login"].is_object());
}

#[test]
fn user_cli_creates_and_resets_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], password: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
        c.args(args).env_clear().current_dir(dir.path());
        if let Some(p) = password {
            c.env("BRIDGE_NEW_PASSWORD", p);
        }
        c.output().unwrap()
    };
    let created = run(
        &["user", "create", "--username", "Ops", "--role", "operator"],
        None,
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).starts_with("user ops: password "));
    let again = run(
        &["user", "create", "--username", "ops", "--role", "viewer"],
        Some("long enough pass"),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
    let reset = run(
        &["user", "reset-password", "--username", "ops"],
        Some("long enough pass"),
    );
    assert!(reset.status.success());
    let missing = run(
        &["user", "reset-password", "--username", "ghost"],
        Some("long enough pass"),
    );
    assert!(!missing.status.success());
}
