//! The increase and first-billing guards through the API (DOMAIN.md §6 "Policies"): a tenant
//! whose bill jumps is asked about, previews say why each line waits, approval lets it through,
//! and the sync settings carry the limits.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::sync::world_with;

const SETTINGS: &str = "/api/v1/settings/sync";

async fn preview(app: &TestApp) -> Value {
    app.admin_json(Method::POST, "/api/v1/sync/preview", &json!({}), 201)
        .await
}

/// Changes sync settings with `change` applied to what is stored, through the API.
pub async fn change_settings(app: &TestApp, change: impl FnOnce(&mut Value)) -> Value {
    let response = app.get(SETTINGS, &app.admin_token).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let mut settings: Value = response.json().await.unwrap();
    change(&mut settings);
    let response = app
        .request(Method::PUT, SETTINGS, Some(&app.admin_token))
        .header("If-Match", etag)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[actix_web::test]
async fn a_tenant_whose_bill_jumps_is_asked_about_first() {
    let w = world_with(|_| {}).await;
    w.push_users(2).await;
    let first = w.sync(None).await;
    assert_eq!(
        first["status"], "succeeded",
        "first billing applies by default"
    );

    // 2 → 9 users: +350 % and +7 units.
    w.push_users(9).await;
    let plan = preview(&w.app).await;
    let line = &plan["lines"][0];
    assert_eq!(line["action"], "held", "{line}");
    assert_eq!(line["hold"]["action"], "update");
    assert_eq!(line["hold"]["reasons"], json!(["increase_above_limit"]));
    let reason = line["reason"].as_str().unwrap();
    assert!(reason.contains("tenant total 2 → 9 units"), "{reason}");

    let run = w.sync(None).await;
    assert_eq!(run["status"], "held", "{run}");
    assert_eq!(run["summary"]["lines_held"], 1);
    assert_eq!(w.billed_users(), Some(2.0), "nothing written unasked");

    let approved = w.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(approved["status"], "succeeded", "{approved}");
    assert_eq!(w.billed_users(), Some(9.0));

    // 9 → 11: a small rise goes through.
    w.push_users(11).await;
    assert_eq!(w.sync(None).await["status"], "succeeded");
    assert_eq!(w.billed_users(), Some(11.0));
}

#[actix_web::test]
async fn first_billing_waits_when_the_msp_asks_for_it() {
    let w = world_with(|_| {}).await;
    let saved = change_settings(&w.app, |s| s["hold_first_billing"] = json!(true)).await;
    assert_eq!(saved["hold_first_billing"], true);
    w.push_users(2).await;
    let plan = preview(&w.app).await;
    assert_eq!(
        plan["lines"][0]["hold"]["reasons"],
        json!(["first_billing"])
    );
    let run = w.sync(None).await;
    assert_eq!(run["status"], "held", "{run}");
    assert_eq!(w.billed_users(), None);
    w.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(w.billed_users(), Some(2.0));
}

#[actix_web::test]
async fn the_increase_guard_is_a_sync_setting() {
    let w = world_with(|_| {}).await;
    let app = &w.app;
    let defaults: Value = app
        .get(SETTINGS, &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(defaults["max_increase_percent"], 100);
    assert_eq!(defaults["min_increase_units"], 5);
    assert_eq!(defaults["hold_first_billing"], false);

    let saved = change_settings(app, |s| {
        s["max_increase_percent"] = json!(400);
        s["min_increase_units"] = json!(20);
    })
    .await;
    assert_eq!(
        (&saved["max_increase_percent"], &saved["min_increase_units"]),
        (&json!(400), &json!(20))
    );
    w.push_users(2).await;
    w.sync(None).await;
    w.push_users(9).await;
    assert_eq!(
        w.sync(None).await["status"],
        "succeeded",
        "within the raised limits"
    );

    // Out of range or wrongly typed: one 422 naming each field, nothing saved.
    let mut bad = saved.clone();
    bad["max_increase_percent"] = json!(10001);
    bad["min_increase_units"] = json!(-1);
    bad["hold_first_billing"] = json!("yes");
    let response = app
        .send_json(Method::PUT, SETTINGS, &app.admin_token, &bad)
        .await;
    let problem = assert_problem(response, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "max_increase_percent",
        "min_increase_units",
        "hold_first_billing",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let stored: Value = app
        .get(SETTINGS, &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["max_increase_percent"], 400);

    // A client that does not know the guard yet leaves its fields out: the defaults.
    let mut older = stored.clone();
    for field in [
        "max_increase_percent",
        "min_increase_units",
        "hold_first_billing",
        "next_run_at",
    ] {
        older.as_object_mut().unwrap().remove(field);
    }
    let saved = app.admin_json(Method::PUT, SETTINGS, &older, 200).await;
    assert_eq!(saved["max_increase_percent"], 100);
    assert_eq!(saved["min_increase_units"], 5);
}
