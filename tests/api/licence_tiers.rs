//! Licence tiers on an installation that was in use before they existed (DOMAIN.md §6
//! "Application identity"): it keeps billing exactly as before on upgrade, and an admin opts in
//! with one call, which the next preview shows as a move.

use kaspersky_msp_bridge::adapters::connectwise::{CatalogItem, Company};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeConnectWise;
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    FakeKey, FakeKsc, FakeKscData, FakeKscOptions, FakeTenant, DEMO_PASSWORD, DEMO_USER,
};
use kaspersky_msp_bridge::domain::money::Money;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{active_agreement, assert_problem, spawn_app_upgraded, TestApp};

const TIERS_MIGRATION: &str = "2026-12-06-000014_licence_tiers";
const BILLING: &str = "/api/v1/settings/billing";

/// Two hosts on Endpoint Security for Windows keys, three on Select keys (one with a SKU).
fn tenant() -> FakeTenant {
    let mut tenant = FakeTenant::default();
    for host in ["w-1", "w-2", "s-1", "s-2", "s-3"] {
        tenant = tenant.host(host, host, "Microsoft Windows 11 Pro", 0x1003);
    }
    tenant
        .key(
            FakeKey::new("KES", "Kaspersky Endpoint Security 12.1 for Windows", 0, 1)
                .current_on(&["w-1", "w-2"]),
        )
        .key(
            FakeKey::new(
                "SELECT",
                "Kaspersky Endpoint Security for Business - Select",
                0,
                6,
            )
            .limit(None)
            .current_on(&["s-1", "s-2"]),
        )
        .key(
            FakeKey::new("SELECT-SKU", "Kaspersky Endpoint Security", 0, 1)
                .part_number("KL4863XAKFS")
                .current_on(&["s-3"]),
        )
}

async fn billing(app: &TestApp) -> (String, Value) {
    let response = app.get(BILLING, &app.admin_token).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    (etag, response.json().await.unwrap())
}

async fn put_billing(app: &TestApp, body: Value) -> reqwest::Response {
    let (etag, _) = billing(app).await;
    app.request(Method::PUT, BILLING, Some(&app.admin_token))
        .header("If-Match", etag)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_upgraded_installation_keeps_billing_until_it_opts_in_and_then_sees_a_move() {
    let cw = FakeConnectWise::start(Default::default()).unwrap();
    let product = |identifier: &str| {
        cw.add_catalog_item(&CatalogItem {
            identifier: Some(identifier.into()),
            description: Some(format!("{identifier} per device")),
            price: Money::parse("5.00"),
            ..Default::default()
        })
    };
    let (kes, select) = (product("KES"), product("KESB-SELECT"));
    // Before the upgrade: Endpoint Security for Windows mapped (its rules then took Select keys).
    let mapped = format!(
        "INSERT INTO product_mappings (application_id, product_id, updated_at) \
         VALUES ('kes-windows', {kes}, CURRENT_TIMESTAMP)"
    );
    let app = spawn_app_upgraded(TIERS_MIGRATION, &[&mapped]).await;
    let (_, settings) = billing(&app).await;
    assert_eq!(settings["bill_licence_tiers"], false, "kept as before");
    let tier = app
        .admin_json(
            Method::GET,
            "/api/v1/security-applications/kesb-select",
            &Value::Null,
            200,
        )
        .await;
    assert_eq!(tier["folds_into"], "kes-windows");

    app.connect_connectwise(&cw).await;
    app.refresh_catalog().await;
    let ksc = FakeKsc::start(FakeKscOptions::new(
        FakeKscData::new(DEMO_USER, DEMO_PASSWORD).vserver(10, "Contoso", true, tenant()),
    ))
    .unwrap();
    app.connect_ksc(&ksc).await;
    assert_eq!(app.refresh_tenants(&app.admin_token).await.status(), 200);
    let tenants: Value = app
        .get("/api/v1/tenants?solution=ksc", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let company = cw.add_company(&Company {
        identifier: Some("Contoso".into()),
        name: Some("Contoso Ltd".into()),
        ..Default::default()
    });
    let agreement = active_agreement(&cw, company, "Security");
    app.map_company(&tenants["items"][0]["id"], company, agreement)
        .await;
    let billed = || {
        let mut lines: Vec<(i64, f64)> = cw
            .additions(agreement)
            .into_iter()
            .filter(|a| a.cancelled_date.is_none())
            .map(|a| (a.product.unwrap().id.unwrap(), a.quantity.unwrap()))
            .collect();
        lines.sort_by_key(|l| l.0);
        lines
    };

    // Billing exactly as before: the Select hosts count as Endpoint Security for Windows.
    let run = app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(billed(), [(kes, 5.0)]);

    // Opting in while the tier in use is unmapped would stop billing its devices: refused.
    let refused = put_billing(
        &app,
        json!({"bill_devices_by_category": false, "bill_licence_tiers": true}),
    )
    .await;
    let problem = assert_problem(refused, 422).await;
    assert_eq!(problem["errors"][0]["field"], "bill_licence_tiers");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("kesb-select"), "{message}");
    assert_eq!(billing(&app).await.1["bill_licence_tiers"], false);

    // Mapped, then one call: the next preview shows the move, the tenant's total unchanged.
    app.map_product("kesb-select", json!({"product_id": select}))
        .await;
    let response = put_billing(
        &app,
        json!({"bill_devices_by_category": false, "bill_licence_tiers": true}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let plan = app
        .admin_json(Method::POST, "/api/v1/sync/preview", &json!({}), 201)
        .await;
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{plan}");
    assert_eq!(
        (&moves[0]["units_before"], &moves[0]["units_after"]),
        (&json!(5.0), &json!(5.0))
    );
    assert!(moves[0]["hold_reasons"].as_array().unwrap().is_empty());
    let actions: Vec<(i64, &str, u64)> = plan["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_i64().unwrap(),
                l["action"].as_str().unwrap(),
                l["desired_quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [(kes, "update", 2), (select, "create", 3)]);
    let run = app.sync(Some(json!({"plan_id": plan["id"]}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(billed(), [(kes, 2.0), (select, 3.0)]);
}
