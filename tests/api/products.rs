//! The Products tab: security applications, billing settings and product mappings.

use kaspersky_msp_bridge::domain::model::{LicensingModel, MatchRules};
use kaspersky_msp_bridge::domain::usage::{identify, ApplicationRules, Identity};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use kaspersky_msp_bridge::cli::sandbox::fake_ksc::demo_applications;

use crate::helpers::{assert_problem, spawn_app, CatalogProduct, TestApp};

// Catalog products seeded by `app_with_catalog`.
const WORKSTATION: i64 = 101;
const SERVER: i64 = 102;
const NON_WINDOWS: i64 = 103;
const PER_USER: i64 = 104;
const INACTIVE: i64 = 199;
const UNKNOWN: i64 = 404;

async fn app_with_catalog() -> TestApp {
    let app = spawn_app().await;
    let product = |id, identifier| CatalogProduct {
        id,
        identifier,
        inactive: false,
    };
    app.seed_cw_products(&[
        product(WORKSTATION, "KES-WS"),
        product(SERVER, "KES-SRV"),
        product(NON_WINDOWS, "KES-OTHER"),
        product(PER_USER, "KESC-USER"),
        CatalogProduct {
            id: INACTIVE,
            identifier: "OLD",
            inactive: true,
        },
    ]);
    app
}

async fn json_of(response: Response) -> Value {
    response.json().await.unwrap()
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_string()
}

async fn put_with(
    app: &TestApp,
    path: &str,
    token: &str,
    if_match: &str,
    body: &Value,
) -> Response {
    app.request(Method::PUT, path, Some(token))
        .header("If-Match", if_match)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn set_by_category(app: &TestApp, on: bool) {
    let response = app
        .send_json(
            Method::PUT,
            "/api/v1/settings/billing",
            &app.admin_token,
            &json!({"bill_devices_by_category": on}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn put_mapping(app: &TestApp, application: &str, body: Value) -> Response {
    app.send_json(
        Method::PUT,
        &format!("/api/v1/product-mappings/{application}"),
        &app.admin_token,
        &body,
    )
    .await
}

async fn mapping(app: &TestApp, application: &str) -> Value {
    json_of(
        app.get(
            &format!("/api/v1/product-mappings/{application}"),
            &app.admin_token,
        )
        .await,
    )
    .await
}

/// The fields a 422 names.
pub async fn invalid_fields(response: Response) -> Vec<String> {
    let problem = assert_problem(response, 422).await;
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

fn all_categories(product: i64) -> Value {
    json!({"workstation_product_id": product, "server_product_id": product,
        "non_windows_product_id": product})
}

#[actix_web::test]
async fn seeded_applications_recognise_realistic_product_names() {
    let app = spawn_app().await;
    let ksc: Vec<Value> = json_of(
        app.get(
            "/api/v1/security-applications?solution=ksc",
            &app.admin_token,
        )
        .await,
    )
    .await
    .as_array()
    .unwrap()
    .clone();
    let rules: Vec<ApplicationRules> = ksc
        .iter()
        .map(|a| ApplicationRules {
            id: a["id"].as_str().unwrap().into(),
            licensing: serde_json::from_value::<LicensingModel>(a["licensing_model"].clone())
                .unwrap(),
            rules: serde_json::from_value::<MatchRules>(a["match_rules"].clone()).unwrap(),
            folds_into: a["folds_into"].as_str().map(String::from),
        })
        .collect();
    let mut mirrored = demo_applications();
    mirrored.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seeded = rules.clone();
    seeded.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        seeded, mirrored,
        "the fake KSC's demo counts use the seeded rules"
    );
    for a in &ksc {
        let per_device = a["licensing_model"] == "per_device";
        assert_eq!(a["category_billing"], per_device, "{a}");
    }

    // Names as KSC licence keys carry them (versions, editions and dashes vary): every current
    // name recognised by a fresh installation, licence tiers as applications of their own.
    for (product_name, expected) in [
        ("Kaspersky Endpoint Security 12 for Windows", "kes-windows"),
        ("Kaspersky Endpoint Security 12.1 for Windows", "kes-windows"),
        ("Kaspersky Endpoint Security 11.11 for Windows", "kes-windows"),
        ("Kaspersky Endpoint Security for Windows 11.2.0", "kes-windows"),
        ("Kaspersky Endpoint Security for Business", "kes-windows"),
        ("Kaspersky Endpoint Security for Business - Select", "kesb-select"),
        ("Kaspersky Endpoint Security for Business - Advanced", "kesb-advanced"),
        (
            "Kaspersky Endpoint Security for Business Select Brazilian Edition. 25-49 Node 2 year Renewal License",
            "kesb-select",
        ),
        ("Kaspersky Total Security for Business", "ktsb"),
        ("Kaspersky Next EDR Foundations", "next-edr-foundations"),
        ("Kaspersky Next EDR Optimum", "next-edr-optimum"),
        ("Kaspersky Next EDR Optimum 2.5", "next-edr-optimum"),
        ("Kaspersky Endpoint Detection and Response Optimum", "next-edr-optimum"),
        ("Kaspersky Optimum Security", "next-edr-optimum"),
        ("Kaspersky Next EDR Expert", "next-edr-expert"),
        ("Kaspersky Next XDR Optimum", "next-xdr-optimum"),
        ("Kaspersky Next XDR Expert", "next-xdr-expert"),
        ("Kaspersky Hybrid Cloud Security", "khcs"),
        ("Kaspersky Hybrid Cloud Security Enterprise", "khcs"),
        ("Kaspersky Small Office Security 8.0", "ksos"),
        ("Kaspersky Embedded Systems Security 3.3 for Windows", "kess"),
        ("Kaspersky Embedded Systems Security 3.3 for Linux", "kess"),
        ("Kaspersky Industrial CyberSecurity for Nodes 3.2", "kics-nodes"),
        ("Kaspersky Endpoint Security 12 for Linux", "kes-linux"),
        ("Kaspersky Endpoint Security 11.4.0 for Linux", "kes-linux"),
        ("Kaspersky Endpoint Security 11 for Mac", "kes-mac"),
        ("Kaspersky Security 11 for Windows Server", "ksws"),
        ("Kaspersky Security for Windows Server", "ksws"),
        ("Kaspersky Endpoint Security for Mobile", "kes-mobile"),
        ("Kaspersky Security for Mobile (Devices)", "kes-mobile"),
        ("Kaspersky Endpoint Security for Android", "kes-mobile"),
        ("Kaspersky Security for Virtualization 6.2 Light Agent", "ksv"),
        ("Kaspersky Security for Virtualization 6.1 Agentless", "ksv"),
        ("Kaspersky Security 9.0 for Microsoft Exchange Servers", "ks-exchange"),
        ("Kaspersky Security 8 for Linux Mail Server", "ks-mail-server"),
    ] {
        assert_eq!(
            identify("", product_name, "", &rules),
            Identity::Matched(expected.into()),
            "{product_name}"
        );
    }
    // A SKU (KSC 15.4 and later) decides, whatever the name.
    assert_eq!(
        identify(
            "",
            "Kaspersky Endpoint Security for Business",
            "KL4867XAKFS",
            &rules
        ),
        Identity::Matched("kesb-advanced".into())
    );
    assert_eq!(
        identify("", "Kaspersky Security for Storage", "", &rules),
        Identity::Unknown
    );
    let tiers: Vec<(&str, &str)> = ksc
        .iter()
        .filter_map(|a| Some((a["id"].as_str()?, a["folds_into"].as_str()?)))
        .collect();
    assert_eq!(
        tiers,
        [
            ("kesb-advanced", "kes-windows"),
            ("kesb-select", "kes-windows"),
            ("khcs", "ksv"),
            ("ktsb", "kes-windows"),
        ],
        "tiers that counted as another application before"
    );

    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let hub: Vec<Value> = json_of(
        app.get(
            "/api/v1/security-applications?solution=business_hub",
            &viewer,
        )
        .await,
    )
    .await
    .as_array()
    .unwrap()
    .clone();
    let models: Vec<(&str, &str)> = hub
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap(),
                a["licensing_model"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(models.len(), 6);
    assert!(models.contains(&("kes-cloud-plus", "per_user")));
    assert!(models.contains(&("next-edr-foundations-cloud", "per_user")));
    assert!(models.contains(&("next-edr-optimum-cloud", "per_user")));
    assert!(models.contains(&("ks-office365", "per_mailbox")));
    assert!(hub.iter().all(|a| a["category_billing"] == false));

    let one = json_of(app.get("/api/v1/security-applications/ksws", &viewer).await).await;
    assert_eq!(one["name"], "Kaspersky Security for Windows Server");
    assert_problem(
        app.get("/api/v1/security-applications/nope", &viewer).await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn admins_add_edit_retire_and_delete_custom_applications() {
    let app = app_with_catalog().await;
    let (_, operator) = app.user_with_role("otto", "operator").await;
    let custom = json!({"id": "ks-storage", "name": "Kaspersky Security for Storage",
        "solution": "ksc", "licensing_model": "per_device",
        "match_rules": {"name_patterns": ["Security for Storage"]}});
    let path = "/api/v1/security-applications";
    assert_problem(
        app.send_json(Method::POST, path, &operator, &custom).await,
        403,
    )
    .await;

    let created = app
        .send_json(Method::POST, path, &app.admin_token, &custom)
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers()["location"],
        "/api/v1/security-applications/ks-storage"
    );
    let created = json_of(created).await;
    assert_eq!(created["custom"], true);
    assert_eq!(created["match_rules"]["app_ids"], json!([]));
    assert_problem(
        app.send_json(Method::POST, path, &app.admin_token, &custom)
            .await,
        409,
    )
    .await;

    let bad = json!({"id": "Bad Id", "name": "", "solution": "sap", "match_rules": {"name_patterns": ["x"]}, "extra": 1});
    let fields = invalid_fields(
        app.send_json(Method::POST, path, &app.admin_token, &bad)
            .await,
    )
    .await;
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "solution",
            "licensing_model",
            "match_rules.name_patterns[0]",
            "extra"
        ]
    );

    let one = "/api/v1/security-applications/ks-storage";
    let edited = app
        .send_json(
            Method::PATCH,
            one,
            &app.admin_token,
            &json!({"match_rules": {"app_ids": ["2021"], "name_patterns": ["KESS"]}}),
        )
        .await;
    assert_eq!(
        json_of(edited).await["match_rules"]["app_ids"],
        json!(["2021"])
    );
    let fixed = app
        .send_json(
            Method::PATCH,
            one,
            &app.admin_token,
            &json!({"licensing_model": "per_user"}),
        )
        .await;
    assert_eq!(invalid_fields(fixed).await, ["licensing_model"]);

    assert_eq!(
        put_mapping(&app, "ks-storage", json!({"product_id": WORKSTATION}))
            .await
            .status(),
        200
    );
    let refused = app
        .request(Method::DELETE, one, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(refused, 409).await["detail"]
        .as_str()
        .unwrap()
        .contains("retire"));

    let retired = app
        .send_json(
            Method::PATCH,
            one,
            &app.admin_token,
            &json!({"retired": true}),
        )
        .await;
    assert_eq!(json_of(retired).await["retired"], true);
    let grid = json_of(
        app.get("/api/v1/product-mappings?solution=ksc", &app.admin_token)
            .await,
    )
    .await;
    assert!(grid["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["application_id"] != "ks-storage"));
    // A retired application keeps its mapping but takes no new products.
    assert_eq!(mapping(&app, "ks-storage").await["product_id"], WORKSTATION);
    assert_eq!(
        invalid_fields(put_mapping(&app, "ks-storage", json!({"product_id": SERVER})).await).await,
        ["application_id"]
    );

    let cleared = app
        .request(
            Method::DELETE,
            "/api/v1/product-mappings/ks-storage",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    let deleted = app
        .request(Method::DELETE, one, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(app.get(one, &app.admin_token).await, 404).await;
}

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
