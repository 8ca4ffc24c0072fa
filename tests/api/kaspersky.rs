//! The Kaspersky Security Center connection, against the fake KSC over real HTTP(S).

use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{FakeKsc, DEMO_PASSWORD, DEMO_USER};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_in_our_words, assert_problem, spawn_app, spawn_app_with, TestApp};

async fn put_connection(app: &TestApp, body: &Value) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "/api/v1/connections/kaspersky",
        &app.admin_token,
        body,
    )
    .await
}

async fn test_connection(app: &TestApp) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/v1/connections/kaspersky/test",
        Some(&app.admin_token),
    )
    .send()
    .await
    .unwrap()
}

#[actix_web::test]
async fn the_kaspersky_connection_keeps_its_password_write_only() {
    let app = spawn_app().await;
    let fake = FakeKsc::start_demo().unwrap();
    assert_problem(
        app.get("/api/v1/connections/kaspersky", &app.admin_token)
            .await,
        404,
    )
    .await;
    assert_problem(test_connection(&app).await, 409).await;

    let saved = put_connection(
        &app,
        &json!({"server_url": fake.base_url(), "user": DEMO_USER, "password": DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let body: Value = saved.json().await.unwrap();
    assert_eq!(body["password_set"], true);
    assert_eq!(body["insecure_skip_tls_verify"], false);
    assert_eq!(body["internal_user"], true);
    assert!(!body.to_string().contains(DEMO_PASSWORD));

    let ok: Value = test_connection(&app).await.json().await.unwrap();
    assert!(ok["virtual_servers"].as_u64().unwrap() >= 3);

    let read = app
        .get("/api/v1/connections/kaspersky", &app.admin_token)
        .await;
    let etag = read.headers()["etag"].to_str().unwrap().to_string();
    assert!(!read.text().await.unwrap().contains(DEMO_PASSWORD));
    let wrong = app
        .request(Method::PUT, "/api/v1/connections/kaspersky", Some(&app.admin_token))
        .header("If-Match", &etag)
        .json(&json!({"server_url": fake.base_url(), "user": DEMO_USER, "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 200);
    let problem = assert_problem(test_connection(&app).await, 502).await;
    assert_eq!(problem["type"], "/problems/ksc-bad-credentials");
    let stale = app
        .request(
            Method::PUT,
            "/api/v1/connections/kaspersky",
            Some(&app.admin_token),
        )
        .header("If-Match", &etag)
        .json(&json!({"server_url": fake.base_url(), "user": DEMO_USER}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412).await;

    let audit = app
        .get("/api/v1/audit-events?entity_id=kaspersky", &app.admin_token)
        .await
        .text()
        .await
        .unwrap();
    assert!(!audit.contains(DEMO_PASSWORD) && !audit.contains("wrong password"));
}

#[actix_web::test]
async fn tls_is_verified_unless_explicitly_turned_off() {
    let app = spawn_app().await;
    let fake = FakeKsc::start_demo().unwrap();
    let base =
        json!({"server_url": fake.https_url(), "user": DEMO_USER, "password": DEMO_PASSWORD});
    put_connection(&app, &base).await;
    let problem = assert_problem(test_connection(&app).await, 502).await;
    assert_eq!(problem["type"], "/problems/ksc-tls");
    assert_in_our_words(&problem);

    let mut with_ca = base.clone();
    with_ca["ca_certificate_pem"] = json!(fake.ca_pem());
    put_connection(&app, &with_ca).await;
    assert_eq!(test_connection(&app).await.status(), 200);

    let mut insecure = base.clone();
    insecure["insecure_skip_tls_verify"] = json!(true);
    let shown: Value = put_connection(&app, &insecure).await.json().await.unwrap();
    assert_eq!(shown["insecure_skip_tls_verify"], true);
    assert_eq!(test_connection(&app).await.status(), 200);
}

#[actix_web::test]
async fn unreachable_servers_and_bad_settings() {
    let app = spawn_app().await;
    put_connection(
        &app,
        &json!({"server_url": "http://127.0.0.1:1", "user": "u", "password": "p"}),
    )
    .await;
    let problem = assert_problem(test_connection(&app).await, 502).await;
    assert_eq!(problem["type"], "/problems/ksc-unreachable");
    assert_in_our_words(&problem);

    let bad = put_connection(&app, &json!({"server_url": "ftp://x", "user": "", "max_concurrency": 99, "ca_certificate_pem": "x"})).await;
    let body = assert_problem(bad, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 4);

    let defaults: Value = put_connection(
        &app,
        &json!({"server_url": "ksc.example.com", "user": "u", "password": "p"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(defaults["server_url"], "https://ksc.example.com:13299");
    let same_address: Value = put_connection(
        &app,
        &json!({"server_url": "https://ksc.example.com:13299/", "user": "u2"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            same_address["user"].as_str(),
            same_address["password_set"].as_bool()
        ),
        (Some("u2"), Some(true)),
        "an omitted password keeps the stored one"
    );
}

#[actix_web::test]
async fn a_stored_password_never_follows_the_server_to_another_address() {
    let app = spawn_app().await;
    let fake = FakeKsc::start_demo().unwrap();
    let elsewhere = FakeKsc::start_demo().unwrap();
    app.connect_ksc(&fake).await;
    let port = elsewhere.base_url();
    let host = fake.base_url().replace("127.0.0.1", "localhost");
    let scheme = fake.base_url().replace("http://", "https://");
    let moves = [port, host, scheme].map(|url| json!({"server_url": url, "user": DEMO_USER}));
    // The same address with its certificate no longer checked: anyone in between could answer.
    let unchecked = json!({"server_url": fake.base_url(), "user": DEMO_USER,
        "insecure_skip_tls_verify": true});
    for moved in moves.into_iter().chain([unchecked]) {
        let refused = assert_problem(put_connection(&app, &moved).await, 422).await;
        assert_eq!(refused["errors"][0]["field"], "password", "{moved}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("re-enter the password for the new address"),
            "{message}"
        );
    }
    assert_eq!(test_connection(&app).await.status(), 200);
    assert_eq!(
        elsewhere.calls("login"),
        0,
        "the password went nowhere else"
    );

    let moved =
        json!({"server_url": elsewhere.base_url(), "user": DEMO_USER, "password": DEMO_PASSWORD});
    assert_eq!(put_connection(&app, &moved).await.status(), 200);
    assert_eq!(test_connection(&app).await.status(), 200);
    assert!(elsewhere.calls("login") > 0);
}

#[actix_web::test]
async fn a_host_name_the_allow_list_blocks_is_reported_as_blocked() {
    let app =
        spawn_app_with(|s| s.outbound = std::sync::Arc::new("10.99.0.0/16".parse().unwrap())).await;
    let fake = FakeKsc::start_demo().unwrap();
    // A name, not an IP literal: only the resolver sees where it goes, and refuses it.
    let by_name = fake.base_url().replace("127.0.0.1", "localhost");
    let body = json!({"server_url": by_name, "user": DEMO_USER, "password": DEMO_PASSWORD});
    assert_eq!(put_connection(&app, &body).await.status(), 200);
    let problem = assert_problem(test_connection(&app).await, 502).await;
    assert_eq!(problem["type"], "/problems/outbound-blocked");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("BRIDGE_OUTBOUND_ALLOW"));
    assert_in_our_words(&problem);
    assert_eq!(fake.calls("login"), 0);
}
