//! Sync of KSC tenants collected from the fake KSC: category billing on and off, applications
//! summed into one product, remapping, frozen and blocked tenants, ConnectWise storms, and a run
//! whose process died.

use std::collections::HashMap;

use kaspersky_msp_bridge::connectwise::{Agreement, CatalogItem, Company, Reference};
use kaspersky_msp_bridge::sandbox::fake_connectwise::{route, FakeConnectWise, Fault};
use kaspersky_msp_bridge::sandbox::fake_ksc::{self, FakeKsc, FakeKscOptions, FaultKind};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{discovered_demo, spawn_app, TestApp};

struct World {
    app: TestApp,
    cw: FakeConnectWise,
    ksc: FakeKsc,
    /// Agreement per demo tenant name.
    agreements: HashMap<&'static str, i64>,
    /// Catalog products P0..P4.
    products: Vec<i64>,
}

/// Contoso and Fabrikam (and the disabled Northwind) mapped to agreements of their own.
async fn world() -> World {
    let app = spawn_app().await;
    let cw = FakeConnectWise::start(Default::default()).unwrap();
    let products = (0..5)
        .map(|i| {
            cw.add_catalog_item(&CatalogItem {
                identifier: Some(format!("P{i}")),
                description: Some(format!("Product {i}")),
                price: Some(5.0),
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
    for name in ["Contoso", "Fabrikam", "Northwind"] {
        let company = cw.add_company(&Company {
            identifier: Some(name.into()),
            name: Some(format!("{name} Ltd")),
            ..Default::default()
        });
        let agreement = cw.add_agreement(&Agreement {
            name: Some("Security".into()),
            company: Some(Reference::id(company)),
            agreement_status: Some("Active".into()),
            ..Default::default()
        });
        let tenant = tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap();
        let mapping = app
            .send_json(Method::POST, "/api/v1/company-mappings", &app.admin_token,
                &json!({"tenant_id": tenant["id"], "cw_company_id": company, "agreement_id": agreement}))
            .await;
        assert_eq!(mapping.status(), 201);
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
        let path = format!("/api/v1/product-mappings/{application}");
        let response = self
            .app
            .send_json(Method::PUT, &path, &self.app.admin_token, &forms)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
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
    assert!(
        w.billed("Northwind").is_empty(),
        "a disabled virtual server is not billed"
    );
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
    w.by_category(true).await;
    let run = w.app.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        w.billed("Contoso"),
        billed(&[(2, 3.0), (3, 3.0), (4, 1.0)]),
        "P0 cancelled"
    );
    assert_eq!(w.billed("Fabrikam"), billed(&[(2, 1.0), (1, 2.0)]));

    // Back off: both forms were kept.
    w.by_category(false).await;
    w.app.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(w.billed("Contoso"), billed(&[(0, 7.0)]));
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
    let held: Vec<Value> = w
        .app
        .run_changes(&run)
        .await
        .into_iter()
        .filter(|c| c["result"] == "held")
        .collect();
    assert!(
        !held.is_empty(),
        "the cancel of the old product waits for approval"
    );
    assert_eq!(w.billed("Fabrikam"), billed(&[(0, 1.0), (1, 1.0)]));
    w.app.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(w.billed("Fabrikam"), billed(&[(1, 1.0)]));
}

#[actix_web::test]
async fn unreadable_and_blocked_tenants_get_no_changes() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.map("kes-mac", json!({"product_id": w.products[1]})).await;
    w.app.sync(None).await;
    let before_contoso = w.billed("Contoso");

    // Contoso's virtual server fails: frozen, its billing untouched; Fabrikam still syncs.
    w.ksc.inject(
        fake_ksc::Fault::new(
            "LicenseKeys.EnumKeys",
            FaultKind::Pxg {
                code: 1950,
                message: "Internal error".into(),
            },
        )
        .on_vserver("Contoso"),
    );
    w.map("kes-linux", json!({"product_id": w.products[4]}))
        .await;
    let run = w.app.sync(None).await;
    assert_eq!(w.billed("Contoso"), before_contoso);
    let changes = w.app.run_changes(&run).await;
    assert!(
        changes
            .iter()
            .filter(|c| c["agreement_id"] == w.agreements["Contoso"])
            .all(|c| c["action"] == "skipped"),
        "{changes:?}"
    );
    w.ksc.clear_faults();

    // Category billing switched on without category products: blocked, naming the applications.
    w.by_category(true).await;
    let preview: Value = w
        .app
        .request(
            Method::POST,
            "/api/v1/sync/preview",
            Some(&w.app.admin_token),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let blocked = preview["blocked"].as_array().unwrap();
    assert!(
        blocked.iter().any(|b| b["applications"]
            .as_array()
            .unwrap()
            .contains(&json!("kes-windows"))),
        "{preview}"
    );
    let frozen = preview["frozen"].as_array().unwrap();
    assert!(
        frozen
            .iter()
            .any(|f| f["reason"]["kind"] == "virtual_server_disabled"),
        "{preview}"
    );
    let writes = w.cw.writes();
    w.app.sync(None).await;
    assert_eq!(w.cw.writes(), writes, "nothing written for blocked tenants");
}

#[actix_web::test]
async fn connectwise_storms_are_retried() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.cw.inject_fault(
        "GET",
        route::ADDITIONS,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        2,
    );
    w.cw.inject_fault(
        "POST",
        route::ADDITIONS,
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
        2,
    );
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(w.billed("Contoso"), billed(&[(0, 6.0)]));
    assert_eq!(w.billed("Fabrikam"), billed(&[(0, 1.0)]));
}

#[actix_web::test]
async fn a_run_whose_process_died_is_marked_interrupted() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    let dead_run = plant_dead_run(&w.app);
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded");
    let dead: Value = w
        .app
        .get(&format!("/api/v1/sync/runs/{dead_run}"), &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dead["status"], "interrupted");
    assert_eq!(w.billed("Contoso"), billed(&[(0, 6.0)]));
}

/// A run left "running" by a process that died, with its lease expired.
fn plant_dead_run(app: &TestApp) -> String {
    use kaspersky_msp_bridge::db::{self, sync::RunRow};
    let pool = db::connect_pool(&app.settings.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let then = db::now() - chrono::Duration::minutes(10);
    let run = RunRow {
        id: db::new_id(),
        trigger_kind: "schedule".into(),
        status: "running".into(),
        plan_id: None,
        dry_run: false,
        started_at: then,
        finished_at: None,
        holder: "dead-process".into(),
        summary_json: "{}".into(),
        error: None,
    };
    db::sync::insert_run(&mut conn, &run).unwrap();
    assert!(db::sync::try_acquire_lease(
        &mut conn,
        "dead-process",
        &run.id,
        then,
        then + chrono::Duration::seconds(60)
    )
    .unwrap());
    run.id
}
