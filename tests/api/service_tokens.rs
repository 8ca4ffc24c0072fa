use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[actix_web::test]
async fn a_service_token_works_until_revoked() {
    let app = spawn_app().await;
    let created = app
        .send_json(
            Method::POST,
            "/api/v1/service-tokens",
            &app.admin_token,
            &json!({"name": "rmm push", "role": "operator"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["active"], true);

    let me: Value = app
        .get("/api/v1/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["kind"].as_str(), me["role"].as_str()),
        (Some("service"), Some("operator"))
    );
    assert_problem(app.get("/api/v1/users", &token).await, 403).await;

    let list: Value = app
        .get("/api/v1/service-tokens", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert!(
        list["items"][0].get("token").is_none(),
        "the JWT is shown once only"
    );

    let revoked = app
        .request(
            Method::DELETE,
            &format!("/api/v1/service-tokens/{id}"),
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_problem(app.get("/api/v1/auth/me", &token).await, 401).await;
    let list: Value = app
        .get("/api/v1/service-tokens", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["active"], false);

    let unknown = app
        .request(
            Method::DELETE,
            "/api/v1/service-tokens/nope",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404).await;
}

#[actix_web::test]
async fn service_token_validation() {
    let app = spawn_app().await;
    let response = app
        .send_json(
            Method::POST,
            "/api/v1/service-tokens",
            &app.admin_token,
            &json!({"name": "", "role": "god", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    let body = assert_problem(response, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn a_service_token_has_no_password_to_change() {
    let app = spawn_app().await;
    let body: Value = app
        .send_json(
            Method::POST,
            "/api/v1/service-tokens",
            &app.admin_token,
            &json!({"name": "ci", "role": "viewer", "expires_at": "2999-01-01T00:00:00Z"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .send_json(
            Method::PUT,
            "/api/v1/auth/me/password",
            body["token"].as_str().unwrap(),
            &json!({"current_password": "xxxxxxxxxxxx", "new_password": "yyyyyyyyyyyy"}),
        )
        .await;
    assert_problem(response, 403).await;
}
