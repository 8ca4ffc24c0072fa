//! Sync of KSC tenants collected from the fake KSC: category billing on and off, applications
//! summed into one product, remapping, frozen and blocked tenants, ConnectWise storms, and a run
//! whose process died.

mod tenants;

use kaspersky_msp_bridge::domain::money::Money;
use std::collections::HashMap;

use kaspersky_msp_bridge::adapters::connectwise::{CatalogItem, Company};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise, Fault};
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{self, FakeKsc, FakeKscOptions, FaultKind};
use kaspersky_msp_bridge::domain::outcome::{RunStatus, Trigger};
use kaspersky_msp_bridge::sync::runs::{self, RunRequest};
use kaspersky_msp_bridge::web::startup::build_core;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{active_agreement, discovered_demo, spawn_app, TestApp};

struct World {
    app: TestApp,
    cw: FakeConnectWise,
    ksc: FakeKsc,
    /// Agreement per demo tenant name.
    agreements: HashMap<&'static str, i64>,
    /// Catalog products P0..P4.
    products: Vec<i64>,
}

/// Contoso and Fabrikam mapped to agreements of their own.
async fn world() -> World {
    world_of(&["Contoso", "Fabrikam"]).await
}

/// These demo tenants mapped to agreements of their own.
async fn world_of(names: &[&'static str]) -> World {
    let app = spawn_app().await;
    let cw = FakeConnectWise::start(Default::default()).unwrap();
    let products = (0..5)
        .map(|i| {
            cw.add_catalog_item(&CatalogItem {
                identifier: Some(format!("P{i}")),
                description: Some(format!("Product {i}")),
                price: Money::parse("5.00"),
                ..Default::default()
            })
        })
        .collect();
    app.connect_connectwise(&cw).await;
    app.refresh_catalog().await;
    let ksc = discovered_demo(&app, FakeKscOptions::new(fake_ksc::demo())).await;
    let tenants: Value = app
        .get("/api/v1/tenants?solution=ksc", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let mut agreements = HashMap::new();
    for &name in names {
        let company = cw.add_company(&Company {
            identifier: Some(name.into()),
            name: Some(format!("{name} Ltd")),
            ..Default::default()
        });
        let agreement = active_agreement(&cw, company, "Security");
        let tenant = tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap();
        app.map_company(&tenant["id"], company, agreement).await;
        agreements.insert(name, agreement);
    }
    World {
        app,
        cw,
        ksc,
        agreements,
        products,
    }
}

impl World {
    async fn map(&self, application: &str, forms: Value) {
        self.app.map_product(application, forms).await;
    }

    async fn by_category(&self, on: bool) {
        let response = self
            .app
            .send_json(
                Method::PUT,
                "/api/v1/settings/billing",
                &self.app.admin_token,
                &json!({"bill_devices_by_category": on}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Units billed for `day`: additions in effect that day (a cancel date ends an addition
    /// before that day, as an effective date starts it on that day).
    fn billed_on(&self, tenant: &str, day: chrono::NaiveDate) -> f64 {
        self.cw
            .additions(self.agreements[tenant])
            .into_iter()
            .filter(|a| a.effective_date.is_none_or(|d| d.date_naive() <= day))
            .filter(|a| a.cancelled_date.is_none_or(|d| d.date_naive() > day))
            .map(|a| a.quantity.unwrap())
            .sum()
    }

    /// Billing never exceeds the devices on any day from yesterday to the end of next month.
    fn assert_never_billed_twice(&self, tenant: &str, devices: f64) {
        let today = chrono::Utc::now().date_naive();
        let mut day = today - chrono::Duration::days(1);
        while day < today + chrono::Duration::days(62) {
            let units = self.billed_on(tenant, day);
            assert!(
                units <= devices,
                "{tenant} billed {units} units for {devices} devices on {day}: {:?}",
                self.cw.additions(self.agreements[tenant])
            );
            day += chrono::Duration::days(1);
        }
        assert_eq!(self.billed_on(tenant, today), devices, "{tenant} today");
    }

    /// Quantities billed from now on (no cancel date, not even a pending one), by product index.
    fn billed(&self, tenant: &str) -> HashMap<usize, f64> {
        self.cw
            .additions(self.agreements[tenant])
            .into_iter()
            .filter(|a| a.cancelled_date.is_none())
            .map(|a| {
                let product = a.product.and_then(|p| p.id).unwrap();
                (
                    self.products.iter().position(|&p| p == product).unwrap(),
                    a.quantity.unwrap(),
                )
            })
            .collect()
    }
}

fn billed(pairs: &[(usize, f64)]) -> HashMap<usize, f64> {
    pairs.iter().copied().collect()
}

#[actix_web::test]
async fn category_billing_off_then_on() {
    let w = world().await;
    // Off: one product per application; two applications on one product are summed.
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.map("kes-linux", json!({"product_id": w.products[0]}))
        .await;
    w.map("kes-mac", json!({"product_id": w.products[1]})).await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        w.billed("Contoso"),
        billed(&[(0, 7.0)]),
        "3 + 3 Windows and 1 Linux device"
    );
    assert_eq!(w.billed("Fabrikam"), billed(&[(0, 1.0), (1, 2.0)]));
    assert_eq!(
        (
            w.ksc.open_sessions(),
            w.ksc.open_iterators(),
            w.ksc.open_accessors()
        ),
        (0, 0, 0)
    );

    // On: each category its own product (the same product may serve two categories).
    w.map(
        "kes-windows",
        json!({"product_id": w.products[0], "workstation_product_id": w.products[2],
        "server_product_id": w.products[3], "non_windows_product_id": w.products[2]}),
    )
    .await;
    w.map(
        "kes-linux",
        json!({"product_id": w.products[0], "workstation_product_id": w.products[2],
        "server_product_id": w.products[2], "non_windows_product_id": w.products[4]}),
    )
    .await;
    w.map(
        "kes-mac",
        json!({"product_id": w.products[1], "workstation_product_id": w.products[1],
        "server_product_id": w.products[1], "non_windows_product_id": w.products[1]}),
    )
    .await;
    // The switch is a move per tenant: applied at once with the default guard, the old lines
    // ending the day the new ones start.
    w.by_category(true).await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["summary"]["moves"], 2, "{run}");
    assert_eq!(
        w.billed("Contoso"),
        billed(&[(2, 3.0), (3, 3.0), (4, 1.0)]),
        "P0 cancelled"
    );
    assert_eq!(w.billed("Fabrikam"), billed(&[(2, 1.0), (1, 2.0)]));
    w.assert_never_billed_twice("Contoso", 7.0);
    w.assert_never_billed_twice("Fabrikam", 3.0);
    let changes = w.app.run_changes(&run).await;
    let contoso = w.agreements["Contoso"];
    assert!(
        changes
            .iter()
            .filter(|c| c["agreement_id"] == contoso)
            .all(|c| c["move_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("move-"))),
        "every line names its move: {changes:?}"
    );

    // Back off: both forms were kept.
    w.by_category(false).await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(w.billed("Contoso"), billed(&[(0, 7.0)]));
    w.assert_never_billed_twice("Contoso", 7.0);
    w.assert_never_billed_twice("Fabrikam", 3.0);
}

#[actix_web::test]
async fn a_disabled_virtual_server_is_named_and_the_run_is_partial() {
    let w = world_of(&["Contoso", "Fabrikam", "Northwind"]).await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "partial", "{run}");
    assert!(w.billed("Northwind").is_empty(), "not billed");
    assert_eq!(w.billed("Contoso"), billed(&[(0, 6.0)]), "the others are");
    let summary = &run["summary"];
    assert_eq!(
        (&summary["tenants_skipped"], &summary["tenants_blocked"]),
        (&json!(1), &json!(0))
    );
    let skipped = &summary["skipped_tenants"][0];
    assert_eq!(skipped["tenant_name"], "Northwind");
    assert_eq!(skipped["reason"], "the virtual server is disabled");
    assert_eq!(skipped["since"], run["started_at"]);
    assert!(
        run["error"].as_str().unwrap().contains("Northwind"),
        "{run}"
    );

    // The next run still names it, not billed since the first run that skipped it.
    let next = w.app.sync(None).await;
    assert_eq!(next["status"], "partial");
    assert_eq!(
        next["summary"]["skipped_tenants"][0]["since"],
        run["started_at"]
    );

    // One request tells a frontend the last outcome, even while another run is going.
    let state = build_core(w.app.settings.clone()).await.unwrap();
    let going = RunRequest::default();
    let holder = runs::begin(&state, Trigger::Api, &going).await.unwrap();
    let last: Value = w
        .app
        .get(
            "/api/v1/sync/runs?finished=true&per_page=1",
            &w.app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["items"][0]["id"], next["id"], "{last}");
    assert_eq!(last["items"][0]["summary"]["tenants_skipped"], 1);
    assert_eq!(last["total"], 2);
    let all: Value = w
        .app
        .get("/api/v1/sync/runs?per_page=1", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["items"][0]["id"],
        holder.id.as_str(),
        "the running one is newest"
    );
    assert_eq!(all["total"], 3);
}

#[actix_web::test]
async fn every_tenant_failing_in_ksc_is_a_partial_run_naming_them() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.app.sync(None).await;
    w.ksc.inject(fake_ksc::Fault::new(
        "LicenseKeys.EnumKeys",
        FaultKind::Pxg {
            code: 1950,
            message: "Internal error".into(),
        },
    ));
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "partial", "{run}");
    let names: Vec<&str> = run["summary"]["skipped_tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Contoso", "Fabrikam"]);
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("Contoso") && error.contains("Fabrikam"),
        "{error}"
    );
    assert_eq!(w.billed("Contoso"), billed(&[(0, 6.0)]), "nothing lowered");
}

#[actix_web::test]
async fn a_remapped_product_moves_the_billing() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.app.sync(None).await;
    assert_eq!(w.billed("Fabrikam"), billed(&[(0, 1.0)]));
    w.map("kes-windows", json!({"product_id": w.products[1]}))
        .await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "a move applies whole: {run}");
    assert_eq!(w.billed("Fabrikam"), billed(&[(1, 1.0)]));
    assert_eq!(w.billed("Contoso"), billed(&[(1, 6.0)]));
    w.assert_never_billed_twice("Fabrikam", 1.0);
    w.assert_never_billed_twice("Contoso", 6.0);
    let additions = w.cw.additions(w.agreements["Fabrikam"]);
    let old = additions
        .iter()
        .find(|a| a.cancelled_date.is_some())
        .unwrap();
    let new = additions
        .iter()
        .find(|a| a.cancelled_date.is_none())
        .unwrap();
    assert_eq!(
        old.cancelled_date.unwrap().date_naive(),
        new.effective_date.unwrap().date_naive(),
        "the old line ends the day the new one starts"
    );
    let changes = w.app.run_changes(&run).await;
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(
        changes.iter().all(|c| c["result"] == "applied"),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|c| !c["move_id"].is_null()),
        "{changes:?}"
    );
}
