//! The ConnectWise connection and look-ups, against the fake ConnectWise over real HTTP.

use kaspersky_msp_bridge::domain::money::Money;
use std::time::Duration;

use kaspersky_msp_bridge::adapters::connectwise::{Agreement, CatalogItem, Company, Reference};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    assert_in_our_words, assert_problem, spawn_app, spawn_app_with, CatalogProduct, TestApp,
};

fn connection(fake: &FakeConnectWise, site: &str) -> Value {
    let o = fake.options();
    json!({
        "site_url": site,
        "company_id": o.company_id,
        "public_key": o.public_key,
        "private_key": o.private_key,
        "client_id": o.client_id,
        "request_timeout_seconds": 5,
    })
}

async fn put_connection(app: &TestApp, body: &Value) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "/api/v1/connections/connectwise",
        &app.admin_token,
        body,
    )
    .await
}

async fn configured(app: &TestApp, fake: &FakeConnectWise) {
    let response = put_connection(app, &connection(fake, &fake.base_url())).await;
    assert_eq!(response.status(), 200);
}

async fn test_connection(app: &TestApp) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/v1/connections/connectwise/test",
        Some(&app.admin_token),
    )
    .send()
    .await
    .unwrap()
}

#[actix_web::test]
async fn the_connection_keeps_its_private_key_write_only() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    assert_problem(
        app.get("/api/v1/connections/connectwise", &app.admin_token)
            .await,
        404,
    )
    .await;

    let saved = put_connection(&app, &connection(&fake, &fake.base_url())).await;
    assert_eq!(saved.status(), 200);
    let etag = saved.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = saved.json().await.unwrap();
    assert_eq!(body["private_key_set"], true);
    assert_eq!(body["api_version"], "2025.1");
    assert_eq!(body["max_concurrency"], 4);
    let secret = fake.options().private_key.clone();
    assert!(!body.to_string().contains(&secret));

    let read = app
        .get("/api/v1/connections/connectwise", &app.admin_token)
        .await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert!(!read.text().await.unwrap().contains(&secret));

    // Omitting the key keeps it; a stale If-Match changes nothing.
    let mut without_key = connection(&fake, &fake.base_url());
    without_key.as_object_mut().unwrap().remove("private_key");
    without_key["max_concurrency"] = json!(2);
    let kept = app
        .request(
            Method::PUT,
            "/api/v1/connections/connectwise",
            Some(&app.admin_token),
        )
        .header("If-Match", &etag)
        .json(&without_key)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 200);
    let kept: Value = kept.json().await.unwrap();
    assert_eq!(
        (
            kept["private_key_set"].as_bool(),
            kept["max_concurrency"].as_u64()
        ),
        (Some(true), Some(2))
    );
    let mut clear_key = without_key.clone();
    clear_key["private_key"] = Value::Null;
    let stale = app
        .request(
            Method::PUT,
            "/api/v1/connections/connectwise",
            Some(&app.admin_token),
        )
        .header("If-Match", &etag)
        .json(&clear_key)
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412).await;
    assert_eq!(
        test_connection(&app).await.status(),
        200,
        "the key is still there"
    );

    // An explicit null clears it.
    let cleared: Value = put_connection(&app, &clear_key).await.json().await.unwrap();
    assert_eq!(cleared["private_key_set"], false);
    assert_problem(test_connection(&app).await, 409).await;

    let audit = app
        .get(
            "/api/v1/audit-events?entity_type=connection",
            &app.admin_token,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!audit.contains(&secret), "no secret in the audit trail");
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["total"], 3);
    assert_eq!(audit["items"][0]["after"]["private_key_set"], false);
    assert_eq!(audit["items"][0]["before"]["private_key_set"], true);
}

#[actix_web::test]
async fn a_stored_private_key_never_follows_the_site_to_another_address() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    let elsewhere = FakeConnectWise::start(Default::default()).unwrap();
    configured(&app, &fake).await;

    // Another port, another host name, another scheme: each one needs the key again.
    let port = elsewhere.base_url();
    let host = fake.base_url().replace("127.0.0.1", "localhost");
    let scheme = fake.base_url().replace("http://", "https://");
    for moved in [port, host, scheme] {
        let mut without_key = connection(&fake, &moved);
        without_key.as_object_mut().unwrap().remove("private_key");
        let refused = assert_problem(put_connection(&app, &without_key).await, 422).await;
        assert_eq!(refused["errors"][0]["field"], "private_key", "{moved}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("re-enter the private key for the new address"),
            "{message}"
        );
    }
    let kept: Value = app
        .get("/api/v1/connections/connectwise", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["site_url"], fake.base_url(), "nothing was saved");
    assert_eq!(test_connection(&app).await.status(), 200);
    assert_eq!(elsewhere.calls("GET", route::COMPANY_INFO), 0);
    assert_eq!(elsewhere.calls("GET", route::SYSTEM_INFO), 0);

    // The same origin written differently keeps the key; a key given with the new address is used.
    let mut same = connection(&fake, &format!("{}/", fake.base_url()));
    same.as_object_mut().unwrap().remove("private_key");
    let same: Value = put_connection(&app, &same).await.json().await.unwrap();
    assert_eq!(same["private_key_set"], true);
    let moved = put_connection(&app, &connection(&elsewhere, &elsewhere.base_url())).await;
    assert_eq!(moved.status(), 200);
    assert_eq!(test_connection(&app).await.status(), 200);
    assert_eq!(elsewhere.calls("GET", route::SYSTEM_INFO), 1);
}

#[actix_web::test]
async fn invalid_connection_settings_are_all_listed() {
    let app = spawn_app().await;
    let response = put_connection(
        &app,
        &json!({"site_url": "ftp://x/y", "company_id": "", "public_key": "p", "client_id": "nope",
            "api_version": "latest", "max_concurrency": 0, "ca_certificate_pem": "garbage", "extra": 1}),
    )
    .await;
    let body = assert_problem(response, 422).await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "api_version",
            "ca_certificate_pem",
            "client_id",
            "company_id",
            "extra",
            "max_concurrency",
            "site_url"
        ]
    );
    assert_problem(
        app.get("/api/v1/connections/connectwise", &app.admin_token)
            .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn the_connection_test_reports_success_and_each_failure() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    assert_problem(test_connection(&app).await, 409).await;

    configured(&app, &fake).await;
    let ok: Value = test_connection(&app).await.json().await.unwrap();
    assert_eq!(ok["version"], fake.options().version);
    assert!(ok["api_base"]
        .as_str()
        .unwrap()
        .ends_with("/v4_6_release/apis/3.0/"));

    let cases = [
        (
            json!({"private_key": "wrong"}),
            502,
            "/problems/connectwise-unauthorized",
        ),
        (
            json!({"client_id": "2b9d6f3e-0000-4000-8000-0000000000ff"}),
            502,
            "/problems/connectwise-forbidden",
        ),
        (
            json!({"site_url": "http://127.0.0.1:1"}),
            502,
            "/problems/connectwise-unreachable",
        ),
        (
            json!({"site_url": fake.https_url()}),
            502,
            "/problems/connectwise-tls",
        ),
    ];
    for (change, status, problem_type) in cases {
        let mut body = connection(&fake, &fake.base_url());
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_eq!(put_connection(&app, &body).await.status(), 200);
        let problem = assert_problem(test_connection(&app).await, status).await;
        assert_eq!(problem["type"], problem_type, "{change}");
        assert_in_our_words(&problem);
    }

    // With the CA of a private PKI, HTTPS works.
    let mut https = connection(&fake, &fake.https_url());
    https["ca_certificate_pem"] = json!(fake.ca_pem());
    put_connection(&app, &https).await;
    assert_eq!(test_connection(&app).await.status(), 200);

    // A slow ConnectWise times out.
    let mut slow = connection(&fake, &fake.base_url());
    slow["request_timeout_seconds"] = json!(1);
    put_connection(&app, &slow).await;
    fake.set_latency(Duration::from_millis(2500));
    let problem = assert_problem(test_connection(&app).await, 504).await;
    assert_eq!(problem["type"], "/problems/connectwise-timeout");
}

#[actix_web::test]
async fn outbound_calls_go_only_where_allowed() {
    let app =
        spawn_app_with(|s| s.outbound = std::sync::Arc::new("10.99.0.0/16".parse().unwrap())).await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    configured(&app, &fake).await;
    let problem = assert_problem(test_connection(&app).await, 502).await;
    assert_eq!(problem["type"], "/problems/outbound-blocked");
    for route in [route::COMPANY_INFO, route::SYSTEM_INFO] {
        assert_eq!(fake.calls("GET", route), 0);
    }
}

#[actix_web::test]
async fn look_ups_need_a_configured_connection() {
    let app = spawn_app().await;
    let refresh = app
        .request(
            Method::POST,
            "/api/v1/connectwise/products/refresh",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    let body = assert_problem(refresh, 409).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("PUT /api/v1/connections/connectwise"));
    assert_problem(
        app.get("/api/v1/connectwise/companies", &app.admin_token)
            .await,
        409,
    )
    .await;
}

#[actix_web::test]
async fn the_catalog_cache_is_refreshed_completely_and_idempotently() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    for i in 0..1_234 {
        fake.add_catalog_item(&CatalogItem {
            identifier: Some(format!("ITEM-{i:04}")),
            description: Some(format!("Catalog item {i}")),
            price: Money::parse("1.50"),
            inactive_flag: Some(i == 7),
            ..Default::default()
        });
    }
    configured(&app, &fake).await;
    let refresh = || async {
        let r = app
            .request(
                Method::POST,
                "/api/v1/connectwise/products/refresh",
                Some(&app.admin_token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    let first = refresh().await;
    assert_eq!(
        (first["total"].as_u64(), first["added"].as_u64()),
        (Some(1234), Some(1234))
    );
    let second = refresh().await;
    assert_eq!(
        (
            second["added"].as_u64(),
            second["updated"].as_u64(),
            second["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(1234))
    );

    let active: Value = app
        .get("/api/v1/connectwise/products?per_page=10", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["total"], 1233);
    let all: Value = app
        .get(
            "/api/v1/connectwise/products?include_inactive=true&search=item-000",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 10);
    assert_eq!(all["items"][7]["inactive"], true);
    assert_eq!(all["items"][0]["identifier"], "ITEM-0000");
}

#[actix_web::test]
async fn products_that_left_the_catalog_are_marked_vanished() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    fake.add_catalog_item(&CatalogItem {
        identifier: Some("KEEP".into()),
        description: Some("kept".into()),
        ..Default::default()
    });
    configured(&app, &fake).await;
    app.seed_cw_products(&[CatalogProduct {
        id: 999_999,
        identifier: "GONE",
        inactive: false,
    }]);
    let result: Value = app
        .request(
            Method::POST,
            "/api/v1/connectwise/products/refresh",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (result["added"].as_u64(), result["vanished"].as_u64()),
        (Some(1), Some(1))
    );
    let listed: Value = app
        .get(
            "/api/v1/connectwise/products?include_inactive=true&search=gone",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["vanished"], true);
    let default: Value = app
        .get("/api/v1/connectwise/products?search=gone", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["total"], 0);
}

#[actix_web::test]
async fn companies_and_agreements_are_looked_up_live() {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    let smith = fake.add_company(&Company {
        identifier: Some("SmithSons".into()),
        name: Some("Smith & \"Sons\"".into()),
        ..Default::default()
    });
    fake.add_company(&Company {
        identifier: Some("Other".into()),
        name: Some("Other Ltd".into()),
        ..Default::default()
    });
    let active = fake.add_agreement(&Agreement {
        name: Some("Security".into()),
        company: Some(Reference::id(smith)),
        agreement_status: Some("Active".into()),
        ..Default::default()
    });
    let cancelled = fake.add_agreement(&Agreement {
        name: Some("Old".into()),
        company: Some(Reference::id(smith)),
        agreement_status: Some("Cancelled".into()),
        cancelled_flag: Some(true),
        ..Default::default()
    });
    configured(&app, &fake).await;
    let (_, viewer) = app.user_with_role("viv", "viewer").await;

    let found: Value = app
        .get(
            "/api/v1/connectwise/companies?search=%26%20%22Sons",
            &viewer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], smith);

    let agreements: Value = app
        .get(
            &format!("/api/v1/connectwise/companies/{smith}/agreements"),
            &viewer,
        )
        .await
        .json()
        .await
        .unwrap();
    let by_id = |id: i64| {
        agreements["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(active)["accepts_additions"], true);
    assert_eq!(by_id(cancelled)["accepts_additions"], false);

    // Viewers read look-ups but neither refresh the catalog nor see the connection.
    let refresh = app
        .request(
            Method::POST,
            "/api/v1/connectwise/products/refresh",
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_problem(refresh, 403).await;
    assert_problem(
        app.get("/api/v1/connections/connectwise", &viewer).await,
        403,
    )
    .await;
}

#[actix_web::test]
async fn a_different_encryption_key_is_refused_at_start() {
    let app = spawn_app().await;
    let mut other = app.settings.clone();
    other.encryption_key = Some("ab".repeat(32));
    other.bind = "127.0.0.1:0".parse().unwrap();
    let err = kaspersky_msp_bridge::web::startup::Application::build(other)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("encryption key"), "{err}");
}

#[actix_web::test]
async fn products_are_read_by_id_and_an_exact_identifier_comes_first() {
    let app = spawn_app().await;
    let seeded = [
        (101, "AB-KES-WS", false),
        (102, "KES-WS", false),
        (103, "KES-WS-PLUS", false),
        (104, "OLD-1", true),
    ];
    app.seed_cw_products(&seeded.map(|(id, identifier, inactive)| CatalogProduct {
        id,
        identifier,
        inactive,
    }));
    let identifiers = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["identifier"].as_str().unwrap().to_string())
            .collect()
    };
    let get = |path: &'static str| {
        let app = &app;
        async move {
            let r = app.get(path, &app.admin_token).await;
            assert_eq!(r.status(), 200, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };

    // The identifier typed comes first, then the others by identifier.
    let found = get("/api/v1/connectwise/products?search=kes-ws").await;
    assert_eq!(identifiers(&found), ["KES-WS", "AB-KES-WS", "KES-WS-PLUS"]);

    // By id, whatever the state (names for ids a screen holds), and only those.
    let named = get("/api/v1/connectwise/products?ids=104,%20102").await;
    assert_eq!(identifiers(&named), ["KES-WS", "OLD-1"]);
    assert_eq!(named["total"], 2);
    for bad in ["x", "1,,2", "0", "-3"] {
        let problem = assert_problem(
            app.get(
                &format!("/api/v1/connectwise/products?ids={bad}"),
                &app.admin_token,
            )
            .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "ids", "{bad}");
    }
    let too_many = (1..=501)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert_problem(
        app.get(
            &format!("/api/v1/connectwise/products?ids={too_many}"),
            &app.admin_token,
        )
        .await,
        422,
    )
    .await;
}
