//! The Products tab: security applications, billing settings and product mappings.

mod mappings;

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
