//! The grid and the sync-run list are served from version-checked copies: a write made
//! anywhere else (another process, a direct SQL change) shows on the very next read.

use diesel::prelude::*;
use kaspersky_msp_bridge::adapters::db::{self, json_text::JsonText, schema};
use kaspersky_msp_bridge::domain::outcome::{RunStatus, Trigger};
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, CatalogProduct, TestApp};

/// A connection of its own, as another process sharing the database would have.
/// A running run recorded by another process.
fn plant_run(app: &TestApp, id: &str) {
    app.with_db(|conn| {
        db::sync::insert_run(
            conn,
            &db::sync::RunRow {
                id: id.into(),
                trigger_kind: Trigger::Cli,
                status: RunStatus::Running,
                plan_id: None,
                dry_run: false,
                started_at: db::now(),
                finished_at: None,
                holder: "another process".into(),
                summary_json: JsonText(serde_json::json!({})),
                error: None,
            },
        )
        .unwrap();
    });
}

async fn read(app: &TestApp, path: &str) -> (Value, Option<String>) {
    let response = app.get(path, &app.admin_token).await;
    assert_eq!(response.status(), 200);
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (response.json().await.unwrap(), etag)
}

fn row<'a>(grid: &'a Value, application: &str) -> &'a Value {
    grid["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["application_id"] == application)
        .unwrap()
}

#[actix_web::test]
async fn the_grid_shows_changes_made_elsewhere_at_once() {
    let app = spawn_app().await;
    app.seed_cw_products(&[CatalogProduct {
        id: 501,
        identifier: "KES-WS",
        inactive: false,
    }]);
    let (before, tag_before) = read(&app, "/api/v1/product-mappings").await;
    assert_eq!(row(&before, "kes-windows")["status"], "unmapped");
    // Read twice: the second answer comes from the copy, and is the same.
    assert_eq!(read(&app, "/api/v1/product-mappings").await.0, before);

    app.with_db(|conn| {
        use schema::product_mappings as pm;
        diesel::insert_into(pm::table)
            .values((
                pm::application_id.eq("kes-windows"),
                pm::product_id.eq(Some(501_i64)),
                pm::updated_at.eq(db::now()),
            ))
            .execute(conn)
            .unwrap();
    });
    let (mapped, tag_mapped) = read(&app, "/api/v1/product-mappings").await;
    assert_eq!(row(&mapped, "kes-windows")["status"], "complete");
    assert_eq!(
        row(&mapped, "kes-windows")["products"][0]["identifier"],
        "KES-WS"
    );
    assert_ne!(tag_mapped, tag_before);

    // The catalog cache and the billing settings count too.
    app.with_db(|conn| {
        use schema::cw_products as p;
        diesel::update(p::table.find(501_i64))
            .set(p::description.eq("Renamed elsewhere"))
            .execute(conn)
            .unwrap();
        db::billing_settings::put(
            conn,
            &db::billing_settings::BillingSettings {
                bill_devices_by_category: true,
                ..Default::default()
            },
        )
        .unwrap();
    });
    let (changed, _) = read(&app, "/api/v1/product-mappings?solution=ksc").await;
    assert_eq!(changed["bill_devices_by_category"], true);
    let (all, _) = read(&app, "/api/v1/product-mappings").await;
    assert_eq!(
        row(&all, "kes-windows")["products"][0]["description"],
        "Renamed elsewhere"
    );
}

#[actix_web::test]
async fn the_run_list_shows_runs_recorded_elsewhere_at_once() {
    let app = spawn_app().await;
    let (empty, _) = read(&app, "/api/v1/sync/runs").await;
    assert_eq!(empty["total"], 0);
    assert_eq!(read(&app, "/api/v1/sync/runs").await.0, empty);

    plant_run(&app, "run-from-elsewhere");
    let (one, _) = read(&app, "/api/v1/sync/runs").await;
    assert_eq!(one["total"], 1);
    assert_eq!(one["items"][0]["status"], "running");

    app.with_db(|conn| {
        use schema::sync_runs as r;
        diesel::update(r::table.find("run-from-elsewhere"))
            .set(r::status.eq("succeeded"))
            .execute(conn)
            .unwrap();
    });
    let (done, _) = read(&app, "/api/v1/sync/runs?page=1&per_page=50").await;
    assert_eq!(done["items"][0]["status"], "succeeded");
}

/// Stored JSON the server cannot read is a server fault (500, nothing leaked), never shown as
/// defaults or left out.
#[actix_web::test]
async fn unreadable_stored_json_is_a_server_error() {
    let app = spawn_app().await;
    plant_run(&app, "stored-run");
    let run_path = "/api/v1/sync/runs/stored-run";
    assert_eq!(app.get(run_path, &app.admin_token).await.status(), 200);
    let events = "/api/v1/audit-events";
    app.create_tenant("Audited", "audited").await;
    assert_eq!(app.get(events, &app.admin_token).await.status(), 200);

    app.with_db(|conn| {
        use schema::{audit_events as a, sync_runs as r};
        diesel::update(r::table)
            .set(r::summary_json.eq("{not json"))
            .execute(conn)
            .unwrap();
        diesel::update(a::table)
            .set(a::after_json.eq(Some("[1,")))
            .execute(conn)
            .unwrap();
    });
    for path in [run_path, "/api/v1/sync/runs", events] {
        let body = assert_problem(app.get(path, &app.admin_token).await, 500).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(!detail.contains("json"), "{path}: {detail}");
    }
}
