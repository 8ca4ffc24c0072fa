//! The Companies tab: tenant ↔ ConnectWise company and agreement, checked against the fake ConnectWise.

use kaspersky_msp_bridge::adapters::connectwise::{Agreement, Company, Reference};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeConnectWise;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

struct World {
    app: TestApp,
    _fake: FakeConnectWise,
    acme: i64,
    acme_main: i64,
    acme_second: i64,
    acme_cancelled: i64,
    globex: i64,
    globex_main: i64,
    t1: String,
    t2: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let fake = FakeConnectWise::start(Default::default()).unwrap();
    let company = |name: &str| Company {
        identifier: Some(name.replace(' ', "")),
        name: Some(name.into()),
        ..Default::default()
    };
    let agreement = |company: i64, name: &str, status: &str| Agreement {
        name: Some(name.into()),
        company: Some(Reference::id(company)),
        agreement_status: Some(status.into()),
        cancelled_flag: Some(status == "Cancelled"),
        ..Default::default()
    };
    let acme = fake.add_company(&company("Acme Corp"));
    let globex = fake.add_company(&company("Globex"));
    let acme_main = fake.add_agreement(&agreement(acme, "Managed security", "Active"));
    let acme_second = fake.add_agreement(&agreement(acme, "Endpoint 2027", "Active"));
    let acme_cancelled = fake.add_agreement(&agreement(acme, "Old", "Cancelled"));
    let globex_main = fake.add_agreement(&agreement(globex, "Security", "Active"));
    app.connect_connectwise(&fake).await;
    let t1 = app.create_tenant("Tenant One", "Tenant One").await;
    let t2 = app.create_tenant("Tenant Two", "Tenant Two").await;
    World {
        app,
        _fake: fake,
        acme,
        acme_main,
        acme_second,
        acme_cancelled,
        globex,
        globex_main,
        t1,
        t2,
    }
}

async fn create(w: &World, body: Value) -> reqwest::Response {
    w.app
        .send_json(
            Method::POST,
            "/api/v1/company-mappings",
            &w.app.admin_token,
            &body,
        )
        .await
}

#[actix_web::test]
async fn a_tenant_is_mapped_to_an_active_agreement_of_its_company() {
    let w = world().await;
    let created = create(
        &w,
        json!({"tenant_id": w.t1, "cw_company_id": w.acme, "agreement_id": w.acme_main}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let etag = created.headers()["etag"].to_str().unwrap().to_string();
    let mapping: Value = created.json().await.unwrap();
    assert_eq!(mapping["cw_company_name"], "Acme Corp");
    assert_eq!(mapping["agreement_name"], "Managed security");
    assert_eq!(mapping["billing_enabled"], true);
    assert_eq!(mapping["tenant"]["name"], "Tenant One");

    let tenant: Value = w
        .app
        .get(&format!("/api/v1/tenants/{}", w.t1), &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["mapping_status"], "mapped");
    assert_eq!(tenant["company_mapping_id"], mapping["id"]);

    // Move it to another agreement, with If-Match; a stale ETag afterwards is refused.
    let moved = w.app.request(Method::PUT, &location, Some(&w.app.admin_token))
        .header("If-Match", &etag)
        .json(&json!({"tenant_id": w.t1, "cw_company_id": w.acme, "agreement_id": w.acme_second, "billing_enabled": false}))
        .send().await.unwrap();
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(
        (
            moved["agreement_id"].as_i64(),
            moved["billing_enabled"].as_bool()
        ),
        (Some(w.acme_second), Some(false))
    );
    let stale = w
        .app
        .request(Method::PUT, &location, Some(&w.app.admin_token))
        .header("If-Match", &etag)
        .json(&json!({"tenant_id": w.t1, "cw_company_id": w.acme, "agreement_id": w.acme_main}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412).await;
    let tenants: Value = w
        .app
        .get("/api/v1/tenants", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tenants["items"][0]["mapping_status"], "billing_disabled");
    assert_eq!(tenants["items"][1]["mapping_status"], "unmapped");

    let deleted = w
        .app
        .request(Method::DELETE, &location, Some(&w.app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(w.app.get(&location, &w.app.admin_token).await, 404).await;
    let tenant: Value = w
        .app
        .get(&format!("/api/v1/tenants/{}", w.t1), &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["mapping_status"], "unmapped");

    let audit: Value = w
        .app
        .get(
            "/api/v1/audit-events?entity_type=company_mapping",
            &w.app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
}

#[actix_web::test]
async fn mappings_are_one_to_one_both_ways() {
    let w = world().await;
    assert_eq!(
        create(
            &w,
            json!({"tenant_id": w.t1, "cw_company_id": w.acme, "agreement_id": w.acme_main})
        )
        .await
        .status(),
        201
    );
    let same_tenant = create(
        &w,
        json!({"tenant_id": w.t1, "cw_company_id": w.globex, "agreement_id": w.globex_main}),
    )
    .await;
    assert_problem(same_tenant, 409).await;
    let same_company = create(
        &w,
        json!({"tenant_id": w.t2, "cw_company_id": w.acme, "agreement_id": w.acme_second}),
    )
    .await;
    assert_problem(same_company, 409).await;
    assert_eq!(
        create(
            &w,
            json!({"tenant_id": w.t2, "cw_company_id": w.globex, "agreement_id": w.globex_main})
        )
        .await
        .status(),
        201
    );
    let list: Value = w
        .app
        .get("/api/v1/company-mappings", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
}

#[actix_web::test]
async fn the_agreement_is_checked_in_connectwise() {
    let w = world().await;
    let cases = [
        (
            json!({"tenant_id": w.t1, "cw_company_id": w.globex, "agreement_id": w.acme_main}),
            vec!["agreement_id"],
        ),
        (
            json!({"tenant_id": w.t1, "cw_company_id": w.acme, "agreement_id": w.acme_cancelled}),
            vec!["agreement_id"],
        ),
        (
            json!({"tenant_id": w.t1, "cw_company_id": 999_999, "agreement_id": w.acme_main}),
            vec!["cw_company_id"],
        ),
        (
            json!({"tenant_id": "nope", "cw_company_id": w.acme, "agreement_id": w.acme_cancelled}),
            vec!["tenant_id", "agreement_id"],
        ),
        (
            json!({"cw_company_id": -1, "agreement_id": "x", "colour": 1}),
            vec!["tenant_id", "cw_company_id", "agreement_id", "colour"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(create(&w, body.clone()).await, 422).await;
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(got, fields, "{body}");
    }
    let list: Value = w
        .app
        .get("/api/v1/company-mappings", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was saved");
}

#[actix_web::test]
async fn viewers_read_and_connectwise_must_be_configured() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("val", "viewer").await;
    let body = json!({"tenant_id": "t", "cw_company_id": 1, "agreement_id": 2});
    assert_problem(
        app.send_json(Method::POST, "/api/v1/company-mappings", &viewer, &body)
            .await,
        403,
    )
    .await;
    assert_eq!(
        app.get("/api/v1/company-mappings", &viewer).await.status(),
        200
    );
    assert_problem(
        app.send_json(
            Method::POST,
            "/api/v1/company-mappings",
            &app.admin_token,
            &body,
        )
        .await,
        409,
    )
    .await;
}
