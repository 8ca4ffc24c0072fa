//! Usage snapshots: pushed for Business Hub tenants, collected from the fake KSC, read back,
//! and the rule that an application with usage cannot be deleted.

use std::collections::BTreeSet;

use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    demo, demo_expected_usage, FakeKsc, FakeKscOptions, Fault, FaultKind,
};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, create_application, discovered_demo, spawn_app, TestApp};

async fn push(app: &TestApp, token: &str, body: Value) -> Response {
    app.send_json(Method::POST, "/api/v1/usage-snapshots", token, &body)
        .await
}

async fn collect(app: &TestApp, token: &str, body: Option<Value>) -> Response {
    let request = app.request(Method::POST, "/api/v1/usage-snapshots/collect", Some(token));
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

async fn json_of(response: Response) -> Value {
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

/// Creates a Business Hub tenant and returns its id.
async fn business_hub_tenant(app: &TestApp, name: &str) -> String {
    app.create_tenant(name, &format!("bh-{name}")).await
}

fn assert_all_released(fake: &FakeKsc) {
    assert_eq!(
        (
            fake.open_sessions(),
            fake.open_iterators(),
            fake.open_accessors()
        ),
        (0, 0, 0),
        "sessions, iterators or accessors left open"
    );
}

/// The latest snapshot of every tenant, by tenant name.
async fn latest_by_name(app: &TestApp) -> std::collections::BTreeMap<String, Value> {
    let page = json_of(
        app.get("/api/v1/usage-snapshots?latest=true", &app.admin_token)
            .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["tenant"]["name"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

async fn delete_application(app: &TestApp, id: &str) -> Response {
    app.request(
        Method::DELETE,
        &format!("/api/v1/security-applications/{id}"),
        Some(&app.admin_token),
    )
    .send()
    .await
    .unwrap()
}

#[actix_web::test]
async fn a_push_lists_every_problem_at_once() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    let tenant = business_hub_tenant(&app, "Acme").await;
    let retire = app
        .send_json(
            Method::PATCH,
            "/api/v1/security-applications/kes-cloud-pro",
            &app.admin_token,
            &json!({"retired": true}),
        )
        .await;
    assert_eq!(retire.status(), 200);

    let body = json!({
        "tenant_id": tenant,
        "taken_at": "2999-01-01T00:00:00Z",
        "devices": {"kes-windows": {"windows_server": -1, "laptops": 2}},
        "users": {"kes-cloud": 2.5, "ks-office365": 4, "kes-cloud-pro": 1, "nope": 1},
        "mailboxes": {"kes-cloud-plus": 3},
        "colour": "blue"
    });
    assert_problem(push(&app, &viewer, body.clone()).await, 403).await;
    let problem = assert_problem(push(&app, &operator, body).await, 422).await;
    let fields: BTreeSet<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = [
        "taken_at",
        "devices.kes-windows.windows_server",
        "devices.kes-windows.laptops",
        // A KSC application, and this tenant is a Business Hub one.
        "devices.kes-windows",
        "users.kes-cloud",
        // Licensed per mailbox.
        "users.ks-office365",
        "users.kes-cloud-pro",
        "users.nope",
        "mailboxes.kes-cloud-plus",
        "colour",
    ]
    .into();
    assert_eq!(fields, expected, "{problem}");
    assert_eq!(problem["errors"].as_array().unwrap().len(), expected.len());

    let unknown_tenant = assert_problem(
        push(&app, &operator, json!({"tenant_id": "nope", "users": {}})).await,
        422,
    )
    .await;
    assert_eq!(unknown_tenant["errors"][0]["field"], "tenant_id");
    let missing = assert_problem(push(&app, &operator, json!({})).await, 422).await;
    assert_eq!(missing["errors"][0]["field"], "tenant_id");
    let page = json_of(app.get("/api/v1/usage-snapshots", &viewer).await).await;
    assert_eq!(page["total"], 0, "nothing stored");
}

#[actix_web::test]
async fn a_push_for_a_ksc_tenant_is_refused() {
    let app = spawn_app().await;
    let fake = discovered_demo(&app, FakeKscOptions::new(demo())).await;
    let tenants = json_of(
        app.get("/api/v1/tenants?solution=ksc", &app.admin_token)
            .await,
    )
    .await;
    let contoso = tenants["items"][0]["id"].as_str().unwrap();
    let refused = assert_problem(
        push(
            &app,
            &app.admin_token,
            json!({"tenant_id": contoso, "devices": {"kes-windows": {"windows_workstation": 1}}}),
        )
        .await,
        409,
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("pulled"));
    fake.stop().await;
}

#[actix_web::test]
async fn pushed_snapshots_are_kept_as_history_and_the_latest_is_per_tenant() {
    let app = spawn_app().await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let acme = business_hub_tenant(&app, "Acme").await;
    let globex = business_hub_tenant(&app, "Globex").await;
    create_application(
        &app,
        json!({"id": "bh-endpoint", "name": "Endpoint (per device)",
            "solution": "business_hub", "licensing_model": "per_device"}),
    )
    .await;

    let first = push(
        &app,
        &operator,
        json!({"tenant_id": acme, "taken_at": "2025-06-01T10:00:00Z", "users": {"kes-cloud": 10}}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let second = push(
        &app,
        &operator,
        json!({"tenant_id": acme, "taken_at": "2025-06-01T11:00:00Z",
            "users": {"kes-cloud": 12}, "mailboxes": {"ks-office365": 40},
            "devices": {"bh-endpoint": {"windows_workstation": 3, "windows_server": 1}}}),
    )
    .await;
    assert_eq!(second.status(), 201);
    let location = second.headers()["location"].to_str().unwrap().to_string();
    let stored = json_of(second).await;
    assert_eq!(stored["source"], "push");
    assert_eq!(stored["status"], "ok");
    assert_eq!(stored["error"], Value::Null);
    assert_eq!(stored["taken_at"], "2025-06-01T11:00:00Z");
    assert_eq!(
        stored["tenant"],
        json!({"id": acme, "name": "Acme", "solution": "business_hub"})
    );
    assert_eq!(
        stored["usage"],
        json!({
            "devices": {"bh-endpoint": {"windows_workstation": 3, "windows_server": 1, "non_windows": 0}},
            "users": {"kes-cloud": 12},
            "mailboxes": {"ks-office365": 40},
            "unknown_keys": [],
            "ambiguous_keys": []
        })
    );
    assert_eq!(json_of(app.get(&location, &viewer).await).await, stored);
    // Without `taken_at`: now.
    let now = json_of(
        push(
            &app,
            &operator,
            json!({"tenant_id": globex, "users": {"kes-cloud-plus": 5}}),
        )
        .await,
    )
    .await;

    let history = json_of(
        app.get(
            &format!("/api/v1/usage-snapshots?tenant_id={acme}"),
            &viewer,
        )
        .await,
    )
    .await;
    let taken: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["taken_at"].as_str().unwrap())
        .collect();
    assert_eq!(taken, ["2025-06-01T11:00:00Z", "2025-06-01T10:00:00Z"]);

    let latest = json_of(
        app.get("/api/v1/usage-snapshots?latest=true", &viewer)
            .await,
    )
    .await;
    assert_eq!(latest["total"], 2);
    let ids: Vec<&Value> = latest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, [&now["id"], &stored["id"]], "newest first");
    let acme_latest = json_of(
        app.get(
            &format!("/api/v1/usage-snapshots?latest=true&tenant_id={acme}"),
            &viewer,
        )
        .await,
    )
    .await;
    assert_eq!(acme_latest["items"], json!([stored]));

    let paged = json_of(
        app.get("/api/v1/usage-snapshots?per_page=1&page=2", &viewer)
            .await,
    )
    .await;
    assert_eq!(
        (
            paged["total"].as_i64(),
            paged["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    assert_problem(app.get("/api/v1/usage-snapshots/nope", &viewer).await, 404).await;
}

#[actix_web::test]
async fn usage_is_collected_from_every_enabled_ksc_tenant() {
    let app = spawn_app().await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    let fake = discovered_demo(&app, FakeKscOptions::new(demo())).await;

    let result = json_of(collect(&app, &operator, None).await).await;
    assert_eq!(
        (result["collected"].as_u64(), result["failed"].as_u64()),
        (Some(3), Some(0))
    );
    let names: Vec<&str> = result["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // Northwind is disabled: not billed, not read.
    assert_eq!(names, ["Contoso", "Fabrikam", "Tailspin"]);
    assert_all_released(&fake);

    let latest = latest_by_name(&app).await;
    let expected = demo_expected_usage();
    assert_eq!(latest.len(), expected.len());
    for (name, usage) in &expected {
        let snapshot = &latest[name];
        assert_eq!(snapshot["source"], "ksc_pull");
        assert_eq!(snapshot["status"], "ok");
        assert_eq!(
            snapshot["usage"],
            serde_json::to_value(usage).unwrap(),
            "{name}"
        );
        // A fresh installation recognises every real product name of the demo, unedited.
        assert_eq!(snapshot["usage"]["unknown_keys"], json!([]), "{name}");
        assert_eq!(snapshot["usage"]["ambiguous_keys"], json!([]), "{name}");
    }

    // One tenant only.
    let contoso = latest["Contoso"]["tenant"]["id"].as_str().unwrap();
    let one = json_of(collect(&app, &operator, Some(json!({"tenant_id": contoso}))).await).await;
    assert_eq!(one["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(one["tenants"][0]["status"], "ok");
    let history = json_of(
        app.get(
            &format!("/api/v1/usage-snapshots?tenant_id={contoso}"),
            &operator,
        )
        .await,
    )
    .await;
    assert_eq!(history["total"], 2);
    assert_eq!(history["items"][0]["id"], one["tenants"][0]["snapshot_id"]);

    let business_hub = business_hub_tenant(&app, "Acme").await;
    for tenant_id in [business_hub.as_str(), "nope"] {
        let problem = assert_problem(
            collect(&app, &operator, Some(json!({"tenant_id": tenant_id}))).await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "tenant_id");
    }
    assert_problem(
        collect(&app, &operator, Some(json!({"tenant": contoso}))).await,
        422,
    )
    .await;
    assert_all_released(&fake);
    fake.stop().await;
}

#[actix_web::test]
async fn a_failing_virtual_server_gets_a_failed_snapshot_and_the_others_are_collected() {
    let app = spawn_app().await;
    let fake = discovered_demo(&app, FakeKscOptions::new(demo())).await;
    fake.inject(
        Fault::new(
            "LicenseKeys.EnumKeys",
            FaultKind::Pxg {
                code: 1950,
                message: "licence storage unavailable".into(),
            },
        )
        .on_vserver("Fabrikam"),
    );

    let result = json_of(collect(&app, &app.admin_token, None).await).await;
    assert_eq!(
        (result["collected"].as_u64(), result["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let fabrikam = &result["tenants"][1];
    assert_eq!(
        (fabrikam["name"].as_str(), fabrikam["status"].as_str()),
        (Some("Fabrikam"), Some("failed"))
    );
    assert!(fabrikam["error"]
        .as_str()
        .unwrap()
        .contains("licence storage unavailable"));
    assert_all_released(&fake);

    let latest = latest_by_name(&app).await;
    let expected = demo_expected_usage();
    for name in ["Contoso", "Tailspin"] {
        assert_eq!(
            latest[name]["usage"],
            serde_json::to_value(&expected[name]).unwrap()
        );
    }
    let failed = &latest["Fabrikam"];
    assert_eq!(
        (failed["status"].as_str(), &failed["usage"]),
        (Some("failed"), &Value::Null)
    );
    assert_eq!(failed["id"], fabrikam["snapshot_id"]);
    assert_eq!(failed["error"], fabrikam["error"]);

    // A virtual server that refuses the login fails alone too.
    fake.clear_faults();
    fake.inject(
        Fault::new(
            "login",
            FaultKind::Status {
                status: 401,
                retry_after: None,
            },
        )
        .on_vserver("Tailspin"),
    );
    let refused = json_of(collect(&app, &app.admin_token, None).await).await;
    let statuses: Vec<&str> = refused["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "failed"]);
    assert_all_released(&fake);
    fake.stop().await;
}

#[actix_web::test]
async fn collecting_needs_a_ksc_connection() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    assert_problem(collect(&app, &viewer, None).await, 403).await;
    assert_problem(collect(&app, &app.admin_token, None).await, 409).await;
}

#[actix_web::test]
async fn an_application_with_usage_in_a_latest_snapshot_cannot_be_deleted() {
    let app = spawn_app().await;
    let acme = business_hub_tenant(&app, "Acme").await;
    create_application(
        &app,
        json!({"id": "bh-seats", "name": "Seats", "solution": "business_hub",
            "licensing_model": "per_user"}),
    )
    .await;
    let pushed = push(
        &app,
        &app.admin_token,
        json!({"tenant_id": acme, "users": {"bh-seats": 2}}),
    )
    .await;
    assert_eq!(pushed.status(), 201);
    let refused = assert_problem(delete_application(&app, "bh-seats").await, 409).await;
    assert!(refused["detail"].as_str().unwrap().contains("retire"));

    // The tenant's complete usage no longer names it: nothing uses it any more.
    let pushed = push(
        &app,
        &app.admin_token,
        json!({"tenant_id": acme, "users": {"kes-cloud": 4}}),
    )
    .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(delete_application(&app, "bh-seats").await.status(), 204);

    // A failed collection does not erase the usage read before it.
    let fake = discovered_demo(&app, FakeKscOptions::new(demo())).await;
    json_of(collect(&app, &app.admin_token, None).await).await;
    fake.inject(Fault::new(
        "LicenseKeys.EnumKeys",
        FaultKind::Pxg {
            code: 1950,
            message: "down".into(),
        },
    ));
    let failed = json_of(collect(&app, &app.admin_token, None).await).await;
    assert_eq!(failed["failed"], 3);
    assert_problem(delete_application(&app, "kes-linux").await, 409).await;
    // Nothing in the demo uses Endpoint Security for Mobile.
    assert_eq!(delete_application(&app, "kes-mobile").await.status(), 204);
    fake.stop().await;
}

#[actix_web::test]
async fn an_unknown_key_shows_in_the_unbilled_report_and_is_taught_in_one_call() {
    use kaspersky_msp_bridge::cli::sandbox::fake_ksc::FakeKey;
    let app = spawn_app().await;
    let fake = discovered_demo(&app, FakeKscOptions::new(demo())).await;
    let name = "Kaspersky Security for Storage 3.4";
    fake.edit(|data| {
        let contoso = &mut data.vservers[0].tenant;
        contoso
            .keys
            .push(FakeKey::new("C-KESS", name, 0, 1).current_on(&["c-ws-1", "c-ws-2"]));
    });
    json_of(collect(&app, &app.admin_token, None).await).await;
    let report = json_of(
        app.get(
            "/api/v1/reports/unbilled-usage?per_page=100",
            &app.admin_token,
        )
        .await,
    )
    .await;
    let keys: Vec<&Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == "unknown_key")
        .collect();
    assert_eq!(keys.len(), 1, "{report}");
    assert_eq!(keys[0]["quantity"], 2, "the hosts it would count");
    assert_eq!(keys[0]["application_id"], Value::Null);
    assert_eq!(keys[0]["key"]["product_name"], name);

    // Bad bodies and non-KSC applications are refused; nothing changes.
    let path = "/api/v1/security-applications/ksws/match-rules";
    for bad in [
        json!({}),
        json!({"product_name": name, "app_id": "7"}),
        json!({"product_name": " "}),
    ] {
        let response = app
            .send_json(Method::POST, path, &app.admin_token, &bad)
            .await;
        assert_problem(response, 422).await;
    }
    let hub = "/api/v1/security-applications/kes-cloud/match-rules";
    let response = app
        .send_json(
            Method::POST,
            hub,
            &app.admin_token,
            &json!({"product_name": name}),
        )
        .await;
    assert_problem(response, 409).await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    let response = app
        .send_json(
            Method::POST,
            path,
            &operator,
            &json!({"product_name": name}),
        )
        .await;
    assert_problem(response, 403).await;

    // One call teaches it; a second equal one changes nothing.
    for _ in 0..2 {
        let taught = app
            .send_json(
                Method::POST,
                path,
                &app.admin_token,
                &json!({"product_name": name}),
            )
            .await;
        assert_eq!(taught.status(), 200);
        let taught = json_of(taught).await;
        let patterns = taught["match_rules"]["name_patterns"].as_array().unwrap();
        assert_eq!(
            patterns.iter().filter(|p| *p == name).count(),
            1,
            "{taught}"
        );
    }
    json_of(collect(&app, &app.admin_token, None).await).await;
    let latest = latest_by_name(&app).await;
    let contoso = &latest["Contoso"]["usage"];
    assert_eq!(contoso["unknown_keys"], json!([]), "{contoso}");
    assert_eq!(
        contoso["devices"]["ksws"]["windows_workstation"], 2,
        "{contoso}"
    );
    let report = json_of(
        app.get(
            "/api/v1/reports/unbilled-usage?per_page=100",
            &app.admin_token,
        )
        .await,
    )
    .await;
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["reason"] != "unknown_key"),
        "{report}"
    );
}
