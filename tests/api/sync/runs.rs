//! Sync runs end to end: previews applied by plan id, adoption, re-creation, lost responses, frozen
//! and released agreements, one run at a time, partial runs and unbilled usage.

use super::*;

#[actix_web::test]
async fn a_preview_writes_nothing_and_is_applied_exactly_by_plan_id() {
    let w = world().await;
    w.push_users(7).await;
    let preview = w
        .app
        .request(
            Method::POST,
            "/api/v1/sync/preview",
            Some(&w.app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 201);
    let plan: Value = preview.json().await.unwrap();
    assert_eq!(w.cw.writes(), 0);
    let line = &plan["lines"][0];
    assert_eq!(
        (line["action"].as_str(), line["desired_quantity"].as_u64()),
        (Some("create"), Some(7))
    );
    assert_eq!(line["cw_company_id"], w.company);
    assert_eq!(line["tenant_name"], "Acme tenant");

    // Usage changes after the preview: the preview is still what gets applied.
    w.push_users(9).await;
    let run = w.sync(Some(json!({"plan_id": plan["id"]}))).await;
    assert_eq!(run["plan_id"], plan["id"]);
    assert_eq!(w.quantity_of(w.products[0]), Some(7.0));

    // A preview whose ConnectWise state changed since is re-checked, not applied blindly.
    let stale_plan: Value = w
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
    assert_eq!(stale_plan["lines"][0]["action"], "update");
    let id = w.active_additions()[0].id.unwrap();
    assert!(w.cw.remove_addition(w.agreement, id));
    let writes = w.cw.writes();
    let run = w.sync(Some(json!({"plan_id": stale_plan["id"]}))).await;
    let changes = w.changes(&run).await;
    assert_eq!(changes[0]["result"], "stale", "{changes:?}");
    assert_eq!(w.cw.writes(), writes);
    // The next fresh run repairs it.
    w.sync(None).await;
    assert_eq!(w.quantity_of(w.products[0]), Some(9.0));
}

#[actix_web::test]
async fn unmanaged_additions_are_adopted_alone_and_reported_in_conflict() {
    let w = world().await;
    let unmanaged = |quantity: f64| Addition {
        product: Some(Reference::id(w.products[0])),
        quantity: Some(quantity),
        bill_customer: Some("Billable".into()),
        ..Default::default()
    };
    let lone = w.cw.add_addition(w.agreement, &unmanaged(4.0));
    w.push_users(6).await;
    let run = w.sync(None).await;
    let change = &w.changes(&run).await[0];
    assert_eq!(
        (change["action"].as_str(), change["addition_id"].as_i64()),
        (Some("adopt"), Some(lone))
    );
    assert_eq!(w.quantity_of(w.products[0]), Some(6.0));
    assert_eq!(w.active_additions().len(), 1, "adopted, not duplicated");

    // Two unmanaged additions of another product: conflict, untouched.
    w.map("kes-cloud-plus", json!({"product_id": w.products[1]}))
        .await;
    for q in [1.0, 2.0] {
        w.cw.add_addition(
            w.agreement,
            &Addition {
                product: Some(Reference::id(w.products[1])),
                ..unmanaged(q)
            },
        );
    }
    w.push(json!({"users": {"kes-cloud": 6, "kes-cloud-plus": 5}}))
        .await;
    let writes = w.cw.writes();
    let run = w.sync(None).await;
    let conflict = w
        .changes(&run)
        .await
        .into_iter()
        .find(|c| c["product_id"] == w.products[1])
        .unwrap();
    assert_eq!(
        (conflict["action"].as_str(), conflict["result"].as_str()),
        (Some("conflict"), Some("conflict"))
    );
    assert_eq!(w.cw.writes(), writes, "nothing written");
}

#[actix_web::test]
async fn an_addition_deleted_in_connectwise_is_created_again() {
    let w = world().await;
    w.push_users(5).await;
    w.sync(None).await;
    let id = w.active_additions()[0].id.unwrap();
    let deleted = w.cw.remove_addition(w.agreement, id);
    assert!(deleted);
    let run = w.sync(None).await;
    assert_eq!(w.changes(&run).await[0]["action"], "create");
    assert_eq!(w.quantity_of(w.products[0]), Some(5.0));
}

#[actix_web::test]
async fn a_lost_post_response_never_duplicates() {
    let w = world().await;
    w.push_users(5).await;
    w.cw.inject_fault("POST", route::ADDITIONS, Fault::ApplyThenDrop, 1);
    let run = w.sync(None).await;
    assert_eq!(run["status"], "partial");
    assert_eq!(w.changes(&run).await[0]["result"], "failed");
    assert_eq!(
        w.cw.additions(w.agreement).len(),
        1,
        "the write happened once"
    );
    assert_eq!(
        w.cw.calls("POST", route::ADDITIONS),
        1,
        "and was not repeated"
    );

    let next = w.sync(None).await;
    assert_eq!(next["status"], "succeeded");
    assert_eq!(w.changes(&next).await[0]["action"], "adopt");
    assert_eq!(w.cw.additions(w.agreement).len(), 1, "still one addition");
}

#[actix_web::test]
async fn a_stale_push_freezes_the_agreement() {
    let w = world().await;
    let old = (chrono::Utc::now() - chrono::Duration::days(5)).to_rfc3339();
    w.push(json!({"taken_at": old, "users": {"kes-cloud": 9}}))
        .await;
    let run = w.sync(None).await;
    assert_eq!(w.cw.writes(), 0, "old usage is never billed");
    assert_eq!(run["status"], "partial", "a tenant was not billed: {run}");
    let skipped = run["summary"]["skipped_tenants"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{run}");
    assert_eq!(skipped[0]["kind"], "skipped");
    assert_eq!(run["summary"]["tenants_skipped"], 1);
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("tenants not billed"),
        "{run}"
    );
    let plan: Value = w
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
    assert_eq!(plan["frozen"][0]["reason"]["kind"], "push_too_old");

    // Billed, then the usage goes stale: the agreement is frozen, nothing is lowered or cancelled.
    w.push_users(5).await;
    w.sync(None).await;
    crate::helpers::set_max_usage_age_hours(&w.app, 0);
    let writes = w.cw.writes();
    let run = w.sync(None).await;
    let changes = w.changes(&run).await;
    assert_eq!(
        (changes[0]["action"].as_str(), changes[0]["result"].as_str()),
        (Some("skipped"), Some("skipped"))
    );
    assert_eq!(w.cw.writes(), writes);
    assert_eq!(w.quantity_of(w.products[0]), Some(5.0));
}

#[actix_web::test]
async fn billing_disabled_releases_and_a_moved_mapping_cancels_on_the_old_agreement() {
    let w = world().await;
    w.push_users(5).await;
    w.sync(None).await;
    let second = w.cw.add_agreement(&Agreement {
        name: Some("New agreement".into()),
        company: Some(Reference::id(w.company)),
        agreement_status: Some("Active".into()),
        ..Default::default()
    });
    let path = format!("/api/v1/company-mappings/{}", w.mapping);
    let moved = w
        .app
        .send_json(
            Method::PUT,
            &path,
            &w.app.admin_token,
            &json!({"tenant_id": w.tenant, "cw_company_id": w.company, "agreement_id": second}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let run = w.sync(Some(json!({"approve": "all"}))).await;
    let changes = w.changes(&run).await;
    let actions: Vec<(&str, i64)> = changes
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["agreement_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("cancel", w.agreement)) && actions.contains(&("create", second)),
        "{actions:?}"
    );

    // Billing switched off: the additions stay exactly as they are and are no longer managed.
    let off = w.app.send_json(Method::PUT, &path, &w.app.admin_token,
        &json!({"tenant_id": w.tenant, "cw_company_id": w.company, "agreement_id": second, "billing_enabled": false})).await;
    assert_eq!(off.status(), 200);
    w.push_users(50).await;
    let writes = w.cw.writes();
    let released = w.sync(None).await;
    assert_eq!(w.cw.writes(), writes);
    assert!(w
        .changes(&released)
        .await
        .iter()
        .any(|c| c["action"] == "release"));
}

#[actix_web::test]
async fn one_run_at_a_time() {
    let w = world().await;
    w.push_users(5).await;
    w.cw.set_latency(Duration::from_millis(300));
    let first = w
        .app
        .request(Method::POST, "/api/v1/sync/runs", Some(&w.app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second = w
        .app
        .request(Method::POST, "/api/v1/sync/runs", Some(&w.app.admin_token))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(second, 409).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains(first["id"].as_str().unwrap()));
    w.cw.set_latency(Duration::ZERO);
}

#[actix_web::test]
async fn unbilled_usage_is_reported() {
    let w = world().await;
    w.push(json!({"users": {"kes-cloud": 3, "kes-cloud-pro": 4}}))
        .await;
    let report: Value = w
        .app
        .get("/api/v1/reports/unbilled-usage", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["total"], 1);
    assert_eq!(report["items"][0]["application_id"], "kes-cloud-pro");
    assert_eq!(report["items"][0]["reason"], "application_not_mapped");
}

#[actix_web::test]
async fn a_slow_connectwise_leaves_the_run_partial_and_the_next_run_completes_it() {
    let w = world().await;
    let o = w.cw.options();
    let quick = json!({"site_url": w.cw.base_url(), "company_id": o.company_id, "public_key": o.public_key,
        "client_id": o.client_id, "request_timeout_seconds": 1});
    assert_eq!(
        w.app
            .send_json(
                Method::PUT,
                "/api/v1/connections/connectwise",
                &w.app.admin_token,
                &quick
            )
            .await
            .status(),
        200
    );
    w.push_users(5).await;
    w.cw.inject_fault(
        "POST",
        route::ADDITIONS,
        Fault::SlowAnswer(Duration::from_millis(1500)),
        1,
    );
    let run = w.sync(None).await;
    assert_eq!(run["status"], "partial");
    let change = &w.changes(&run).await[0];
    assert_eq!(change["result"], "failed");
    assert!(
        change["detail"].as_str().unwrap().contains("outcome"),
        "{change}"
    );
    // The fake applies the slow POST once its answer is due: wait for it, not for a fixed time.
    for _ in 0..200 {
        if !w.cw.additions(w.agreement).is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        w.cw.additions(w.agreement).len(),
        1,
        "the late write landed"
    );

    let next = w.sync(None).await;
    assert_eq!(next["status"], "succeeded");
    assert_eq!(
        w.cw.additions(w.agreement).len(),
        1,
        "completed without a duplicate"
    );
    assert_eq!(w.quantity_of(w.products[0]), Some(5.0));
}

#[actix_web::test]
async fn a_run_started_from_the_console_says_so() {
    let w = world().await;
    w.push_users(2).await;
    let run = w.sync(Some(json!({"trigger": "console"}))).await;
    assert_eq!(run["trigger"], "console");
    let listed: Value = w
        .app
        .get("/api/v1/sync/runs?per_page=1", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["trigger"], "console");
    // Without it (older clients), the run is an API run; the other triggers are not for clients.
    assert_eq!(w.sync(None).await["trigger"], "api");
    let refused = w
        .app
        .send_json(
            Method::POST,
            "/api/v1/sync/runs",
            &w.app.admin_token,
            &json!({"trigger": "schedule"}),
        )
        .await;
    let problem = assert_problem(refused, 422).await;
    assert_eq!(problem["errors"][0]["field"], "trigger");
}

#[actix_web::test]
async fn usage_that_blocks_its_tenant_is_reported_as_unbilled() {
    let w = world().await;
    crate::helpers::create_application(
        &w.app,
        json!({"id": "bh-endpoint", "name": "Endpoint (per device)",
            "solution": "business_hub", "licensing_model": "per_device"}),
    )
    .await;
    w.map("bh-endpoint", json!({"product_id": w.products[1]}))
        .await;
    w.push(json!({"users": {"kes-cloud": 3},
        "devices": {"bh-endpoint": {"windows_workstation": 2, "windows_server": 1}}}))
        .await;
    // Billing by category: the application has only its single product, so it blocks.
    let settings = w
        .app
        .get("/api/v1/settings/billing", &w.app.admin_token)
        .await;
    let etag = settings.headers()["etag"].to_str().unwrap().to_string();
    let switched = w
        .app
        .request(
            Method::PUT,
            "/api/v1/settings/billing",
            Some(&w.app.admin_token),
        )
        .header("If-Match", etag)
        .json(&json!({"bill_devices_by_category": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 200);
    let report: Value = w
        .app
        .get("/api/v1/reports/unbilled-usage", &w.app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let blocked: Vec<(&str, &str, u64)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["reason"].as_str().unwrap(),
                u["category"].as_str().unwrap_or("-"),
                u["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        blocked,
        [
            ("blocked", "windows_workstation", 2),
            ("blocked", "windows_server", 1)
        ],
        "{report}"
    );
    assert_eq!(report["items"][0]["tenant_id"], json!(w.tenant));
    assert_eq!(report["items"][0]["application_id"], "bh-endpoint");
}
