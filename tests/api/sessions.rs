//! Sessions end when they should: a password change or reset, a role change, a disable and "log
//! out everywhere" refuse every token issued before — at once in the process that made the
//! change, within 5 seconds in another — while service tokens live on.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, eventually, spawn_app, TestApp, ADMIN_PASSWORD};

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", token).await.status().as_u16()
}

#[actix_web::test]
async fn a_password_change_ends_every_session_of_the_user_but_not_service_tokens() {
    let app = spawn_app().await;
    let (_, first) = app.user_with_role("frank", "operator").await;
    let second = app.token("frank", "frank-password-123").await;
    let service: serde_json::Value = app
        .admin_json(
            Method::POST,
            "/api/v1/service-tokens",
            &json!({"name": "rmm", "role": "operator"}),
            201,
        )
        .await;
    let service = service["token"].as_str().unwrap().to_string();
    let other_server = app.start_another().await;

    let changed = app
        .send_json(
            Method::PUT,
            "/api/v1/auth/me/password",
            &first,
            &json!({"current_password": "frank-password-123", "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(changed.status(), 204);
    for token in [&first, &second] {
        let refused = assert_problem(app.get("/api/v1/auth/me", token).await, 401).await;
        assert!(
            refused["detail"].as_str().unwrap().contains("log in again"),
            "{refused}"
        );
        // Writes too, not only reads.
        let tenant = json!({"name": "Not allowed", "external_id": "bh-not-allowed"});
        let write = app
            .send_json(Method::POST, "/api/v1/tenants", token, &tenant)
            .await;
        assert_eq!(write.status(), 401);
    }
    // Another server refuses them within the 5-second window.
    let client = reqwest::Client::new();
    eventually(
        Duration::from_secs(6),
        "the other server refuses the old token",
        || {
            let request = client
                .get(format!("{other_server}/api/v1/auth/me"))
                .bearer_auth(&second);
            async move { request.send().await.unwrap().status() == 401 }
        },
    )
    .await;
    let fresh = app.token("frank", "a brand new password").await;
    assert_eq!(status_of(&app, &fresh).await, 200);
    assert_eq!(
        status_of(&app, &service).await,
        200,
        "service tokens live on"
    );

    // The admin's own password change leaves the service tokens it made alone as well.
    let admin = app
        .send_json(
            Method::PUT,
            "/api/v1/auth/me/password",
            &app.admin_token,
            &json!({"current_password": ADMIN_PASSWORD, "new_password": "another admin password"}),
        )
        .await;
    assert_eq!(admin.status(), 204);
    assert_eq!(status_of(&app, &app.admin_token).await, 401);
    assert_eq!(status_of(&app, &service).await, 200);
}

#[actix_web::test]
async fn an_admins_reset_role_change_or_disable_ends_the_users_sessions() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_role("grace", "operator").await;
    let path = format!("/api/v1/users/{id}");
    let password = "grace-password-123";
    let reset = "a reset password 1";
    let mut current = token.clone();
    for change in [
        json!({"password": reset}),
        json!({"role": "viewer"}),
        json!({"disabled": true}),
    ] {
        assert_eq!(status_of(&app, &current).await, 200, "before {change}");
        app.admin_json(Method::PATCH, &path, &change, 200).await;
        assert_eq!(status_of(&app, &current).await, 401, "after {change}");
        if change.get("disabled").is_none() {
            // The next change is judged on a token issued after this one.
            current = app.token("grace", reset).await;
        }
    }
    // Enabled again, the account's old tokens stay ended.
    app.admin_json(Method::PATCH, &path, &json!({"disabled": false}), 200)
        .await;
    assert_eq!(status_of(&app, &token).await, 401);
    assert_eq!(app.login("grace", password).await.status(), 401);
    assert_eq!(app.login("grace", "a reset password 1").await.status(), 200);
}

#[actix_web::test]
async fn log_out_everywhere() {
    let app = spawn_app().await;
    let (id, first) = app.user_with_role("heidi", "viewer").await;
    let second = app.token("heidi", "heidi-password-123").await;
    let ended = app
        .request(
            Method::POST,
            "/api/v1/auth/me/sessions/revoke",
            Some(&first),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_eq!(status_of(&app, &first).await, 401);
    assert_eq!(status_of(&app, &second).await, 401);
    let third = app.token("heidi", "heidi-password-123").await;
    assert_eq!(
        status_of(&app, &third).await,
        200,
        "the password still works"
    );

    // An admin ends them for the user; 404 for nobody; a service token has no sessions.
    let path = format!("/api/v1/users/{id}/sessions/revoke");
    let ended = app
        .request(Method::POST, &path, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_eq!(status_of(&app, &third).await, 401);
    let nobody = app
        .request(
            Method::POST,
            "/api/v1/users/nobody/sessions/revoke",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(nobody, 404).await;
    let viewer_try = app
        .request(
            Method::POST,
            &path,
            Some(&app.token("heidi", "heidi-password-123").await),
        )
        .send()
        .await
        .unwrap();
    assert_problem(viewer_try, 403).await;
    let service: serde_json::Value = app
        .admin_json(
            Method::POST,
            "/api/v1/service-tokens",
            &json!({"name": "rmm", "role": "viewer"}),
            201,
        )
        .await;
    let refused = app
        .request(
            Method::POST,
            "/api/v1/auth/me/sessions/revoke",
            Some(service["token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403).await;
    let events: serde_json::Value = app
        .get("/api/v1/audit-events?entity_type=user", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let ended: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "end_sessions")
        .map(|e| e["actor_name"].as_str().unwrap())
        .collect();
    assert_eq!(ended, ["admin", "heidi"], "audited, newest first");
}
