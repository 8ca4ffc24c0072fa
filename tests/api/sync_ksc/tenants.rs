//! Held moves, unreadable and blocked tenants, ConnectWise storms, interrupted runs and usage
//! without application counts.

use super::*;

#[actix_web::test]
async fn a_held_move_is_approved_whole_by_naming_one_line() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.app.sync(None).await;
    // The remap comes with a real drop (Contoso's servers lose their key): 6 → 3 is 50 %, within
    // the guard, so the guard is tightened to see the move held.
    let settings = w
        .app
        .send_json(
            Method::PUT,
            "/api/v1/settings/sync",
            &w.app.admin_token,
            &json!({"schedule_enabled": false, "schedule": "0 2 * * *", "time_zone": "UTC",
                "effective_date_policy": "today", "cancel_date_policy": "end_of_month",
                "max_decrease_percent": 10, "max_usage_age_hours": 48,
                "retention": {"runs_days": 400, "snapshots_days": 400, "audit_events_days": 400}}),
        )
        .await;
    assert_eq!(settings.status(), 200, "{}", settings.text().await.unwrap());
    w.ksc.edit(|data| {
        let contoso = &mut data.vservers[0].tenant;
        contoso.keys[0]
            .hosts
            .retain(|(host, _)| host.starts_with("c-ws"));
    });
    w.map("kes-windows", json!({"product_id": w.products[1]}))
        .await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "held", "{run}");
    assert_eq!(run["summary"]["lines_held"], 2, "{run}");
    assert_eq!(
        w.billed("Contoso"),
        billed(&[(0, 6.0)]),
        "nothing half done"
    );
    let changes = w.app.run_changes(&run).await;
    let new_line = changes
        .iter()
        .find(|c| c["agreement_id"] == w.agreements["Contoso"] && c["new_quantity"] == 3)
        .unwrap();
    let key =
        json!([{"agreement_id": new_line["agreement_id"], "product_id": new_line["product_id"]}]);
    let run = w.app.sync(Some(json!({"approve": key}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(w.billed("Contoso"), billed(&[(1, 3.0)]));
    w.assert_never_billed_twice("Contoso", 3.0);
}

#[actix_web::test]
async fn unreadable_and_blocked_tenants_get_no_changes() {
    let w = world_of(&["Contoso", "Fabrikam", "Northwind"]).await;
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
    use kaspersky_msp_bridge::adapters::db::{self, json_text::JsonText, sync::RunRow};
    let then = db::now() - chrono::Duration::minutes(10);
    let run = RunRow {
        id: db::new_id(),
        trigger_kind: Trigger::Schedule,
        status: RunStatus::Running,
        plan_id: None,
        dry_run: false,
        started_at: then,
        finished_at: None,
        holder: "dead-process".into(),
        summary_json: JsonText(json!({})),
        error: None,
    };
    app.with_db(|conn| {
        db::sync::insert_run(conn, &run).unwrap();
        let leased = db::sync::try_acquire_lease(
            conn,
            "dead-process",
            &run.id,
            then,
            then + chrono::Duration::seconds(60),
        );
        assert!(leased.unwrap());
    });
    run.id
}

#[actix_web::test]
async fn usage_no_application_counts_makes_the_run_partial_and_names_it() {
    let w = world().await;
    w.map("kes-windows", json!({"product_id": w.products[0]}))
        .await;
    w.ksc.edit(|data| {
        let contoso = data
            .vservers
            .iter_mut()
            .find(|vs| vs.name == "Contoso")
            .unwrap();
        contoso.tenant.keys.push(
            fake_ksc::FakeKey::new("C-FUTURE", "Kaspersky Quantum Shield 2031", 0, 1)
                .current_on(&["c-ws-2"]),
        );
    });
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "partial", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("Contoso (Kaspersky Quantum Shield 2031)"),
        "{error}"
    );
    let keys = &run["summary"]["unattributed_keys"];
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys[0]["tenant_name"], "Contoso");
    assert_eq!(keys[0]["unknown_keys"], 1);
    assert_eq!(
        keys[0]["product_names"],
        json!(["Kaspersky Quantum Shield 2031"])
    );
    // What could be counted is billed all the same.
    assert_eq!(w.billed("Contoso"), billed(&[(0, 6.0)]));
    assert_eq!(w.billed("Fabrikam"), billed(&[(0, 1.0)]));
    // Monitoring sees it: the gauge the BridgeUnattributedUsage alert watches.
    let metrics = w
        .app
        .client
        .get(w.app.url("/metrics"))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("\nbridge_sync_last_run_unattributed_tenants 1\n"),
        "{metrics}"
    );

    // Taught to an application: the next run succeeds.
    w.app
        .admin_json(
            Method::POST,
            "/api/v1/security-applications/kes-windows/match-rules",
            &json!({"product_name": "Kaspersky Quantum Shield 2031"}),
            200,
        )
        .await;
    let run = w.app.sync(None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
}
