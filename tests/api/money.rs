//! Money end to end: billing profiles and company terms as resources, and what the sync
//! writes to the fake ConnectWise with them (prices, included units, minimums, exclusions,
//! overrides), with the money every change moves.

use kaspersky_msp_bridge::adapters::connectwise::{Addition, CatalogItem};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::route;
use kaspersky_msp_bridge::domain::money::Money;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::assert_problem;
use crate::sync::{world_with, World};

impl World {
    async fn put(&self, path: &str, body: Value, if_match: Option<&str>) -> reqwest::Response {
        let mut request = self
            .app
            .request(Method::PUT, path, Some(&self.app.admin_token))
            .json(&body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        request.send().await.unwrap()
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let response = self.put(path, body, None).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    fn profile_path(&self, product: usize) -> String {
        format!("/api/v1/billing-profiles/{}", self.products[product])
    }

    fn terms_path(&self) -> String {
        format!("/api/v1/company-mappings/{}/terms", self.mapping)
    }

    /// The one active addition of `product`.
    fn addition_of(&self, product: usize) -> Addition {
        let id = self.products[product];
        let found: Vec<Addition> = self
            .active_additions()
            .into_iter()
            .filter(|a| a.product.as_ref().and_then(|p| p.id) == Some(id))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    async fn preview(&self) -> Value {
        let response = self
            .app
            .request(
                Method::POST,
                "/api/v1/sync/preview",
                Some(&self.app.admin_token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

fn m(text: &str) -> Option<Money> {
    Money::parse(text)
}

#[actix_web::test]
async fn billing_profiles_are_validated_versioned_and_audited() {
    let w = world_with(|_| {}).await;
    let path = w.profile_path(0);
    let problem = assert_problem(
        w.put(
            &path,
            json!({"bill_customer": "Sometimes", "unit_price": "-1.00", "unit_cost": 3.5,
                   "invoice_description": "x".repeat(6001)}),
            None,
        )
        .await,
        422,
    )
    .await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["bill_customer", "unit_cost"], "{problem}");
    let problem = assert_problem(
        w.put(
            &path,
            json!({"unit_price": "-1.00", "invoice_description": "x".repeat(6001)}),
            None,
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["unit_price", "invoice_description"], "{problem}");
    assert_problem(
        w.put("/api/v1/billing-profiles/999999", json!({}), None)
            .await,
        404,
    )
    .await;
    assert_problem(w.app.get(&path, &w.app.admin_token).await, 404).await;

    let created = w
        .put(
            &path,
            json!({"unit_price": "19.99", "bill_customer": "NoCharge"}),
            None,
        )
        .await;
    assert_eq!(created.status(), 200);
    let tag = created.headers()["etag"].to_str().unwrap().to_string();
    let view: Value = created.json().await.unwrap();
    assert_eq!(
        (
            view["unit_price"].as_str(),
            view["unit_cost"].as_str(),
            view["catalog_price"].as_str()
        ),
        (Some("19.99"), Some("catalog"), Some("4.00"))
    );
    assert_eq!(view["identifier"], "KASP-1");
    let listed: Value = w
        .app
        .get("/api/v1/billing-profiles", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // A viewer reads, only an operator writes.
    let (_, viewer) = w.app.user_with_role("vera", "viewer").await;
    assert_eq!(w.app.get(&path, &viewer).await.status(), 200);
    let refused = w
        .app
        .send_json(Method::PUT, &path, &viewer, &json!({}))
        .await;
    assert_eq!(refused.status(), 403);

    assert_problem(
        w.put(&path, json!({"unit_price": "24.50"}), Some("\"stale\""))
            .await,
        412,
    )
    .await;
    let updated = w
        .put(&path, json!({"unit_price": "24.50"}), Some(&tag))
        .await;
    assert_eq!(updated.status(), 200);
    let tag = updated.headers()["etag"].to_str().unwrap().to_string();
    let deleted = w
        .app
        .request(Method::DELETE, &path, Some(&w.app.admin_token))
        .header("If-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(w.app.get(&path, &w.app.admin_token).await, 404).await;

    let audit: Value = w
        .app
        .get(
            "/api/v1/audit-events?entity_type=billing_profile",
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
async fn company_terms_refuse_what_cannot_bill() {
    let w = world_with(|_| {}).await;
    let inactive = w.cw.add_catalog_item(&CatalogItem {
        identifier: Some("OLD".into()),
        description: Some("Retired product".into()),
        inactive_flag: Some(true),
        ..Default::default()
    });
    w.app.refresh_catalog().await;
    let empty: Value = w
        .app
        .get(&w.terms_path(), &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty, json!({"products": [], "applications": []}));

    let problem = assert_problem(
        w.put(
            &w.terms_path(),
            json!({
                "products": [
                    {"product_id": w.products[0], "minimum_quantity": 2, "included_quantity": 5,
                     "unit_price": "-3.00"},
                    {"product_id": 987654}],
                "applications": [
                    {"application_id": "kes-cloud", "product": inactive},
                    {"application_id": "nope", "excluded": true},
                    {"application_id": "kes-cloud", "category": "windows_server", "excluded": true}]}),
            None,
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "products[0].minimum_quantity",
            "products[0].unit_price",
            "products[1].product_id",
            "applications[0].product",
            "applications[1].application_id",
            "applications[2].category",
        ],
        "{problem}"
    );
    assert_problem(
        w.put("/api/v1/company-mappings/nope/terms", json!({}), None)
            .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn the_sync_bills_at_the_msps_prices_and_terms() {
    let w = world_with(|_| {}).await;
    w.push_users(3).await;
    w.ok(
        &w.profile_path(0),
        json!({"unit_price": "19.99", "taxable": false,
               "invoice_description": "{application} for {company}: {quantity}"}),
    )
    .await;
    w.ok(
        &w.terms_path(),
        json!({"products": [{"product_id": w.products[0], "minimum_quantity": 5,
                             "included_quantity": 1}]}),
    )
    .await;

    let plan = w.preview().await;
    let line = &plan["lines"][0];
    assert_eq!(
        (line["action"].as_str(), line["desired_quantity"].as_u64()),
        (Some("create"), Some(5)),
        "a minimum lifts 3 users to 5: {line}"
    );
    // (5 − 1 included) × 19.99
    assert_eq!(line["monthly_effect"], "79.96");
    assert_eq!(plan["money"]["monthly_effect"], "79.96");
    assert_eq!(
        plan["money"]["companies"][0]["cw_company_name"],
        "Acme Corp"
    );

    let run = w.sync(Some(json!({"plan_id": plan["id"]}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["summary"]["money"]["monthly_effect"], "79.96");
    let written = w.addition_of(0);
    assert_eq!(
        (
            written.quantity,
            written.less_included,
            written.unit_price,
            written.taxable_flag
        ),
        (Some(5.0), Some(1.0), m("19.99"), Some(false))
    );
    assert!(written
        .invoice_description
        .as_deref()
        .unwrap()
        .ends_with("for Acme Corp: 5"));

    // A price change in the profile: a terms-only update, not held, with its money.
    w.ok(
        &w.profile_path(0),
        json!({"unit_price": "21.99", "taxable": false,
        "invoice_description": "{application} for {company}: {quantity}"}),
    )
    .await;
    let repriced = w.sync(None).await;
    assert_eq!(repriced["status"], "succeeded", "{repriced}");
    let change = &w.changes(&repriced).await[0];
    assert_eq!(change["action"], "update");
    assert_eq!(repriced["summary"]["money"]["monthly_effect"], "8.00");
    assert_eq!(w.addition_of(0).unit_price, m("21.99"));
    let settled = w.sync(None).await;
    assert!(
        w.changes(&settled).await.is_empty(),
        "corrected terms stay corrected"
    );

    // Excluded for this customer: reported as excluded, the cancel held by the decrease guard.
    w.ok(
        &w.terms_path(),
        json!({"applications": [{"application_id": "kes-cloud", "excluded": true}]}),
    )
    .await;
    let excluded = w.sync(None).await;
    assert_eq!(excluded["status"], "held", "{excluded}");
    // The addition bills (5 − 1 included) × 21.99: approving the cancel removes 87.96.
    assert_eq!(excluded["summary"]["money"]["held_effect"], "-87.96");
    let unbilled: Value = w
        .app
        .get("/api/v1/reports/unbilled-usage", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unbilled["items"][0]["reason"], "excluded", "{unbilled}");

    // Billed on another product instead: a move from product 0 to product 1.
    w.ok(
        &w.terms_path(),
        json!({"applications": [{"application_id": "kes-cloud", "product": w.products[1]}]}),
    )
    .await;
    let plan = w.preview().await;
    assert_eq!(plan["moves"].as_array().unwrap().len(), 1, "{plan}");
    let moved = w
        .sync(Some(json!({"plan_id": plan["id"], "approve": "all"})))
        .await;
    assert_eq!(moved["status"], "succeeded", "{moved}");
    assert_eq!(w.addition_of(1).quantity, Some(3.0));
    assert!(w
        .active_additions()
        .iter()
        .all(
            |a| a.product.as_ref().and_then(|p| p.id) != Some(w.products[0])
                || a.cancelled_date.is_some()
        ));
}

#[actix_web::test]
async fn reconciliation_sets_billed_against_deployed() {
    use kaspersky_msp_bridge::adapters::connectwise::Reference;
    let w = world_with(|_| {}).await;
    w.push_users(4).await;
    w.sync(None).await;
    w.push_users(6).await;
    // Someone bills product 1 by hand: 2 units at 7.50, which nothing deploys.
    w.cw.add_addition(
        w.agreement,
        &Addition {
            product: Some(Reference::id(w.products[1])),
            quantity: Some(2.0),
            unit_price: m("7.50"),
            bill_customer: Some("Billable".into()),
            ..Default::default()
        },
    );
    let (_, viewer) = w.app.user_with_role("vera", "viewer").await;
    let report: Value = w
        .app
        .get("/api/v1/reports/reconciliation", &viewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["source"], "live", "{report}");
    assert_eq!(report["total"], 1);
    let company = &report["companies"][0];
    assert_eq!(company["cw_company_name"], "Acme Corp");
    assert_eq!(company["state"], "reconciled");
    let lines = company["lines"].as_array().unwrap();
    // Product 0: 4 billed at the catalog's 4.00, 6 deployed: under-billed by 8.00.
    assert_eq!(
        (
            lines[0]["units_deployed"].as_u64(),
            lines[0]["units_billed"].as_f64(),
            lines[0]["amount_billed"].as_str(),
            lines[0]["amount_deployed"].as_str(),
            lines[0]["difference"].as_str()
        ),
        (
            Some(4 + 2),
            Some(4.0),
            Some("16.00"),
            Some("24.00"),
            Some("8.00")
        ),
        "{company}"
    );
    // Product 1: billed by hand, nothing deployed: over-billed by 15.00.
    assert_eq!(
        (
            lines[1]["units_billed"].as_f64(),
            lines[1]["difference"].as_str()
        ),
        (Some(2.0), Some("-15.00"))
    );
    assert_eq!(report["totals"]["difference"], "-7.00");
    assert_eq!(report["totals"]["amount_billed"], "31.00");

    let csv = w
        .app
        .request(Method::GET, "/api/v1/reports/reconciliation", Some(&viewer))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].starts_with("company_id,company,agreement_id"));
    assert!(
        rows[1].contains(",Acme Corp,") && rows[1].ends_with(",16.00,24.00,8.00"),
        "{text}"
    );

    // Billed as deployed: no differences left to show.
    w.sync(None).await;
    w.cw.remove_addition(w.agreement, w.addition_of(1).id.unwrap());
    let only: Value = w
        .app
        .get(
            "/api/v1/reports/reconciliation?differences_only=true",
            &viewer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only["total"], 0, "{only}");
    // From the last run's reading: no ConnectWise call, and it says when it was read.
    w.sync(None).await;
    let reads = w.cw.calls("GET", route::ADDITIONS);
    let last: Value = w
        .app
        .get("/api/v1/reports/reconciliation?source=last_run", &viewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(w.cw.calls("GET", route::ADDITIONS), reads);
    assert_eq!(last["source"], "last_run", "{last}");
    assert!(last["read_at"].is_string(), "{last}");
    let line = &last["companies"][0]["lines"][0];
    assert_eq!(
        (line["units_billed"].as_f64(), line["difference"].as_str()),
        (Some(6.0), Some("0.00")),
        "{last}"
    );
    let other: Value = w
        .app
        .get("/api/v1/reports/reconciliation?company=987654", &viewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["companies"], json!([]));
}

#[actix_web::test]
async fn the_last_run_reading_follows_a_previewed_plan_applied_later() {
    let w = world_with(|_| {}).await;
    w.push_users(4).await;
    w.sync(None).await;
    w.push_users(7).await;
    let plan = w.preview().await;
    let run = w.sync(Some(json!({"plan_id": plan["id"]}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let last: Value = w
        .app
        .get(
            "/api/v1/reports/reconciliation?source=last_run",
            &w.app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let line = &last["companies"][0]["lines"][0];
    assert_eq!(
        (line["units_billed"].as_f64(), line["difference"].as_str()),
        (Some(7.0), Some("0.00")),
        "the stored plan's run refreshed the reading: {last}"
    );
}
