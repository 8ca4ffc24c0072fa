//! `backup --to FILE` and the README's restore: back up while the server writes, restore into
//! an empty data directory, and the restored server serves the same grid and runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};
use crate::sync::world_with;

fn backup(database_url: &str, to: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"))
        .args(["backup", "--to"])
        .arg(to)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap()
}

/// What the restore must give back: the product grid, the runs and each run's changes.
async fn grid_and_runs(app: &TestApp) -> Value {
    let get = |path: String| async move {
        let response = app.get(&path, &app.admin_token).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json::<Value>().await.unwrap()
    };
    let grid = get("/api/v1/product-mappings".into()).await;
    let runs = get("/api/v1/sync/runs".into()).await;
    let mut changes = Vec::new();
    for run in runs["items"].as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        changes.push(get(format!("/api/v1/sync/runs/{id}/changes")).await);
    }
    json!({"grid": grid, "runs": runs, "changes": changes})
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[actix_web::test]
async fn a_backup_taken_while_the_server_writes_restores_the_same_grid_and_runs() {
    // The data directory holds the database, as it does by default.
    let w = world_with(|s| {
        s.database_url = format!("sqlite://{}", s.data_dir.join("bridge.db").display());
    })
    .await;
    w.push_users(12).await;
    let first = w.sync(None).await;
    w.push_users(9).await;
    w.sync(None).await;
    let app = &w.app;
    let before = grid_and_runs(app).await;
    assert_eq!(before["runs"]["items"].as_array().unwrap().len(), 2);
    assert!(!w.app.run_changes(&first).await.is_empty());

    // Back up while tenants keep being created.
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("bridge-backup.db");
    let (url, to) = (app.settings.database_url.clone(), copy.clone());
    let backing_up = actix_web::rt::task::spawn_blocking(move || backup(&url, &to));
    for i in 0..20 {
        let response = app
            .send_json(
                Method::POST,
                "/api/v1/tenants",
                &app.admin_token,
                &json!({"name": format!("Busy {i}"), "external_id": format!("busy-{i}")}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let output = backing_up.await.unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("encryption.key") && printed.contains("Restore:"),
        "{printed}"
    );
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut check = SqliteConnection::establish(copy.to_str().unwrap()).unwrap();
    let verdict: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut check)
        .unwrap();
    assert_eq!(verdict[0].integrity_check, "ok");
    drop(check);

    // A second backup never overwrites the first.
    let again = backup(&app.settings.database_url, &copy);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("must not exist yet"));

    // The README's restore, into a wiped data directory: the database file from the backup,
    // the key file kept with it, no -wal or -shm.
    let restored = tempfile::tempdir().unwrap();
    let data_dir = restored.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::copy(&copy, data_dir.join("bridge.db")).unwrap();
    std::fs::copy(
        app.settings.data_dir.join("encryption.key"),
        data_dir.join("encryption.key"),
    )
    .unwrap();
    let restored_app = spawn_app_with(|s| {
        s.database_url = format!("sqlite://{}", data_dir.join("bridge.db").display());
        s.data_dir = data_dir.clone();
    })
    .await;
    assert_eq!(grid_and_runs(&restored_app).await, before);
}

#[test]
fn postgres_is_referred_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("never-written.db");
    // Refused before any connection: nothing listens on port 1.
    let output = backup("postgres://bridge:secret-pw@127.0.0.1:1/bridge", &to);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pg_dump --format=custom") && stderr.contains("pg_restore"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-pw"));
    assert!(!to.exists());
}

#[test]
fn a_missing_database_is_not_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.db");
    let url = format!("sqlite://{}", dir.path().join("absent.db").display());
    let output = backup(&url, &to);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no SQLite database"));
    assert!(!to.exists() && !dir.path().join("absent.db").exists());
}
