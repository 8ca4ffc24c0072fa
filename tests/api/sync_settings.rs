//! `GET|PUT /api/v1/settings/sync`: defaults, validation listing every problem, roles, ETag and
//! audit — and the scheduler's tick and retention pruning on a real database.

use std::sync::Arc;

use chrono::{Duration, Utc};
use kaspersky_msp_bridge::adapters::db::{self, audit, audit::Actor, json_text::JsonText};
use kaspersky_msp_bridge::runtime::state::Core;
use kaspersky_msp_bridge::sync::retention;
use kaspersky_msp_bridge::sync::runs::{self, RunRequest, Trigger};
use kaspersky_msp_bridge::sync::scheduler::{tick, Tick};
use kaspersky_msp_bridge::sync::settings::{self, Retention, SyncSettings};
use kaspersky_msp_bridge::web::startup::build_core;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

const PATH: &str = "/api/v1/settings/sync";

fn valid() -> Value {
    json!({
        "schedule_enabled": true,
        "schedule": "30 6 * * 1-5",
        "time_zone": "Europe/Berlin",
        "effective_date_policy": "first_of_month",
        "cancel_date_policy": "today",
        "max_decrease_percent": 30,
        "max_usage_age_hours": 72,
        "retention": {"runs_days": 90, "snapshots_days": 60, "audit_events_days": 365}
    })
}

async fn put(
    app: &TestApp,
    token: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app.request(Method::PUT, PATH, Some(token)).json(body);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.unwrap()
}

#[actix_web::test]
async fn defaults_come_with_the_next_run_and_an_etag() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let response = app.get(PATH, &viewer).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schedule"], "0 2 * * *");
    assert_eq!(body["time_zone"], "UTC");
    assert_eq!(body["cancel_date_policy"], "end_of_month");
    assert_eq!(body["max_decrease_percent"], 50);
    assert_eq!(body["retention"]["runs_days"], 400);
    let next: chrono::DateTime<Utc> = body["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > Utc::now() && next <= Utc::now() + Duration::days(1));
    assert_eq!(next.format("%H:%M").to_string(), "02:00");
}

#[actix_web::test]
async fn operators_change_them_with_if_match_and_it_is_audited() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let (_, operator) = app.user_with_role("otto", "operator").await;
    assert_problem(put(&app, &viewer, &valid(), None).await, 403).await;

    let etag = app.get(PATH, &operator).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let saved = put(&app, &operator, &valid(), Some(&etag)).await;
    assert_eq!(saved.status(), 200);
    let new_etag = saved.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let body: Value = saved.json().await.unwrap();
    assert_eq!(body["time_zone"], "Europe/Berlin");
    // 06:30 Berlin is 05:30 or 04:30 UTC.
    let next: chrono::DateTime<Utc> = body["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(["05:30", "04:30"].contains(&next.format("%H:%M").to_string().as_str()));
    // What GET returns can be sent back as is (next_run_at is read-only).
    let again = put(&app, &operator, &body, Some(&new_etag)).await;
    assert_eq!(again.status(), 200);
    assert_problem(put(&app, &operator, &valid(), Some(&etag)).await, 412).await;

    let events: Value = app
        .get(
            "/api/v1/audit-events?entity_type=sync_settings",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one change, one event: {events}");
    assert_eq!(items[0]["actor_name"], "otto");
    assert_eq!(items[0]["before"]["time_zone"], "UTC");
    assert_eq!(items[0]["after"]["time_zone"], "Europe/Berlin");

    // Switching the schedule off: no next run.
    let mut off = valid();
    off["schedule_enabled"] = json!(false);
    let body: Value = put(&app, &operator, &off, None).await.json().await.unwrap();
    assert!(body["next_run_at"].is_null());
}

#[actix_web::test]
async fn every_problem_is_listed_in_one_422() {
    let app = spawn_app().await;
    let body = json!({
        "schedule_enabled": "yes",
        "schedule": "0 25 * * *",
        "time_zone": "Mars/Olympus",
        "effective_date_policy": "yesterday",
        "max_decrease_percent": 101,
        "max_usage_age_hours": 0,
        "retention": {"runs_days": 0, "snapshots_days": 30},
        "colour": "blue"
    });
    let problem = assert_problem(put(&app, &app.admin_token, &body, None).await, 422).await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "cancel_date_policy",
            "colour",
            "effective_date_policy",
            "retention.audit_events_days",
            "schedule_enabled",
        ],
        "type and presence problems first: {problem}"
    );

    // Well-typed but breaking the rules: all of them at once.
    let mut body = valid();
    body["schedule"] = json!("0 25 * * *");
    body["time_zone"] = json!("Mars/Olympus");
    body["max_decrease_percent"] = json!(101);
    body["max_usage_age_hours"] = json!(0);
    body["retention"]["runs_days"] = json!(0);
    let problem = assert_problem(put(&app, &app.admin_token, &body, None).await, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "schedule",
            "time_zone",
            "max_decrease_percent",
            "max_usage_age_hours",
            "retention.runs_days"
        ]
    );
    let unchanged: Value = app.get(PATH, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["schedule"], "0 2 * * *");
}

async fn state_of(app: &TestApp) -> Arc<Core> {
    build_core(app.settings.clone()).await.unwrap()
}

#[actix_web::test]
async fn a_due_slot_starts_a_scheduled_run_unless_the_lease_is_held() {
    let app = spawn_app().await;
    let state = state_of(&app).await;
    let every_minute = SyncSettings {
        schedule: "* * * * *".into(),
        ..SyncSettings::default()
    };
    let now = Utc::now();
    // The schedule off: nothing is due, whatever the window.
    let off = SyncSettings {
        schedule_enabled: false,
        ..every_minute.clone()
    };
    assert!(matches!(
        tick(&state, &off, now - Duration::minutes(5), now).await,
        Tick::NotDue
    ));

    // Due: a run with the schedule trigger (it fails: ConnectWise is not configured).
    let Tick::Ran(run) = tick(&state, &every_minute, now - Duration::minutes(2), now).await else {
        panic!("expected a run");
    };
    assert_eq!(run.trigger_kind, "schedule");
    let shown: Value = app
        .get(&format!("/api/v1/sync/runs/{}", run.id), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["trigger"], "schedule", "{shown}");

    // Another run holds the lease: the slot is skipped, with the reason.
    let request = RunRequest::default();
    let holder = runs::begin(&state, Trigger::Api, &request).await.unwrap();
    let Tick::Skipped(reason) = tick(&state, &every_minute, now - Duration::minutes(2), now).await
    else {
        panic!("expected a skipped slot");
    };
    assert!(reason.contains(&holder.id), "{reason}");
    runs::execute(state.clone(), holder, request).await;
}

#[actix_web::test]
async fn retention_prunes_old_rows_but_keeps_each_tenants_newest_snapshot() {
    use db::schema::{sync_changes, sync_plans, sync_runs, usage_snapshots};
    use diesel::prelude::*;

    let app = spawn_app().await;
    let state = state_of(&app).await;
    // One Business Hub tenant with an old and a new snapshot, another with only an old one.
    let mut tenants = Vec::new();
    for name in ["Old and new", "Only old"] {
        let tenant = app.create_tenant(name, name).await;
        tenants.push(tenant.clone());
        let pushed = app
            .send_json(
                Method::POST,
                "/api/v1/usage-snapshots",
                &app.admin_token,
                &json!({"tenant_id": tenant, "users": {"kes-cloud": 3}}),
            )
            .await;
        assert_eq!(pushed.status(), 201);
    }
    let pushed = app
        .send_json(
            Method::POST,
            "/api/v1/usage-snapshots",
            &app.admin_token,
            &json!({"tenant_id": tenants[0], "users": {"kes-cloud": 4}}),
        )
        .await;
    assert_eq!(pushed.status(), 201);
    // Two finished runs (they fail: ConnectWise is not configured), one with a change row.
    let mut finished = Vec::new();
    for _ in 0..2 {
        let request = RunRequest::default();
        let run = runs::begin(&state, Trigger::Api, &request).await.unwrap();
        finished.push(runs::execute(state.clone(), run, request).await);
    }
    let long_ago = db::stored_time(Utc::now() - Duration::days(500));
    let mut pooled = state.pool.get().unwrap();
    let conn: &mut kaspersky_msp_bridge::adapters::db::DbConnection = &mut pooled;
    db::sync::insert_change(
        conn,
        &db::sync::ChangeRow {
            id: "old-change".into(),
            run_id: finished[0].id.clone(),
            seq: 0,
            tenant_id: None,
            tenant_name: None,
            cw_company_id: None,
            agreement_id: 1,
            product_id: 2,
            contributions_json: JsonText(Vec::new()),
            action: "create".into(),
            old_quantity: 0.0,
            new_quantity: Some(1),
            addition_id: None,
            result: "applied".into(),
            detail: String::new(),
            created_at: long_ago,
            move_id: None,
        },
    )
    .unwrap();
    // Age everything but the newest snapshot of the first tenant.
    let newest: String = usage_snapshots::table
        .filter(usage_snapshots::tenant_id.eq(&tenants[0]))
        .order(usage_snapshots::taken_at.desc())
        .select(usage_snapshots::id)
        .first(conn)
        .unwrap();
    diesel::update(usage_snapshots::table.filter(usage_snapshots::id.ne(&newest)))
        .set(usage_snapshots::taken_at.eq(long_ago))
        .execute(conn)
        .unwrap();
    let runs_before: i64 = sync_runs::table.count().get_result(conn).unwrap();
    assert_eq!(runs_before, 2);
    diesel::update(sync_runs::table)
        .set(sync_runs::started_at.eq(long_ago))
        .execute(conn)
        .unwrap();
    db::sync::insert_plan(
        conn,
        &db::sync::PlanRecord {
            id: "old-plan".into(),
            created_at: long_ago,
            created_by: None,
            company_mapping_id: None,
            plan_json: JsonText(serde_json::json!({})),
        },
    )
    .unwrap();
    audit::record(conn, &Actor::system("test"), "update", "x", "y", None, None).unwrap();
    diesel::update(db::schema::audit_events::table)
        .set(db::schema::audit_events::occurred_at.eq(long_ago))
        .execute(conn)
        .unwrap();
    let keep_runs = Retention {
        runs_days: 600,
        ..Retention::default()
    };
    let none = retention::prune_with(conn, &keep_runs, Utc::now()).unwrap();
    assert_eq!((none.runs, none.plans), (0, 0));
    // Old-and-new: the old one goes; only-old: its only snapshot is its newest and stays.
    assert_eq!(none.snapshots, 1);
    drop(pooled);

    let settings = SyncSettings {
        retention: Retention {
            runs_days: 30,
            snapshots_days: 30,
            audit_events_days: 30,
        },
        ..SyncSettings::default()
    };
    let mut pooled = state.pool.get().unwrap();
    let conn: &mut kaspersky_msp_bridge::adapters::db::DbConnection = &mut pooled;
    settings::put(conn, &settings).unwrap();
    drop(pooled);
    let pruned = retention::prune(&state, Utc::now()).await.unwrap();
    assert_eq!((pruned.runs, pruned.changes, pruned.plans), (2, 1, 1));
    assert_eq!(pruned.snapshots, 0);
    assert!(pruned.audit_events >= 1);
    let mut pooled = state.pool.get().unwrap();
    let conn: &mut kaspersky_msp_bridge::adapters::db::DbConnection = &mut pooled;
    let left: i64 = sync_runs::table.count().get_result(conn).unwrap();
    let changes: i64 = sync_changes::table.count().get_result(conn).unwrap();
    let plans: i64 = sync_plans::table.count().get_result(conn).unwrap();
    let snapshots: i64 = usage_snapshots::table.count().get_result(conn).unwrap();
    assert_eq!((left, changes, plans, snapshots), (0, 0, 0, 2));
}
