use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[actix_web::test]
async fn admins_manage_users() {
    let app = spawn_app().await;
    let created = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &app.admin_token,
            &json!({"username": "Grace", "password": "grace-password-1", "role": "operator"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["username"], "grace");
    assert_eq!(
        location,
        format!("/api/v1/users/{}", user["id"].as_str().unwrap())
    );
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let fetched: Value = app
        .get(&location, &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, user);

    let duplicate = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &app.admin_token,
            &json!({"username": "GRACE", "password": "grace-password-1", "role": "viewer"}),
        )
        .await;
    assert_problem(duplicate, 409).await;

    let list: Value = app
        .get("/api/v1/users?per_page=1&page=2", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["username"], "grace");

    let updated: Value = app
        .send_json(
            Method::PATCH,
            &location,
            &app.admin_token,
            &json!({"role": "viewer"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["role"], "viewer");

    let deleted = app
        .request(Method::DELETE, &location, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(app.get(&location, &app.admin_token).await, 404).await;
}

#[actix_web::test]
async fn every_invalid_field_is_listed() {
    let app = spawn_app().await;
    let response = app
        .send_json(Method::POST, "/api/v1/users", &app.admin_token,
            &json!({"username": "bad name!", "password": "short", "role": "root", "colour": "blue"}))
        .await;
    let body = assert_problem(response, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password", "role", "colour"]);
    let list: Value = app
        .get("/api/v1/users", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "nothing was created");
}

#[actix_web::test]
async fn the_last_active_admin_is_protected() {
    let app = spawn_app().await;
    let me: Value = app
        .get("/api/v1/auth/me", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    for change in [json!({"role": "operator"}), json!({"disabled": true})] {
        assert_problem(
            app.send_json(Method::PATCH, &path, &app.admin_token, &change)
                .await,
            409,
        )
        .await;
    }
    let delete = app
        .request(Method::DELETE, &path, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_problem(delete, 409).await;
    let still: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(
        (still["role"].as_str(), still["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );

    // With a second admin, the first may step down.
    app.user_with_role("second", "admin").await;
    let demoted = app
        .send_json(
            Method::PATCH,
            &path,
            &app.admin_token,
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(demoted.status(), 200);
}

#[actix_web::test]
async fn viewers_and_operators_cannot_reach_admin_endpoints() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("vic", "viewer").await;
    let (_, operator) = app.user_with_role("otto", "operator").await;
    for token in [&viewer, &operator] {
        assert_problem(app.get("/api/v1/users", token).await, 403).await;
        assert_problem(app.get("/api/v1/service-tokens", token).await, 403).await;
        let create = app
            .send_json(
                Method::POST,
                "/api/v1/users",
                token,
                &json!({"username": "x", "password": "xxxxxxxxxxxx", "role": "admin"}),
            )
            .await;
        assert_problem(create, 403).await;
    }
}

#[actix_web::test]
async fn an_admin_resets_a_password() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_role("hank", "viewer").await;
    let response = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &app.admin_token,
            &json!({"password": "reset-by-the-admin"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.login("hank", "reset-by-the-admin").await.status(), 200);
}
