//! Realistic examples for the request bodies and the main responses, so that Swagger UI and
//! generated docs show a grid with category billing on, a preview with a move and a run with a
//! skipped tenant instead of `{}`. The responses were captured from the sandbox; the linters
//! (scripts/check-openapi-lint.sh) check every example against its schema.

use serde_json::{json, Value};

/// (operation, status, example) of responses.
fn responses() -> Vec<(&'static str, &'static str, Value)> {
    let file = |text: &str| -> Value { serde_json::from_str(text).expect("the examples are JSON") };
    let grid = file(include_str!("examples/mapping-grid.json"));
    let plan = file(include_str!("examples/sync-plan.json"));
    let run = file(include_str!("examples/sync-run.json"));
    let changes = file(include_str!("examples/sync-changes.json"));
    vec![
        ("listProductMappings", "200", grid.clone()),
        ("saveProductMappings", "200", grid),
        ("previewSync", "201", plan.clone()),
        ("getSyncPlan", "200", plan),
        ("getSyncRun", "200", run.clone()),
        ("startSyncRun", "202", run),
        ("listSyncRunChanges", "200", changes),
    ]
}

/// (operation, example) of request bodies.
fn requests() -> Vec<(&'static str, Value)> {
    vec![
        (
            "login",
            json!({"username": "admin", "password": "correct horse battery staple"}),
        ),
        (
            "saveProductMappings",
            json!({"rows": [
                {"application_id": "kes-windows", "workstation_product_id": 1,
                 "server_product_id": 2, "non_windows_product_id": 3},
                {"application_id": "ks-exchange", "product_id": 6}
            ]}),
        ),
        (
            "putProductMapping",
            json!({"product_id": 1, "workstation_product_id": 1, "server_product_id": 2,
                   "non_windows_product_id": 3}),
        ),
        (
            "putBillingSettings",
            json!({"bill_devices_by_category": true, "bill_licence_tiers": true}),
        ),
        (
            "putConnectWiseConnection",
            json!({"site_url": "https://na.myconnectwise.net", "company_id": "mymsp",
                   "public_key": "Xk3pQ7rT9vW2yZ4a", "private_key": "Bm8nC5dF1gH6jK0l",
                   "client_id": "2b9d6f3e-4a7c-4e1b-9f0d-3c5a7e9b1d2f", "api_version": "2025.1",
                   "max_concurrency": 4, "request_timeout_seconds": 30}),
        ),
        (
            "putKasperskyConnection",
            json!({"server_url": "https://ksc.example.com:13299", "user": "bridge-reader",
                   "password": "a long KSC password", "domain": "", "internal_user": true,
                   "max_concurrency": 4, "request_timeout_seconds": 60,
                   "insecure_skip_tls_verify": false}),
        ),
        (
            "collectUsageSnapshots",
            json!({"tenant_id": "01a23bd7-81c6-71a4-9b15-992947d69878"}),
        ),
        (
            "createCompanyMapping",
            json!({"tenant_id": "01a23bd7-81c6-71a4-9b15-992947d69878", "cw_company_id": 6,
                   "agreement_id": 7}),
        ),
        (
            "putCompanyMapping",
            json!({"tenant_id": "01a23bd7-81c6-71a4-9b15-992947d69878", "cw_company_id": 6,
                   "agreement_id": 7, "billing_enabled": false}),
        ),
        (
            "pushUsageSnapshot",
            json!({"tenant_id": "01a23bd7-9b0e-7d41-a3c5-0f2e8b6d4a19",
                   "taken_at": "2026-03-01T06:00:00Z",
                   "users": {"kes-cloud": 42}, "mailboxes": {"ks-office365": 40}}),
        ),
        (
            "createTenant",
            json!({"name": "Woodgrove Bank", "external_id": "bh-5f0c2a"}),
        ),
        (
            "createUser",
            json!({"username": "olivia", "password": "a long passphrase", "role": "operator"}),
        ),
        ("updateUser", json!({"role": "viewer", "disabled": true})),
        (
            "changeMyPassword",
            json!({"current_password": "a long passphrase", "new_password": "an even longer one"}),
        ),
        (
            "createServiceToken",
            json!({"name": "rmm-nightly-push", "role": "operator",
                   "expires_at": "2027-01-01T00:00:00Z"}),
        ),
        (
            "startSyncRun",
            json!({"plan_id": "01a23bd7-f27e-707d-bdfa-1ed27894f7aa", "approve": "all",
                   "trigger": "console"}),
        ),
        (
            "previewSync",
            json!({"company_mapping_id": "01a23bd7-9a41-7c3e-8d2a-5b1f0e6c7d80"}),
        ),
        (
            "createSecurityApplication",
            json!({"id": "ks-storage", "name": "Kaspersky Security for Storage",
                   "solution": "ksc", "licensing_model": "per_device",
                   "match_rules": {"name_patterns": ["Kaspersky Security for Storage"]}}),
        ),
        (
            "putBillingProfile",
            json!({"bill_customer": "Billable", "unit_price": "24.50", "unit_cost": "catalog",
                   "taxable": true,
                   "invoice_description": "Kaspersky protection for {company}: {quantity} × {application} ({category})"}),
        ),
        (
            "putCompanyTerms",
            json!({"products": [{"product_id": 1, "minimum_quantity": 10, "included_quantity": 5,
                                 "unit_price": "21.00"}],
                   "applications": [
                       {"application_id": "kes-windows", "category": "windows_server", "product": 4},
                       {"application_id": "ks-exchange", "excluded": true}]}),
        ),
        (
            "updateSecurityApplication",
            json!({"match_rules": {"name_patterns": ["Kaspersky Next EDR Optimum",
                   "Kaspersky EDR Optimum"], "skus": ["KL4066"]}}),
        ),
    ]
}

/// Writes the examples into `doc`, the JSON of the whole document.
pub fn add(doc: &mut Value) {
    let mut operations = Vec::new();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            operations.push(op);
        }
    }
    let find = |operations: &[&mut Value], id: &str| -> Option<usize> {
        operations.iter().position(|op| op["operationId"] == id)
    };
    for (id, status, example) in responses() {
        if let Some(i) = find(&operations, id) {
            let content = operations[i]
                .pointer_mut(&format!("/responses/{status}/content/application~1json"));
            if let Some(Value::Object(content)) = content {
                content.insert("example".into(), example);
            }
        }
    }
    for (id, example) in requests() {
        if let Some(i) = find(&operations, id) {
            let content = operations[i].pointer_mut("/requestBody/content/application~1json");
            if let Some(Value::Object(content)) = content {
                content.insert("example".into(), example);
            }
        }
    }
}
