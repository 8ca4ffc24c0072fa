use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn account_changes_are_audited_without_secrets() {
    let app = spawn_app().await;
    let (id, viewer) = app.user_with_role("ivy", "viewer").await;
    app.send_json(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        &json!({"role": "operator", "password": "a new secret password"}),
    )
    .await;

    let page: Value = app
        .get(
            &format!("/api/v1/audit-events?entity_type=user&entity_id={id}"),
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    let newest = &page["items"][0];
    assert_eq!(newest["action"], "update");
    assert_eq!(newest["actor_name"], "admin");
    assert_eq!(newest["before"]["role"], "viewer");
    assert_eq!(newest["after"]["role"], "operator");
    assert_eq!(newest["after"]["password"], "***");
    assert!(newest["request_id"].is_string());
    let text = page.to_string();
    assert!(!text.contains("a new secret password") && !text.contains("argon2"));
    assert_eq!(page["items"][1]["action"], "create");

    let by_actor: Value = app
        .get(
            "/api/v1/audit-events?actor=admin&per_page=1",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 1);

    // Account history is for admins only. (The change ended ivy's sessions: a new token.)
    assert_eq!(app.get("/api/v1/auth/me", &viewer).await.status(), 401);
    let (_, viewer) = app.user_with_role("vera", "viewer").await;
    let seen_by_viewer: Value = app
        .get("/api/v1/audit-events", &viewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen_by_viewer["total"], 0);
}

#[actix_web::test]
async fn audit_events_are_filtered_by_time() {
    let app = spawn_app().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    app.user_with_role("tim", "viewer").await;
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    let count = |query: String| {
        let app = &app;
        async move {
            let page: Value = app
                .get(
                    &format!("/api/v1/audit-events?entity_type=user&{query}"),
                    &app.admin_token,
                )
                .await
                .json()
                .await
                .unwrap();
            page["total"].as_u64().unwrap()
        }
    };
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let all = count(String::new()).await;
    assert!(all > 0);
    assert_eq!(count(format!("since={}", at(before))).await, all);
    assert_eq!(count(format!("until={}", at(before))).await, 0);
    assert_eq!(
        count(format!("since={}&until={}", at(before), at(after))).await,
        all
    );
    assert_eq!(count(format!("since={}", at(after))).await, 0);
    assert_eq!(
        app.get("/api/v1/audit-events?since=yesterday", &app.admin_token)
            .await
            .status(),
        400
    );
}
