//! Billing settings and product mappings: the two mapping forms, the grid, bulk and single saves,
//! and who may change them.

use super::*;

#[actix_web::test]
async fn billing_settings_have_an_etag_and_are_audited() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vic", "viewer").await;
    let (_, operator) = app.user_with_role("ora", "operator").await;
    let path = "/api/v1/settings/billing";
    let read = app.get(path, &viewer).await;
    let first = etag(&read);
    assert_eq!(
        json_of(read).await,
        json!({"bill_devices_by_category": false, "bill_licence_tiers": true})
    );

    // A client that knows only the category toggle leaves the tiers as they are.
    let on = json!({"bill_devices_by_category": true});
    assert_problem(put_with(&app, path, &viewer, &first, &on).await, 403).await;
    assert_problem(put_with(&app, path, &operator, "\"stale\"", &on).await, 412).await;
    let changed = put_with(&app, path, &operator, &first, &on).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(etag(&changed), first);
    assert_problem(
        put_with(
            &app,
            path,
            &operator,
            &first,
            &json!({"bill_devices_by_category": false}),
        )
        .await,
        412,
    )
    .await;
    assert_eq!(
        json_of(app.get(path, &viewer).await).await,
        json!({"bill_devices_by_category": true, "bill_licence_tiers": true})
    );
    assert_eq!(
        invalid_fields(
            app.send_json(Method::PUT, path, &operator, &json!({"bill": 1}))
                .await
        )
        .await,
        ["bill_devices_by_category", "bill"]
    );

    let events = json_of(
        app.get("/api/v1/audit-events?entity_type=billing_settings", &viewer)
            .await,
    )
    .await;
    assert_eq!(events["total"], 1);
    assert_eq!(
        events["items"][0]["before"],
        json!({"bill_devices_by_category": false, "bill_licence_tiers": true})
    );
    assert_eq!(
        events["items"][0]["after"],
        json!({"bill_devices_by_category": true, "bill_licence_tiers": true})
    );
}

#[actix_web::test]
async fn single_product_form_is_in_force_with_category_billing_off() {
    let app = app_with_catalog().await;
    let saved = put_mapping(&app, "kes-windows", json!({"product_id": WORKSTATION})).await;
    assert_eq!(saved.status(), 200);
    let saved = json_of(saved).await;
    assert_eq!(saved["status"], "complete");
    assert_eq!(saved["form_in_force"], "single");
    assert_eq!(saved["products"][0]["identifier"], "KES-WS");
    assert_eq!(saved["products"][0]["description"], "KES-WS (description)");

    // Category products alone do not bill while the toggle is off.
    let fields = invalid_fields(put_mapping(&app, "kes-linux", all_categories(SERVER)).await).await;
    assert_eq!(fields, ["product_id"]);
    let partial = json!({"product_id": SERVER, "workstation_product_id": SERVER});
    let fields = invalid_fields(put_mapping(&app, "kes-linux", partial).await).await;
    assert_eq!(fields, ["server_product_id", "non_windows_product_id"]);

    let per_user = json!({"product_id": PER_USER, "server_product_id": PER_USER});
    let problem = assert_problem(put_mapping(&app, "kes-cloud-plus", per_user).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "server_product_id");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("per-user"));
    assert_eq!(
        put_mapping(&app, "ks-office365", json!({"product_id": PER_USER}))
            .await
            .status(),
        200
    );

    let fields =
        invalid_fields(put_mapping(&app, "kes-mac", json!({"product_id": UNKNOWN})).await).await;
    assert_eq!(fields, ["product_id"]);
    let fields = invalid_fields(
        put_mapping(
            &app,
            "kes-mac",
            json!({"product_id": INACTIVE, "extra": true}),
        )
        .await,
    )
    .await;
    assert_eq!(fields, ["extra"]);
    let problem = assert_problem(
        put_mapping(&app, "kes-mac", json!({"product_id": INACTIVE})).await,
        422,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("inactive"));
    assert_eq!(mapping(&app, "kes-mac").await["status"], "unmapped");
}

#[actix_web::test]
async fn category_form_is_in_force_with_category_billing_on() {
    let app = app_with_catalog().await;
    set_by_category(&app, true).await;
    let fields =
        invalid_fields(put_mapping(&app, "kes-windows", json!({"product_id": WORKSTATION})).await)
            .await;
    assert_eq!(
        fields,
        [
            "workstation_product_id",
            "server_product_id",
            "non_windows_product_id"
        ]
    );
    let partial = json!({"workstation_product_id": WORKSTATION, "server_product_id": SERVER});
    let fields = invalid_fields(put_mapping(&app, "kes-windows", partial).await).await;
    assert_eq!(fields, ["non_windows_product_id"]);
    let inactive = json!({"workstation_product_id": WORKSTATION, "server_product_id": INACTIVE,
        "non_windows_product_id": UNKNOWN});
    let fields = invalid_fields(put_mapping(&app, "kes-windows", inactive).await).await;
    assert_eq!(fields, ["server_product_id", "non_windows_product_id"]);

    // The same product may serve several categories.
    let saved = json_of(put_mapping(&app, "kes-windows", all_categories(WORKSTATION)).await).await;
    assert_eq!(
        (saved["status"].as_str(), saved["form_in_force"].as_str()),
        (Some("complete"), Some("category"))
    );
    assert_eq!(saved["products"].as_array().unwrap().len(), 1);

    // Per-user and per-mailbox applications keep the single form.
    let per_user =
        json_of(put_mapping(&app, "kes-cloud", json!({"product_id": PER_USER})).await).await;
    assert_eq!(
        (
            per_user["status"].as_str(),
            per_user["form_in_force"].as_str()
        ),
        (Some("complete"), Some("single"))
    );
    let fields =
        invalid_fields(put_mapping(&app, "ks-office365", all_categories(PER_USER)).await).await;
    assert_eq!(
        fields,
        [
            "workstation_product_id",
            "server_product_id",
            "non_windows_product_id"
        ]
    );
}

#[actix_web::test]
async fn toggling_back_and_forth_keeps_both_forms() {
    let app = app_with_catalog().await;
    let mut both = all_categories(SERVER);
    both["product_id"] = json!(WORKSTATION);
    assert_eq!(put_mapping(&app, "ksws", both).await.status(), 200);
    assert_eq!(
        put_mapping(&app, "kes-linux", json!({"product_id": NON_WINDOWS}))
            .await
            .status(),
        200
    );

    for on in [true, false, true] {
        set_by_category(&app, on).await;
        let ksws = mapping(&app, "ksws").await;
        assert_eq!(ksws["product_id"], WORKSTATION);
        assert_eq!(ksws["server_product_id"], SERVER);
        assert_eq!(ksws["status"], "complete");
        // Only the single form is stored: incomplete while billing by category.
        let linux = mapping(&app, "kes-linux").await;
        assert_eq!(linux["product_id"], NON_WINDOWS);
        assert_eq!(linux["status"], if on { "incomplete" } else { "complete" });
        assert_eq!(
            linux["form_in_force"],
            if on { "category" } else { "single" }
        );
    }
}

#[actix_web::test]
async fn the_grid_comes_whole_with_products_and_statuses() {
    let app = app_with_catalog().await;
    put_mapping(&app, "kes-windows", json!({"product_id": WORKSTATION})).await;
    let grid = json_of(
        app.get("/api/v1/product-mappings?solution=ksc", &app.admin_token)
            .await,
    )
    .await;
    assert_eq!(grid["bill_devices_by_category"], false);
    let rows = grid["mappings"].as_array().unwrap();
    assert_eq!(rows.len(), 20, "the seeded KSC applications");
    let windows = rows
        .iter()
        .find(|r| r["application_id"] == "kes-windows")
        .unwrap();
    assert_eq!(windows["status"], "complete");
    assert_eq!(windows["products"][0]["identifier"], "KES-WS");
    assert_eq!(windows["products"][0]["selectable"], true);
    assert!(rows
        .iter()
        .filter(|r| r["application_id"] != "kes-windows")
        .all(|r| r["status"] == "unmapped"));
    let hub = json_of(
        app.get(
            "/api/v1/product-mappings?solution=business_hub",
            &app.admin_token,
        )
        .await,
    )
    .await;
    assert_eq!(hub["mappings"].as_array().unwrap().len(), 6);
    assert_problem(
        app.get("/api/v1/product-mappings?solution=sap", &app.admin_token)
            .await,
        400,
    )
    .await;
}

#[actix_web::test]
async fn a_bulk_save_is_all_or_nothing_and_leaves_other_rows_alone() {
    let app = app_with_catalog().await;
    let (_, operator) = app.user_with_role("olga", "operator").await;
    put_mapping(&app, "kes-mac", json!({"product_id": NON_WINDOWS})).await;
    put_mapping(&app, "kes-linux", json!({"product_id": NON_WINDOWS})).await;
    let read = app
        .get("/api/v1/product-mappings?solution=ksc", &operator)
        .await;
    let grid_tag = etag(&read);

    let bad = json!({"rows": [
        {"application_id": "kes-windows", "product_id": WORKSTATION},
        {"application_id": "ksws", "product_id": SERVER, "server_product_id": SERVER},
        {"application_id": "no-such-app", "product_id": SERVER},
        {"application_id": "kes-cloud", "product_id": UNKNOWN},
        {"application_id": "kes-mac"},
    ]});
    let problem = assert_problem(
        put_with(&app, "/api/v1/product-mappings", &operator, &grid_tag, &bad).await,
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
            "rows[1].workstation_product_id",
            "rows[1].non_windows_product_id",
            "rows[2].application_id",
            "rows[3].product_id"
        ]
    );
    assert_eq!(mapping(&app, "kes-windows").await["status"], "unmapped");
    assert_eq!(mapping(&app, "kes-mac").await["product_id"], NON_WINDOWS);

    let parse_errors =
        json!({"rows": [{"product_id": "x"}, {"application_id": "kes-mac", "extra": 1}]});
    let fields = invalid_fields(
        app.send_json(
            Method::PUT,
            "/api/v1/product-mappings",
            &operator,
            &parse_errors,
        )
        .await,
    )
    .await;
    assert_eq!(
        fields,
        [
            "rows[0].application_id",
            "rows[0].product_id",
            "rows[1].extra"
        ]
    );

    let good = json!({"rows": [
        {"application_id": "kes-windows", "product_id": WORKSTATION},
        {"application_id": "kes-mac"},
    ]});
    let saved = put_with(
        &app,
        "/api/v1/product-mappings",
        &operator,
        &grid_tag,
        &good,
    )
    .await;
    assert_eq!(saved.status(), 200);
    let new_tag = etag(&saved);
    assert_ne!(new_tag, grid_tag);
    let saved = json_of(saved).await;
    let statuses: Vec<(&str, &str)> = saved["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["application_id"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("kes-windows", "complete"), ("kes-mac", "unmapped")]
    );
    assert_eq!(mapping(&app, "kes-linux").await["product_id"], NON_WINDOWS);
    let reread = app
        .get("/api/v1/product-mappings?solution=business_hub", &operator)
        .await;
    assert_eq!(
        etag(&reread),
        new_tag,
        "the grid's ETag covers every mapping"
    );

    // A stale grid changes nothing.
    let stale = json!({"rows": [{"application_id": "kes-linux"}]});
    assert_problem(
        put_with(
            &app,
            "/api/v1/product-mappings",
            &operator,
            &grid_tag,
            &stale,
        )
        .await,
        412,
    )
    .await;
    assert_eq!(mapping(&app, "kes-linux").await["product_id"], NON_WINDOWS);

    let events = json_of(
        app.get(
            "/api/v1/audit-events?entity_type=product_mapping",
            &operator,
        )
        .await,
    )
    .await;
    let actions: Vec<(&str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["entity_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("delete", "kes-mac"),
            ("create", "kes-windows"),
            ("create", "kes-linux"),
            ("create", "kes-mac")
        ]
    );
    assert_eq!(events["items"][0]["before"]["product_id"], NON_WINDOWS);
    assert_eq!(events["items"][1]["after"]["product_id"], WORKSTATION);
}

#[actix_web::test]
async fn a_single_mapping_honours_if_match() {
    let app = app_with_catalog().await;
    let path = "/api/v1/product-mappings/kes-windows";
    let read = app.get(path, &app.admin_token).await;
    let tag = etag(&read);
    let saved = put_with(
        &app,
        path,
        &app.admin_token,
        &tag,
        &json!({"product_id": WORKSTATION}),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let new_tag = etag(&saved);
    assert_eq!(etag(&app.get(path, &app.admin_token).await), new_tag);

    let stale = put_with(
        &app,
        path,
        &app.admin_token,
        &tag,
        &json!({"product_id": SERVER}),
    )
    .await;
    assert_problem(stale, 412).await;
    let stale_delete = app
        .request(Method::DELETE, path, Some(&app.admin_token))
        .header("If-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_problem(stale_delete, 412).await;
    assert_eq!(
        mapping(&app, "kes-windows").await["product_id"],
        WORKSTATION
    );

    // The billing mode is part of the representation: toggling makes the ETag stale.
    set_by_category(&app, true).await;
    assert_ne!(etag(&app.get(path, &app.admin_token).await), new_tag);

    let cleared = app
        .request(Method::DELETE, path, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(mapping(&app, "kes-windows").await["status"], "unmapped");
}

#[actix_web::test]
async fn viewers_only_read_and_unknown_applications_are_404() {
    let app = app_with_catalog().await;
    let (_, viewer) = app.user_with_role("val", "viewer").await;
    let path = "/api/v1/product-mappings/kes-windows";
    assert_eq!(app.get(path, &viewer).await.status(), 200);
    let body = json!({"product_id": WORKSTATION});
    assert_problem(app.send_json(Method::PUT, path, &viewer, &body).await, 403).await;
    assert_problem(
        app.request(Method::DELETE, path, Some(&viewer))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let bulk = json!({"rows": [{"application_id": "kes-windows", "product_id": WORKSTATION}]});
    assert_problem(
        app.send_json(Method::PUT, "/api/v1/product-mappings", &viewer, &bulk)
            .await,
        403,
    )
    .await;
    assert_eq!(mapping(&app, "kes-windows").await["status"], "unmapped");

    let unknown = "/api/v1/product-mappings/no-such-app";
    assert_problem(app.get(unknown, &viewer).await, 404).await;
    assert_problem(put_mapping(&app, "no-such-app", body).await, 404).await;
    assert_problem(
        app.request(Method::DELETE, unknown, Some(&app.admin_token))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}
