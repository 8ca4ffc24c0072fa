//! Every tenant billed with its own devices only, through the HTTP API: many KSC tenants with
//! distinct usage, collected and synced many times in a row at the default and at higher KSC
//! concurrency, against a fake KSC that binds each login to its TCP connection as KSC does.

use kaspersky_msp_bridge::domain::money::Money;
use std::collections::BTreeMap;

use kaspersky_msp_bridge::adapters::connectwise::{CatalogItem, Company};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeConnectWise;
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    self, numbered_expected_usage, FakeKey, FakeKsc, FakeKscOptions, DEMO_PASSWORD, DEMO_USER,
};
use kaspersky_msp_bridge::domain::model::TenantUsage;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{active_agreement, spawn_app, TestApp};

const TENANTS: usize = 20;
const ROUNDS: usize = 4;

struct Tenant {
    name: String,
    agreement: i64,
}

/// The usage each tenant has now, and what its agreement should bill for it.
fn billed_for(usage: &TenantUsage) -> BTreeMap<&'static str, f64> {
    let mut billed = BTreeMap::new();
    for (application, product) in [("kes-windows", "KES"), ("kes-linux", "KESL")] {
        if let Some(counts) = usage.devices.get(application) {
            billed.insert(product, counts.total() as f64);
        }
    }
    billed
}

/// Adds one Windows workstation to every tenant, on its Windows key.
fn grow(ksc: &FakeKsc, round: usize, expected: &mut BTreeMap<String, TenantUsage>) {
    ksc.edit(|data| {
        for vserver in &mut data.vservers {
            let host = format!("{}-round-{round}", vserver.uid);
            vserver.tenant = std::mem::take(&mut vserver.tenant).host(
                &host,
                "NEW-PC",
                "Microsoft Windows 11 Pro",
                0x1003,
            );
            let key = vserver
                .tenant
                .keys
                .iter_mut()
                .find(|k: &&mut FakeKey| k.serial.ends_with("-KES"))
                .unwrap();
            key.hosts.push((host, true));
        }
    });
    for usage in expected.values_mut() {
        usage
            .devices
            .get_mut("kes-windows")
            .unwrap()
            .windows_workstation += 1;
    }
}

async fn connect_ksc(app: &TestApp, ksc: &FakeKsc, concurrency: Option<u32>) {
    let mut body =
        json!({"server_url": ksc.base_url(), "user": DEMO_USER, "password": DEMO_PASSWORD});
    if let Some(concurrency) = concurrency {
        body["max_concurrency"] = json!(concurrency);
    }
    app.admin_json(Method::PUT, "/api/v1/connections/kaspersky", &body, 200)
        .await;
}

/// Each tenant's latest snapshot, by tenant name.
async fn latest_usage(app: &TestApp) -> BTreeMap<String, Value> {
    let page: Value = app
        .get(
            "/api/v1/usage-snapshots?latest=true&per_page=100",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["tenant"]["name"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[actix_web::test]
async fn every_tenant_is_billed_with_its_own_devices_at_any_ksc_concurrency() {
    let app = spawn_app().await;
    let cw = FakeConnectWise::start(Default::default()).unwrap();
    let products: BTreeMap<&str, i64> = ["KES", "KESL"]
        .into_iter()
        .map(|identifier| {
            let id = cw.add_catalog_item(&CatalogItem {
                identifier: Some(identifier.into()),
                description: Some(format!("{identifier} per device")),
                price: Money::parse("5.00"),
                ..Default::default()
            });
            (identifier, id)
        })
        .collect();
    app.connect_connectwise(&cw).await;
    app.refresh_catalog().await;
    app.map_product("kes-windows", json!({"product_id": products["KES"]}))
        .await;
    app.map_product("kes-linux", json!({"product_id": products["KESL"]}))
        .await;

    let ksc = FakeKsc::start(
        FakeKscOptions::new(fake_ksc::numbered_tenants(TENANTS))
            .latency(std::time::Duration::from_millis(1)),
    )
    .unwrap();
    connect_ksc(&app, &ksc, None).await;
    assert_eq!(app.refresh_tenants(&app.admin_token).await.status(), 200);
    let listed: Value = app
        .get(
            "/api/v1/tenants?solution=ksc&per_page=100",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let mut tenants = Vec::new();
    for tenant in listed["items"].as_array().unwrap() {
        let name = tenant["name"].as_str().unwrap().to_string();
        let company = cw.add_company(&Company {
            identifier: Some(name.replace(' ', "")),
            name: Some(format!("{name} Ltd")),
            ..Default::default()
        });
        let agreement = active_agreement(&cw, company, "Security");
        app.map_company(&tenant["id"], company, agreement).await;
        tenants.push(Tenant { name, agreement });
    }
    assert_eq!(tenants.len(), TENANTS);

    let mut expected = numbered_expected_usage(TENANTS);
    let mut round = 0;
    for concurrency in [None, Some(8), Some(16)] {
        connect_ksc(&app, &ksc, concurrency).await;
        for _ in 0..ROUNDS {
            round += 1;
            grow(&ksc, round, &mut expected);

            // A collection alone: every snapshot is its own tenant's truth.
            let collected = app
                .admin_json(
                    Method::POST,
                    "/api/v1/usage-snapshots/collect",
                    &json!({}),
                    200,
                )
                .await;
            assert_eq!(collected["collected"], TENANTS, "{collected}");
            let snapshots = latest_usage(&app).await;
            for tenant in &tenants {
                let snapshot = &snapshots[&tenant.name];
                assert_eq!(snapshot["status"], "ok", "{}: {snapshot}", tenant.name);
                let usage: TenantUsage = serde_json::from_value(snapshot["usage"].clone()).unwrap();
                assert_eq!(
                    usage, expected[&tenant.name],
                    "{} in round {round} ({concurrency:?})",
                    tenant.name
                );
            }

            // A sync collects again and bills each agreement its own tenant's devices.
            let run = app.sync(None).await;
            assert_eq!(run["status"], "succeeded", "round {round}: {run}");
            for tenant in &tenants {
                let billed: BTreeMap<&str, f64> = cw
                    .additions(tenant.agreement)
                    .into_iter()
                    .filter(|a| a.cancelled_date.is_none())
                    .map(|a| {
                        let product = a.product.and_then(|p| p.id).unwrap();
                        let identifier = products
                            .iter()
                            .find(|(_, &id)| id == product)
                            .map(|(identifier, _)| *identifier)
                            .unwrap();
                        (identifier, a.quantity.unwrap())
                    })
                    .collect();
                assert_eq!(
                    billed,
                    billed_for(&expected[&tenant.name]),
                    "{} in round {round}",
                    tenant.name
                );
            }
        }
    }
    assert_eq!(ksc.not_authenticated(), 0, "no KSC call was refused");
    assert_eq!(ksc.open_sessions(), 0, "every session ended");
}
