//! The HTTP conventions every route shares: conditional requests, `Link` on paged lists, `HEAD`,
//! refused CORS preflights, and 422s in our own words.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

const BILLING: &str = "/api/v1/settings/billing";

async fn etag_of(app: &crate::helpers::TestApp, path: &str) -> String {
    let response = app.get(path, &app.admin_token).await;
    assert_eq!(response.status(), 200);
    response.headers()["etag"].to_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_current_if_none_match_is_304_without_a_body() {
    let app = spawn_app().await;
    let etag = etag_of(&app, BILLING).await;
    for sent in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
    ] {
        let response = app
            .request(Method::GET, BILLING, Some(&app.admin_token))
            .header("If-None-Match", &sent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{sent}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.headers().contains_key("x-request-id"));
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let stale = app
        .request(Method::GET, BILLING, Some(&app.admin_token))
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    let body: Value = stale.json().await.unwrap();
    assert!(body["bill_devices_by_category"].is_boolean());
}

#[actix_web::test]
async fn a_weak_tag_in_if_match_is_refused_and_the_strong_one_applies() {
    let app = spawn_app().await;
    let etag = etag_of(&app, BILLING).await;
    let body = json!({"bill_devices_by_category": true});
    let weak = app
        .request(Method::PUT, BILLING, Some(&app.admin_token))
        .header("If-Match", format!("W/{etag}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(weak, 412).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("weak"),
        "{problem}"
    );
    let unchanged: Value = app
        .get(BILLING, &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["bill_devices_by_category"], false);

    let strong = app
        .request(Method::PUT, BILLING, Some(&app.admin_token))
        .header("If-Match", &etag)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(strong.status(), 200);
}

fn links_of(response: &reqwest::Response) -> String {
    response.headers()["link"].to_str().unwrap().to_string()
}

#[actix_web::test]
async fn paged_lists_link_their_pages_with_the_same_filters() {
    let app = spawn_app().await;
    for name in ["ann", "bob", "cid", "dan"] {
        app.user_with_role(name, "viewer").await;
    }
    // Five users (the admin and four), two per page: three pages.
    let response = app
        .get("/api/v1/users?per_page=2&page=2", &app.admin_token)
        .await;
    assert_eq!(response.status(), 200);
    let links = links_of(&response);
    for expected in [
        "</api/v1/users?page=1&per_page=2>; rel=\"first\"",
        "</api/v1/users?page=1&per_page=2>; rel=\"prev\"",
        "</api/v1/users?page=3&per_page=2>; rel=\"next\"",
        "</api/v1/users?page=3&per_page=2>; rel=\"last\"",
    ] {
        assert!(links.contains(expected), "{links}");
    }
    let page: Value = response.json().await.unwrap();
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_u64()),
        (Some(5), Some(2))
    );

    let last = app
        .get("/api/v1/users?per_page=2&page=3", &app.admin_token)
        .await;
    let links = links_of(&last);
    assert!(!links.contains("rel=\"next\""), "{links}");

    let filtered = app
        .get(
            "/api/v1/audit-events?entity_type=user&per_page=1",
            &app.admin_token,
        )
        .await;
    assert!(
        links_of(&filtered)
            .contains("</api/v1/audit-events?page=2&entity_type=user&per_page=1>; rel=\"next\""),
        "{}",
        links_of(&filtered)
    );
    // A whole list is not paged: no Link.
    let whole = app
        .get("/api/v1/security-applications", &app.admin_token)
        .await;
    assert!(!whole.headers().contains_key("link"));
}

#[actix_web::test]
async fn head_answers_wherever_get_does_without_a_body() {
    let app = spawn_app().await;
    for (path, token) in [
        ("/healthz", None),
        ("/readyz", None),
        ("/api/v1/users", Some(app.admin_token.as_str())),
        ("/api-docs/openapi.json", None),
    ] {
        let response = app.request(Method::HEAD, path, token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers().contains_key("x-request-id"));
        assert!(response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let unauthenticated = app
        .request(Method::HEAD, "/api/v1/users", None)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[actix_web::test]
async fn a_refused_preflight_says_the_origin_is_not_allowed() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["https://portal.example.com".into()]).await;
    let refused = app
        .request(Method::OPTIONS, "/api/v1/users", None)
        .header("Origin", "https://evil.example.net")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("x-request-id"));
    let problem = assert_problem(refused, 400).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("https://evil.example.net") && detail.contains("not allowed"),
        "{detail}"
    );
}

#[actix_web::test]
async fn type_errors_and_rule_errors_come_in_one_422_in_our_words() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::PUT,
            "/api/v1/product-mappings/kes",
            &app.admin_token,
            &json!({"product_id": "x", "server_product_id": -3}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    let errors = problem["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["product_id", "server_product_id"]);
    assert_eq!(errors[0]["message"], "must be a whole number");
    let text = problem.to_string();
    for library_words in ["invalid type", "expected", "i64", "u32"] {
        assert!(!text.contains(library_words), "{text}");
    }

    let response = app
        .send_json(
            Method::POST,
            "/api/v1/service-tokens",
            &app.admin_token,
            &json!({"name": "ci", "role": "boss", "expires_at": 7}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    let messages: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "must be one of `viewer`, `operator`, `admin`",
            "must be a date-time with a time zone, e.g. 2026-03-01T08:00:00Z"
        ]
    );
}

#[actix_web::test]
async fn a_whole_number_written_with_a_zero_fraction_is_a_whole_number() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::PUT,
            "/api/v1/product-mappings/kes",
            &app.admin_token,
            &json!({"product_id": 0.0}),
        )
        .await;
    // Read as the whole number 0, so the rule speaks, not the type.
    let problem = assert_problem(response, 422).await;
    assert_eq!(
        problem["errors"][0]["message"],
        "must be a ConnectWise id (a whole number of at least 1)"
    );
}

/// PostgreSQL cannot store NUL, in a value or in a key (an application id of a usage map).
#[actix_web::test]
async fn a_nul_in_a_key_is_a_422_not_a_500() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::POST,
            "/api/v1/usage-snapshots",
            &app.admin_token,
            &json!({"tenant_id": "t", "users": {"kes-cloud\u{0}": 3}}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["errors"][0]["field"], "users");
}

async fn served_spec(app: &crate::helpers::TestApp) -> Value {
    let response = app.get_anonymous("/api-docs/openapi.json").await;
    response.json().await.unwrap()
}

#[actix_web::test]
async fn swagger_ui_keeps_the_token_hides_the_explore_bar_and_says_how_to_log_in() {
    let app = spawn_app().await;
    let initializer = app
        .get_anonymous("/swagger-ui/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("\"persistAuthorization\": true"),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"layout\": \"BaseLayout\""),
        "{initializer}"
    );
    let spec = served_spec(&app).await;
    let how_to = spec["components"]["securitySchemes"]["bearer"]["description"]
        .as_str()
        .unwrap();
    assert!(how_to.contains("POST /api/v1/auth/login"), "{how_to}");
    // The console is still what `/` is.
    let root = app.get_anonymous("/").await;
    assert_eq!(root.status(), 200);
    assert!(root.text().await.unwrap().contains("<html"));
}

#[actix_web::test]
async fn the_served_document_is_what_clients_generate_good_code_from() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;
    assert_eq!(spec["servers"][0]["url"], "/");
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    assert_eq!(
        schemas["Page_SyncRun"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/SyncRun"
    );
    assert_eq!(
        schemas["UnreadableReason"]["discriminator"]["propertyName"],
        "kind"
    );
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.contains('`'),
                "{method} {path}: {summary}"
            );
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("Role:") || description.contains("No token"),
                "{method} {path} does not say who may call it"
            );
            assert!(op["security"].is_array(), "{method} {path}");
        }
    }
    let grid = &spec["paths"]["/api/v1/product-mappings"]["get"]["responses"]["200"];
    assert_eq!(
        grid["content"]["application/json"]["example"]["bill_devices_by_category"],
        true
    );
    assert!(grid["headers"]["ETag"].is_object());
    let throttled = &spec["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"]["headers"];
    assert_eq!(
        throttled["Retry-After"]["$ref"],
        "#/components/headers/Retry-After"
    );
}

/// A header byte HTTP forbids is refused by the HTTP parser before any route: still a
/// problem+json with a request id, not a bare 400.
#[actix_web::test]
async fn a_malformed_header_byte_is_a_problem_with_a_request_id() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    let address = app.address.trim_start_matches("http://").to_string();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .write_all(
                b"GET /api/v1/settings/billing HTTP/1.1\r\nHost: x\r\nIf-Match: \x7f\x7f\r\n\r\n",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request"), "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(head.contains("x-request-id: "), "{head}");
    let problem: Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["status"], 400);
    assert!(problem["detail"].as_str().unwrap().contains("malformed"));
}

#[actix_web::test]
async fn a_long_query_is_refused_and_never_echoed_into_a_header() {
    let app = crate::helpers::spawn_app().await;
    let path = "/api/v1/audit-events";
    // Up to the documented size: served, and the page links carry it.
    let fits = format!(
        "{path}?entity_type={}",
        "a".repeat(4096 - "entity_type=".len())
    );
    let served = app.get(&fits, &app.admin_token).await;
    assert_eq!(served.status(), 200);
    // Over it, by a little or a lot: 414, problem+json, nothing of it in the head.
    for extra in [1, 60_000] {
        let long = format!(
            "{path}?search={}",
            "x".repeat(4096 - "search=".len() + extra)
        );
        let refused = app.get(&long, &app.admin_token).await;
        let head_size: usize = refused
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        assert!(head_size < 2048, "a {head_size}-byte head");
        let problem = crate::helpers::assert_problem(refused, 414).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("4096"),
            "{problem}"
        );
    }
}

#[actix_web::test]
async fn the_headers_a_scanner_expects() {
    let app = crate::helpers::spawn_app().await;
    let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(
        login.headers()["cache-control"],
        "no-store",
        "a token is never cached"
    );
    assert_eq!(login.headers()["x-content-type-options"], "nosniff");
    let token: serde_json::Value = app
        .admin_json(
            reqwest::Method::POST,
            "/api/v1/service-tokens",
            &serde_json::json!({"name": "rmm", "role": "viewer"}),
            201,
        )
        .await;
    assert!(token["token"].is_string());
    let created = app
        .send_json(
            reqwest::Method::POST,
            "/api/v1/service-tokens",
            &app.admin_token,
            &serde_json::json!({"name": "rmm-2", "role": "viewer"}),
        )
        .await;
    assert_eq!(created.headers()["cache-control"], "no-store");
    let problem = app.get("/api/v1/users/nobody", &app.admin_token).await;
    assert_eq!(problem.headers()["x-content-type-options"], "nosniff");
    assert_eq!(problem.headers()["cache-control"], "no-store");

    let swagger = app.get_anonymous("/swagger-ui/").await;
    assert_eq!(swagger.status(), 200);
    let policy = swagger.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert_eq!(swagger.headers()["x-frame-options"], "DENY");
    assert_eq!(swagger.headers()["x-content-type-options"], "nosniff");
}
