//! Notifications (issue 25) through the HTTP API: notices raised from real runs and connection
//! tests, delivered to a local webhook receiver (signature checked with the secret, a 503
//! retried), the allow-list, the delivery log, and one delivery across restarts and processes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kaspersky_msp_bridge::adapters::db::{self, json_text::JsonText, sync::RunRow};
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::FakeKsc;
use kaspersky_msp_bridge::domain::outcome::{RunStatus, RunSummary, Trigger};
use reqwest::Method;
use serde_json::{json, Value};

use crate::guards::change_settings;
use crate::helpers::{eventually, spawn_app_with, TestApp};
use crate::products::invalid_fields;
use crate::sync::world_with;
use crate::webhook_receiver::Receiver;

const SECRET: &str = "a-webhook-secret-for-tests";
const CHANNELS: &str = "/api/v1/notification-channels";

async fn create_channel(app: &TestApp, name: &str, url: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "kind": "webhook", "url": url, "secret": SECRET});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.admin_json(Method::POST, CHANNELS, &body, 201).await
}

async fn notices(app: &TestApp, state: &str) -> Value {
    let path = format!("/api/v1/notifications?state={state}");
    let response = app.get(&path, &app.admin_token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A request without a body (a test, an acknowledgement, a delete).
async fn send(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    app.request(method, path, Some(token)).send().await.unwrap()
}

async fn wait_for(receiver: &Receiver, event: &str, count: usize) {
    eventually(Duration::from_secs(15), event, || async {
        receiver.accepted(event).len() >= count
    })
    .await;
}

#[actix_web::test]
async fn a_held_run_is_one_notice_that_recurs_and_resolves_over_a_signed_webhook() {
    let w = world_with(|_| {}).await;
    let app = &w.app;
    let receiver = Receiver::start(1);
    create_channel(
        app,
        "ops",
        &receiver.url,
        json!({"event_kinds": ["run_outcome", "held_lines"], "min_severity": "warning"}),
    )
    .await;
    change_settings(app, |s| {
        s["hold_first_billing"] = json!(true);
        s["held_notice_after_hours"] = json!(0);
    })
    .await;
    w.push_users(2).await;

    let run = w.sync(None).await;
    assert_eq!(run["status"], "held", "{run}");
    let ended = Instant::now();
    wait_for(&receiver, "notice.opened", 2).await;
    let first = receiver.accepted("notice.opened")[0].at;
    eprintln!(
        "notification: first webhook {:?} after the run's end",
        first - ended
    );
    for hit in receiver.hits() {
        assert!(hit.signed_with(SECRET), "signature of {hit:?}");
        let body = hit.json();
        assert_eq!(body["delivery_id"], hit.delivery.as_str());
        assert_eq!(body["timestamp"].to_string(), hit.timestamp);
    }
    assert!(!receiver.hits()[0].signed_with("another-secret-entirely"));
    assert_eq!(receiver.hits()[0].answered, 503, "the first was refused");
    let retried = &receiver.hits()[1];
    assert_eq!(
        retried.delivery,
        receiver.hits()[0].delivery,
        "the same delivery again"
    );
    let kinds: Vec<Value> = receiver
        .accepted("notice.opened")
        .iter()
        .map(|h| h.json()["notice"]["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("run_outcome")) && kinds.contains(&json!("held_lines")));

    // The delivery log: every delivery delivered, the refused one in two attempts.
    let open = notices(app, "open").await;
    assert_eq!(open["total"], 2, "{open}");
    let deliveries: Vec<Value> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["deliveries"].as_array().unwrap().clone())
        .collect();
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered"),
        "{open}"
    );
    let attempts: i64 = deliveries
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(attempts, 3, "{open}");

    // The same cause again: a recurrence of the run notice, no new notice.
    assert_eq!(w.sync(None).await["status"], "held");
    wait_for(&receiver, "notice.recurred", 1).await;
    assert_eq!(notices(app, "open").await["total"], 2);

    // Approved: the causes are gone and both notices resolve.
    let approved = w.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(approved["status"], "succeeded", "{approved}");
    wait_for(&receiver, "notice.resolved", 2).await;
    assert_eq!(notices(app, "open").await["total"], 0);
    let all = notices(app, "all").await;
    let run_notice = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "run_outcome")
        .unwrap()
        .clone();
    assert_eq!(run_notice["occurrences"], 2, "{run_notice}");
    assert!(run_notice["resolved_at"].is_string());
    assert_eq!(run_notice["link"], "/#/sync");
    assert_eq!(
        receiver.accepted("notice.opened").len(),
        2,
        "opened once each"
    );

    // Viewers read the log, operators acknowledge.
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let (_, operator) = app.user_with_role("otto", "operator").await;
    assert_eq!(
        app.get("/api/v1/notifications", &viewer).await.status(),
        200
    );
    let ack = format!(
        "/api/v1/notifications/{}/acknowledge",
        run_notice["id"].as_str().unwrap()
    );
    let refused = send(app, Method::POST, &ack, &viewer).await;
    assert_eq!(refused.status(), 403);
    let acked = send(app, Method::POST, &ack, &operator).await;
    assert_eq!(acked.status(), 200);
    let acked: Value = acked.json().await.unwrap();
    assert_eq!(acked["acknowledged_by"], "otto");
}

#[actix_web::test]
async fn channels_are_admin_configuration_with_a_write_only_secret() {
    let app = spawn_app_with(|_| {}).await;
    let receiver = Receiver::start(0);
    let created = create_channel(&app, "hook", &receiver.url, json!({})).await;
    assert_eq!(created["secret_set"], true);
    assert!(created.get("secret").is_none());
    assert_eq!(created["min_severity"], "info");
    let path = format!("{CHANNELS}/{}", created["id"].as_str().unwrap());

    let (_, operator) = app.user_with_role("olga", "operator").await;
    assert_eq!(app.get(CHANNELS, &operator).await.status(), 403);
    let read = app.get(&path, &app.admin_token).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_string();

    // Omitted secret kept; stale If-Match refused; null secret and bad fields refused at once.
    let body = json!({"name": "hook", "kind": "webhook", "url": receiver.url, "enabled": false});
    let stale = app
        .request(Method::PUT, &path, Some(&app.admin_token))
        .header("If-Match", "\"stale\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let saved = app
        .request(Method::PUT, &path, Some(&app.admin_token))
        .header("If-Match", etag)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(
        (saved["secret_set"].clone(), saved["enabled"].clone()),
        (json!(true), json!(false))
    );
    let bad = json!({"name": "", "kind": "pager", "url": "ftp://x", "secret": null,
        "event_kinds": ["nope"]});
    let fields = invalid_fields(
        app.send_json(Method::PUT, &path, &app.admin_token, &bad)
            .await,
    )
    .await;
    for field in ["name", "kind", "url", "secret", "event_kinds"] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    let twin = json!({"name": "hook", "kind": "webhook", "url": receiver.url, "secret": SECRET});
    app.admin_json(Method::POST, CHANNELS, &twin, 409).await;

    // The test message is signed like a notice.
    let tested = app
        .admin_json(Method::POST, &format!("{path}/test"), &json!({}), 200)
        .await;
    assert_eq!(tested["delivered"], true, "{tested}");
    let hit = &receiver.accepted("test")[0];
    assert!(hit.signed_with(SECRET));

    let deleted = send(&app, Method::DELETE, &path, &app.admin_token).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(&path, &app.admin_token).await.status(), 404);
}

#[actix_web::test]
async fn a_failing_connection_test_opens_a_notice_and_a_passing_one_resolves_it() {
    let app = spawn_app_with(|_| {}).await;
    let critical = Receiver::start(0);
    let runs_only = Receiver::start(0);
    create_channel(
        &app,
        "critical",
        &critical.url,
        json!({"event_kinds": ["connection_test"], "min_severity": "critical"}),
    )
    .await;
    create_channel(
        &app,
        "runs",
        &runs_only.url,
        json!({"event_kinds": ["run_outcome"]}),
    )
    .await;
    let ksc = FakeKsc::start_demo().unwrap();
    let wrong = json!({"server_url": ksc.base_url(), "user": "nobody", "password": "wrong"});
    app.admin_json(Method::PUT, "/api/v1/connections/kaspersky", &wrong, 200)
        .await;
    let test = "/api/v1/connections/kaspersky/test";
    for _ in 0..2 {
        let failed = send(&app, Method::POST, test, &app.admin_token).await;
        assert!(failed.status().is_client_error() || failed.status().is_server_error());
    }
    wait_for(&critical, "notice.opened", 1).await;
    wait_for(&critical, "notice.recurred", 1).await;
    let notice = critical.accepted("notice.opened")[0].json()["notice"].clone();
    assert_eq!(
        (notice["kind"].as_str(), notice["severity"].as_str()),
        (Some("connection_test"), Some("critical"))
    );

    app.connect_ksc(&ksc).await;
    let passed = send(&app, Method::POST, test, &app.admin_token).await;
    assert_eq!(passed.status(), 200);
    wait_for(&critical, "notice.resolved", 1).await;
    assert!(runs_only.hits().is_empty(), "a channel gets only its kinds");
}

#[actix_web::test]
async fn the_allow_list_keeps_notices_from_blocked_hosts() {
    let app = spawn_app_with(|s| s.outbound = Arc::new("10.0.0.0/8".parse().unwrap())).await;
    let receiver = Receiver::start(0);
    let channel = create_channel(&app, "blocked", &receiver.url, json!({})).await;
    let test = format!("{CHANNELS}/{}/test", channel["id"].as_str().unwrap());
    let tested = app.admin_json(Method::POST, &test, &json!({}), 200).await;
    assert_eq!(
        (tested["delivered"].clone(), tested["attempts"].clone()),
        (json!(false), json!(0))
    );
    assert!(
        tested["last_status"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{tested}"
    );

    // A KSC test that fails (the allow-list blocks it too) raises a notice nobody may receive.
    let ksc = json!({"server_url": "https://127.0.0.1:9/", "user": "u", "password": "p"});
    app.admin_json(Method::PUT, "/api/v1/connections/kaspersky", &ksc, 200)
        .await;
    let failed = send(
        &app,
        Method::POST,
        "/api/v1/connections/kaspersky/test",
        &app.admin_token,
    )
    .await;
    assert_ne!(failed.status(), 200);
    eventually(Duration::from_secs(15), "the delivery fails", || async {
        let open = notices(&app, "open").await;
        open["items"][0]["deliveries"][0]["status"] == "failed"
    })
    .await;
    eventually(Duration::from_secs(5), "the gauges show it", || async {
        let metrics = app.get_anonymous("/metrics").await.text().await.unwrap();
        metrics.contains("bridge_notification_deliveries_failed 1")
            && metrics.contains("bridge_notices_open{kind=\"connection_test\"} 1")
    })
    .await;
    assert!(receiver.hits().is_empty(), "nothing sent to a blocked host");
}

#[actix_web::test]
async fn a_run_recorded_before_a_crash_is_delivered_once_by_the_servers_after_it() {
    let w = world_with(|_| {}).await;
    let receiver = Receiver::start(0);
    create_channel(
        &w.app,
        "ops",
        &receiver.url,
        json!({"event_kinds": ["run_outcome"]}),
    )
    .await;
    // A run recorded as failed by a process killed before it could evaluate or deliver.
    w.app.with_db(|conn| {
        let now = db::now();
        let run = RunRow {
            id: db::new_id(),
            trigger_kind: Trigger::Schedule,
            status: RunStatus::Failed,
            plan_id: None,
            dry_run: false,
            started_at: now,
            finished_at: Some(now),
            holder: "killed".into(),
            summary_json: JsonText(RunSummary::default()),
            error: Some("killed".into()),
        };
        db::sync::insert_run(conn, &run).unwrap();
    });
    // The restarted server and a second one, both on the same database as the first.
    w.app.start_another().await;
    w.app.start_another().await;
    wait_for(&receiver, "notice.opened", 1).await;
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.hits().len(),
        1,
        "delivered once: {:?}",
        receiver.hits()
    );
}

#[actix_web::test]
async fn resolved_notices_are_forgotten_with_the_runs_open_ones_never() {
    use kaspersky_msp_bridge::adapters::db::notices::NoticeRow;
    use kaspersky_msp_bridge::sync::{retention, settings::Retention};
    let app = spawn_app_with(|_| {}).await;
    let pruned = app.with_db(|conn| {
        let long_ago = db::now() - chrono::Duration::days(90);
        for (key, resolved_at) in [("gone", Some(long_ago)), ("lasting", None)] {
            let notice = NoticeRow {
                id: db::new_id(),
                event_key: key.into(),
                kind: "unmapped_tenant".into(),
                severity: "warning".into(),
                title: key.into(),
                detail_json: JsonText(Default::default()),
                fingerprint: String::new(),
                occurrences: 1,
                opened_at: long_ago,
                last_seen_at: long_ago,
                resolved_at,
                acknowledged_at: None,
                acknowledged_by: None,
            };
            db::notices::insert(conn, &notice).unwrap();
        }
        let thirty_days = Retention {
            runs_days: 30,
            ..Retention::default()
        };
        retention::prune_with(conn, &thirty_days, chrono::Utc::now()).unwrap()
    });
    assert_eq!(pruned.notices, 1);
    let all = notices(&app, "all").await;
    assert_eq!(all["total"], 1, "{all}");
    assert_eq!(all["items"][0]["key"], "lasting");
}

#[actix_web::test]
async fn an_unmapped_tenant_and_a_vanished_product_are_noticed_until_fixed() {
    use diesel::{ExpressionMethods, RunQueryDsl};
    use kaspersky_msp_bridge::adapters::db::schema::cw_products;
    let w = world_with(|_| {}).await;
    let app = &w.app;
    let receiver = Receiver::start(0);
    let only = json!({"event_kinds": ["unmapped_tenant", "inactive_product"]});
    create_channel(app, "catalog", &receiver.url, only).await;
    let globex = app.create_tenant("Globex", "bh-globex").await;
    // The catalog refresh of another process found the mapped product gone.
    app.with_db(|conn| {
        diesel::update(cw_products::table)
            .set(cw_products::vanished.eq(true))
            .execute(conn)
            .unwrap()
    });
    w.push_users(2).await;
    w.sync(None).await;
    wait_for(&receiver, "notice.opened", 2).await;
    let opened: Vec<Value> = receiver
        .accepted("notice.opened")
        .iter()
        .map(|h| h.json()["notice"].clone())
        .collect();
    let tenant = opened
        .iter()
        .find(|n| n["kind"] == "unmapped_tenant")
        .unwrap();
    assert_eq!(tenant["tenants"], json!(["Globex"]));
    assert_eq!(tenant["link"], format!("/#/companies?tenant={globex}"));
    let product = opened
        .iter()
        .find(|n| n["kind"] == "inactive_product")
        .unwrap();
    assert!(product["title"]
        .as_str()
        .unwrap()
        .contains("no longer in the catalog"));

    // The catalog read again (the product is there) resolves the product's notice.
    app.refresh_catalog().await;
    wait_for(&receiver, "notice.resolved", 1).await;
    let resolved = receiver.accepted("notice.resolved")[0].json();
    assert_eq!(resolved["notice"]["kind"], "inactive_product");
    assert_eq!(
        notices(app, "open").await["items"][0]["kind"],
        "unmapped_tenant"
    );
}
