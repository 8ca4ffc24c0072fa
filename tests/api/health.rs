use serde_json::Value;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn healthz_and_readyz() {
    let app = spawn_app().await;
    let health: Value = app.get_anonymous("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.get_anonymous("/readyz").await;
    assert_eq!(ready.status(), 200);
}

#[actix_web::test]
async fn swagger_ui_and_the_spec_are_served() {
    let app = spawn_app().await;
    let redirect = app.get_anonymous("/swagger-ui").await;
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/swagger-ui/");
    let page = app.get_anonymous("/swagger-ui/").await;
    assert_eq!(page.status(), 200);
    let spec: Value = app
        .get_anonymous("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap();
    assert_eq!(spec, committed);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_without_a_token() {
    let app = spawn_app().await;
    let (user_id, _) = app.user_with_role("metered", "viewer").await;
    app.get(&format!("/api/v1/users/{user_id}"), &app.admin_token)
        .await;
    app.get("/api/v1/no-such-thing-42", &app.admin_token).await;
    app.get("/no-such-thing-43", &app.admin_token).await;

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    assert!(text.contains(
        r#"bridge_http_requests_total{route="/api/v1/users/{id}",method="GET",status="200"}"#
    ));
    assert!(text.contains(r#"route="unmatched",method="GET",status="404""#));
    assert!(!text.contains(&user_id) && !text.contains("no-such-thing"));
    for family in [
        "bridge_db_pool_connections",
        "bridge_db_pool_idle_connections",
        "bridge_upstream_calls_total",
        "bridge_upstream_retries_total",
        "bridge_upstream_rate_limited_total",
        "bridge_sync_runs_total",
        "bridge_build_info",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
    }
    // One prefix for the service's own metrics; process_* is the client libraries' standard.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("bridge_") || line.starts_with("process_"),
            "{line}"
        );
    }
}

#[actix_web::test]
async fn sync_counters_exist_from_start_up_before_any_run() {
    let app = spawn_app().await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"bridge_sync_runs_total{status="succeeded"} "#,
        r#"bridge_sync_runs_total{status="failed"} "#,
        r#"bridge_sync_additions_written_total{action="create"} "#,
        r#"bridge_sync_additions_written_total{action="cancel"} "#,
        "bridge_sync_last_success_timestamp_seconds ",
        "bridge_sync_last_run_held_lines ",
        "bridge_sync_last_run_skipped_tenants ",
        r#"bridge_upstream_rate_limited_total{upstream="connectwise"} "#,
    ] {
        assert!(text.contains(series), "{series}");
    }
    let build = text
        .lines()
        .find(|l| l.starts_with("bridge_build_info{"))
        .unwrap();
    assert!(build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))));
    assert!(
        build.contains("commit=\"") && build.ends_with("} 1"),
        "{build}"
    );
}

#[actix_web::test]
async fn the_web_console_is_served_with_a_strict_policy() {
    let app = spawn_app().await;
    let index = app.get_anonymous("/").await;
    assert_eq!(index.status(), 200);
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(index.headers()["x-content-type-options"], "nosniff");
    let html = index.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/"#));
    let script = app.get_anonymous("/console/app.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let missing = app.get_anonymous("/console/nope.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    // Not an API operation: the OpenAPI document does not list it.
    let spec: Value = app
        .get_anonymous("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(spec["paths"].get("/").is_none());
}
