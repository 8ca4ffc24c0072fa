//! Sync end to end: pushed and collected usage → plans → agreement additions in the fake
//! ConnectWise, with its counters proving what was (and was not) written.

mod runs;

use kaspersky_msp_bridge::domain::money::Money;
use std::time::Duration;

use kaspersky_msp_bridge::adapters::connectwise::{
    Addition, Agreement, CatalogItem, Company, Reference,
};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise, Fault};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{active_agreement, assert_problem, spawn_app_with, TestApp};
use kaspersky_msp_bridge::adapters::config::Settings;

pub struct World {
    pub app: TestApp,
    pub cw: FakeConnectWise,
    pub company: i64,
    pub agreement: i64,
    pub products: Vec<i64>,
    pub tenant: String,
    pub mapping: String,
}

/// A Business Hub tenant mapped to an agreement; `kes-cloud` (per user) mapped to product 0.
async fn world() -> World {
    world_with(|_| {}).await
}

/// [`world`] on a server configured by `configure`.
pub async fn world_with(configure: impl FnOnce(&mut Settings)) -> World {
    let app = spawn_app_with(configure).await;
    let cw = FakeConnectWise::start(Default::default()).unwrap();
    let products: Vec<i64> = (1..=4)
        .map(|i| {
            cw.add_catalog_item(&CatalogItem {
                identifier: Some(format!("KASP-{i}")),
                description: Some(format!("Kaspersky product {i}")),
                price: Money::parse(&format!("{}.00", 3 + i)),
                cost: Money::parse("1.00"),
                ..Default::default()
            })
        })
        .collect();
    let company = cw.add_company(&Company {
        identifier: Some("Acme".into()),
        name: Some("Acme Corp".into()),
        ..Default::default()
    });
    let agreement = active_agreement(&cw, company, "Managed security");
    app.connect_connectwise(&cw).await;
    app.refresh_catalog().await;
    let tenant = app.create_tenant("Acme tenant", "bh-acme").await;
    let mapping = app.map_company(&json!(tenant), company, agreement).await;
    app.map_product("kes-cloud", json!({"product_id": products[0]}))
        .await;
    World {
        mapping,
        app,
        cw,
        company,
        agreement,
        products,
        tenant,
    }
}

impl World {
    pub async fn map(&self, application: &str, forms: Value) {
        self.app.map_product(application, forms).await;
    }

    async fn push(&self, body: Value) {
        let mut body = body;
        body["tenant_id"] = json!(self.tenant);
        let response = self
            .app
            .send_json(
                Method::POST,
                "/api/v1/usage-snapshots",
                &self.app.admin_token,
                &body,
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    pub async fn push_users(&self, users: u64) {
        self.push(json!({"users": {"kes-cloud": users}})).await;
    }

    pub async fn sync(&self, body: Option<Value>) -> Value {
        self.app.sync(body).await
    }

    pub async fn changes(&self, run: &Value) -> Vec<Value> {
        self.app.run_changes(run).await
    }

    pub fn active_additions(&self) -> Vec<Addition> {
        let now = chrono::Utc::now();
        self.cw
            .additions(self.agreement)
            .into_iter()
            .filter(|a| a.is_active_at(now))
            .collect()
    }

    /// The quantity billed for `kes-cloud` (product 0), if any.
    pub fn billed_users(&self) -> Option<f64> {
        self.quantity_of(self.products[0])
    }

    fn quantity_of(&self, product: i64) -> Option<f64> {
        self.active_additions()
            .iter()
            .find(|a| a.product.as_ref().and_then(|p| p.id) == Some(product))
            .and_then(|a| a.quantity)
    }
}

#[actix_web::test]
async fn usage_becomes_additions_and_an_unchanged_rerun_writes_nothing() {
    let w = world().await;
    w.push_users(12).await;
    let run = w.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(w.quantity_of(w.products[0]), Some(12.0));
    let additions = w.active_additions();
    assert_eq!(additions.len(), 1);
    assert_eq!(additions[0].bill_customer.as_deref(), Some("Billable"));
    assert!(additions[0]
        .description
        .as_deref()
        .unwrap()
        .contains("kes-cloud"));
    let changes = w.changes(&run).await;
    assert_eq!(
        (
            changes.len(),
            changes[0]["action"].as_str(),
            changes[0]["result"].as_str()
        ),
        (1, Some("create"), Some("applied"))
    );

    let writes = w.cw.writes();
    let reads = w.cw.calls("GET", route::ADDITIONS);
    let again = w.sync(None).await;
    assert_eq!(again["status"], "succeeded");
    assert_eq!(w.cw.writes(), writes, "an unchanged re-run writes nothing");
    assert_eq!(
        w.cw.calls("GET", route::ADDITIONS) - reads,
        1,
        "one read per agreement"
    );
    assert!(w.changes(&again).await.is_empty());

    // Usage grows: updated in place.
    w.push_users(15).await;
    let grown = w.sync(None).await;
    assert_eq!(w.changes(&grown).await[0]["action"], "update");
    assert_eq!(w.quantity_of(w.products[0]), Some(15.0));
    assert_eq!(w.active_additions().len(), 1);
}

#[actix_web::test]
async fn a_large_decrease_is_held_until_approved() {
    let w = world().await;
    w.push_users(20).await;
    w.sync(None).await;
    w.push_users(5).await;
    let held = w.sync(None).await;
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(held["summary"]["lines_held"], 1);
    assert_eq!(held["error"], Value::Null);
    let changes = w.changes(&held).await;
    assert_eq!(
        (changes[0]["action"].as_str(), changes[0]["result"].as_str()),
        (Some("held"), Some("held"))
    );
    assert_eq!(
        w.quantity_of(w.products[0]),
        Some(20.0),
        "nothing lowered yet"
    );

    let approved = w.sync(Some(json!({"approve": "all"}))).await;
    let changes = w.changes(&approved).await;
    assert_eq!(
        (changes[0]["action"].as_str(), changes[0]["result"].as_str()),
        (Some("update"), Some("applied"))
    );
    assert_eq!(w.quantity_of(w.products[0]), Some(5.0));

    // A small decrease goes through on its own.
    w.push_users(4).await;
    w.sync(None).await;
    assert_eq!(w.quantity_of(w.products[0]), Some(4.0));
}

#[actix_web::test]
async fn held_lines_are_approved_by_name_and_bad_approvals_are_refused() {
    let w = world().await;
    w.push_users(20).await;
    w.sync(None).await;
    w.push_users(5).await;
    for bad in [
        json!({}),
        json!("some"),
        json!([{}]),
        json!([{"move_id": 7}]),
        json!(3),
    ] {
        let response = w
            .app
            .send_json(
                Method::POST,
                "/api/v1/sync/runs",
                &w.app.admin_token,
                &json!({"approve": bad}),
            )
            .await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "approve", "{bad}: {problem}");
    }
    assert_eq!(w.quantity_of(w.products[0]), Some(20.0), "nothing ran");

    // A move id that matches nothing approves nothing.
    let run = w
        .sync(Some(json!({"approve": [{"move_id": "move-none"}]})))
        .await;
    assert_eq!(run["status"], "held", "{run}");
    let line = json!({"agreement_id": w.agreement, "product_id": w.products[0]});
    let run = w.sync(Some(json!({"approve": [line]}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(w.quantity_of(w.products[0]), Some(5.0));
}

#[actix_web::test]
async fn usage_falling_to_zero_cancels_by_policy_never_deletes() {
    let w = world().await;
    w.push_users(3).await;
    w.sync(None).await;
    w.push(json!({})).await;
    let held = w.sync(None).await;
    assert_eq!(
        w.changes(&held).await[0]["result"],
        "held",
        "a cancel waits for approval"
    );
    let run = w.sync(Some(json!({"approve": "all"}))).await;
    let change = &w.changes(&run).await[0];
    assert_eq!(
        (change["action"].as_str(), change["result"].as_str()),
        (Some("cancel"), Some("applied"))
    );
    let all = w.cw.additions(w.agreement);
    assert_eq!(all.len(), 1, "cancelled, not deleted");
    let cancelled = all[0].cancelled_date.expect("a cancel date");
    assert!(cancelled > chrono::Utc::now(), "end of month by default");
    assert_eq!(w.cw.calls("DELETE", route::ADDITION), 0);

    // A re-run over the pending cancel changes nothing; usage returning clears the cancel date.
    let writes = w.cw.writes();
    let rerun = w.sync(None).await;
    assert!(w.changes(&rerun).await.is_empty());
    assert_eq!(w.cw.writes(), writes);
    w.push_users(2).await;
    w.sync(None).await;
    let back = &w.cw.additions(w.agreement)[0];
    assert_eq!((back.cancelled_date, back.quantity), (None, Some(2.0)));
}
