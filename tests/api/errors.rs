use reqwest::Method;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[actix_web::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/nothing-here", &app.admin_token).await, 404).await;
    assert_problem(app.get("/nothing", &app.admin_token).await, 404).await;
}

#[actix_web::test]
async fn wrong_methods_are_405_with_allow() {
    let app = spawn_app().await;
    let response = app
        .request(Method::PUT, "/api/v1/users", Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_string();
    assert_eq!(allow, "GET, HEAD, POST");
    assert_problem(response, 405).await;

    let response = app
        .request(
            Method::POST,
            "/api/v1/users/some-id",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD, DELETE, PATCH");
    assert_problem(response, 405).await;
}

#[actix_web::test]
async fn malformed_json_is_400_and_wrong_content_type_415() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/api/v1/users", Some(&app.admin_token))
        .header("Content-Type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    // Located, without the parser's words.
    let problem = assert_problem(response, 400).await;
    assert_eq!(
        problem["detail"],
        "The body is not valid JSON (line 1, column 13)."
    );

    let response = app
        .request(Method::POST, "/api/v1/users", Some(&app.admin_token))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415).await;

    let response = app
        .request(Method::POST, "/api/v1/users", Some(&app.admin_token))
        .json(&serde_json::json!([1, 2]))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422).await;
}

#[actix_web::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 64 * 1024).await;
    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(200 * 1024));
    let response = app
        .request(Method::POST, "/api/v1/users", Some(&app.admin_token))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;
}

#[actix_web::test]
async fn bad_query_parameters_are_problems() {
    let app = spawn_app().await;
    let body = assert_problem(
        app.get("/api/v1/users?page=abc", &app.admin_token).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "page");
    assert_problem(
        app.get("/api/v1/users?page=2147483648", &app.admin_token)
            .await,
        422,
    )
    .await;
    let body = assert_problem(
        app.get("/api/v1/users?page=0&per_page=9999", &app.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/healthz", None)
        .header("X-Request-Id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");
    let response = app.get_anonymous("/nothing").await;
    assert!(!response.headers()["x-request-id"].is_empty());
}

#[actix_web::test]
async fn cors_preflight_allows_configured_origins_only() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["https://portal.example.com".into()]).await;
    let preflight = app
        .request(Method::OPTIONS, "/api/v1/users", None)
        .header("Origin", "https://portal.example.com")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, if-match",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://portal.example.com"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in ["authorization", "content-type", "if-match"] {
        assert!(allowed.contains(h), "{allowed}");
    }

    let response = app
        .request(Method::GET, "/api/v1/auth/me", Some(&app.admin_token))
        .header("Origin", "https://portal.example.com")
        .send()
        .await
        .unwrap();
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in ["etag", "location", "retry-after", "x-request-id"] {
        assert!(exposed.contains(h), "{exposed}");
    }
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["name"], "admin");

    let foreign = app
        .request(Method::OPTIONS, "/api/v1/users", None)
        .header("Origin", "https://evil.example.net")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

/// PostgreSQL cannot hold NUL characters in text: they are refused up front, never a 500.
#[actix_web::test]
async fn nul_characters_are_refused_before_they_reach_the_database() {
    let app = spawn_app().await;
    let in_path = app.get("/api/v1/users/a%00b", &app.admin_token).await;
    assert_problem(in_path, 404).await;
    let in_query = app
        .get("/api/v1/audit-events?entity_id=a%00b", &app.admin_token)
        .await;
    assert_problem(in_query, 400).await;
    let in_body = app
        .send_json(
            Method::POST,
            "/api/v1/tenants",
            &app.admin_token,
            &serde_json::json!({"name": "a\u{0}b", "external_id": "x"}),
        )
        .await;
    let problem = assert_problem(in_body, 422).await;
    assert_eq!(problem["errors"][0]["field"], "name");
}
