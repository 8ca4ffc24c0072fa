//! Tenants: KSC discovery against the fake KSC, Business Hub tenants through the API.

use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    FakeKsc, FakeKscData, FakeKscOptions, FakeTenant, DEMO_PASSWORD, DEMO_USER,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

fn fake_with(vservers: &[(i64, &str, bool)]) -> FakeKsc {
    let data = vservers.iter().fold(
        FakeKscData::new(DEMO_USER, DEMO_PASSWORD),
        |d, (id, name, enabled)| d.vserver(*id, name, *enabled, FakeTenant::default()),
    );
    FakeKsc::start(FakeKscOptions::new(data)).unwrap()
}

#[actix_web::test]
async fn ksc_virtual_servers_are_discovered_and_kept_when_they_vanish() {
    let app = spawn_app().await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    assert_problem(app.refresh_tenants(&operator).await, 409).await;

    let first = fake_with(&[
        (10, "Contoso", true),
        (11, "Fabrikam", true),
        (13, "Northwind", false),
    ]);
    app.connect_ksc(&first).await;
    let found: Value = app.refresh_tenants(&operator).await.json().await.unwrap();
    assert_eq!(
        found,
        json!({"total": 3, "added": 3, "updated": 0, "vanished": 0})
    );
    let again: Value = app.refresh_tenants(&operator).await.json().await.unwrap();
    assert_eq!(
        again,
        json!({"total": 3, "added": 0, "updated": 0, "vanished": 0})
    );

    let list: Value = app
        .get("/api/v1/tenants?solution=ksc", &operator)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Contoso", "Fabrikam", "Northwind"]);
    assert_eq!(list["items"][2]["enabled"], false);
    assert_eq!(
        list["items"][0]["external_id"],
        "00000000-0000-4000-8000-000000000010"
    );

    // Fabrikam is gone and Contoso renamed: kept and marked, renamed in place.
    let second = fake_with(&[(10, "Contoso Ltd", true), (13, "Northwind", false)]);
    app.connect_ksc(&second).await;
    let changed: Value = app.refresh_tenants(&operator).await.json().await.unwrap();
    assert_eq!(
        changed,
        json!({"total": 2, "added": 0, "updated": 1, "vanished": 1})
    );
    let list: Value = app
        .get("/api/v1/tenants", &operator)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 3);
    let fabrikam = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Fabrikam")
        .unwrap();
    assert_eq!(fabrikam["vanished"], true);
    let one: Value = app
        .get(
            &format!("/api/v1/tenants/{}", fabrikam["id"].as_str().unwrap()),
            &operator,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&one, fabrikam);
}

#[actix_web::test]
async fn business_hub_tenants_are_created_through_the_api() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let create = |token: &str, body: Value| {
        let request = app
            .request(Method::POST, "/api/v1/tenants", Some(token))
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    assert_problem(
        create(&viewer, json!({"name": "Acme", "external_id": "bh-1"})).await,
        403,
    )
    .await;

    let created = create(
        &app.admin_token,
        json!({"name": "Acme", "external_id": "bh-1"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let tenant: Value = created.json().await.unwrap();
    assert_eq!(
        (tenant["solution"].as_str(), tenant["enabled"].as_bool()),
        (Some("business_hub"), Some(true))
    );
    let read: Value = app.get(&location, &viewer).await.json().await.unwrap();
    assert_eq!(read, tenant);

    assert_problem(
        create(
            &app.admin_token,
            json!({"name": "Acme again", "external_id": "bh-1"}),
        )
        .await,
        409,
    )
    .await;
    let invalid = assert_problem(
        create(&app.admin_token, json!({"name": "", "colour": 1})).await,
        422,
    )
    .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 3);
    assert_problem(app.get("/api/v1/tenants/nope", &viewer).await, 404).await;
    assert_problem(
        app.get("/api/v1/tenants?solution=other", &viewer).await,
        400,
    )
    .await;

    let audit: Value = app
        .get("/api/v1/audit-events?entity_type=tenant", &viewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1);
}
