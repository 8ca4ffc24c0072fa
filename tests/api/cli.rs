//! The command line as an operator meets it: flags over the environment, secrets from files,
//! `--version`, shell completions, and owner-only data files.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::spawn_app;

fn bridge(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
    command.args(args).env_clear().current_dir(dir);
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn flags_beat_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().join("from-env");
    let env_dir_text = env_dir.display().to_string();
    let vars = [("BRIDGE_DATA_DIR", env_dir_text.as_str())];
    let migrated = bridge(dir.path(), &["migrate", "--data-dir", "from-flag"], &vars);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(dir.path().join("from-flag/bridge.db").is_file());
    assert!(!env_dir.exists());

    let migrated = bridge(
        dir.path(),
        &["migrate", "--database-url", "sqlite://flag.db"],
        &[("DATABASE_URL", "mysql://not-used")],
    );
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(dir.path().join("flag.db").is_file());

    // Without the flag the environment counts.
    let migrated = bridge(dir.path(), &["migrate"], &vars);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(env_dir.join("bridge.db").is_file());
}

#[test]
fn secrets_come_from_files_without_their_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("database-url");
    std::fs::write(&url_file, "sqlite://from-file.db\n").unwrap();
    let short_secret = dir.path().join("jwt-secret");
    std::fs::write(&short_secret, "too short\n").unwrap();
    let url_file = url_file.display().to_string();
    let migrated = bridge(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL_FILE", &url_file)],
    );
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(dir.path().join("from-file.db").is_file());

    let refused = bridge(
        dir.path(),
        &["migrate"],
        &[(
            "BRIDGE_JWT_SECRET_FILE",
            &short_secret.display().to_string(),
        )],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("BRIDGE_JWT_SECRET must be at least 32 characters"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let output = bridge(dir.path(), &["--version"], &[]);
    assert!(output.status.success());
    let text = stdout(&output);
    let expected_commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        text.trim(),
        format!(
            "kaspersky-msp-bridge {} (commit {expected_commit})",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn completions_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _kaspersky__msp__bridge"),
        ("zsh", "#compdef kaspersky-msp-bridge"),
        ("fish", "complete -c kaspersky-msp-bridge"),
    ] {
        let output = bridge(dir.path(), &["completions", shell], &[]);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("healthcheck") && script.contains("data-dir"),
            "{shell}"
        );
    }
}

#[test]
fn help_tells_every_option_and_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = bridge(dir.path(), &["serve", "--help"], &[]);
    assert!(output.status.success());
    let help = stdout(&output);
    for needle in [
        "--bind <ADDRESS:PORT>",
        "[env: BRIDGE_BIND=]",
        "--data-dir <DIR>",
        "--database-url <URL>",
        "[env: DATABASE_URL]",
        "BRIDGE_ENCRYPTION_KEY_FILE",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    // The database URL may hold a password: its value never shows.
    let output = bridge(
        dir.path(),
        &["serve", "--help"],
        &[("DATABASE_URL", "postgres://u:hidden-pw@db/x")],
    );
    assert!(!stdout(&output).contains("hidden-pw"));
}

#[actix_web::test]
async fn the_data_directory_and_the_database_files_are_owner_only() {
    let app = spawn_app().await;
    assert_eq!(mode(&app.settings.data_dir), 0o700);
    assert_eq!(mode(&app.settings.data_dir.join("encryption.key")), 0o600);
    if !app.settings.is_postgres() {
        let database =
            kaspersky_msp_bridge::adapters::config::sqlite_path(&app.settings.database_url);
        // The server is running: WAL and SHM exist beside the database.
        for file in [
            database.to_string(),
            format!("{database}-wal"),
            format!("{database}-shm"),
        ] {
            assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
        }
    }
}
