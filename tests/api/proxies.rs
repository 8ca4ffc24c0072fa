//! Behind a reverse proxy: the client address comes from `Forwarded` / `X-Forwarded-For` only
//! when the connecting peer is a trusted proxy (`BRIDGE_TRUSTED_PROXIES`), and login
//! throttling, audit events and logs use that address, so one client cannot lock out another.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app_with, TestApp, ADMIN_PASSWORD};

/// The tests connect from 127.0.0.1: trusted here, so it plays the reverse proxy.
async fn behind_proxy() -> TestApp {
    spawn_app_with(|s| s.trusted_proxies = Arc::new("127.0.0.1, ::1".parse().unwrap())).await
}

async fn login_via(
    app: &TestApp,
    header: (&str, &str),
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header(header.0, header.1)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn forwarded_for(client: &str) -> (&'static str, String) {
    ("x-forwarded-for", client.to_string())
}

#[actix_web::test]
async fn wrong_admin_passwords_from_one_client_do_not_lock_out_the_admin_elsewhere() {
    let app = behind_proxy().await;
    let attacker = ("x-forwarded-for", "203.0.113.66");
    let max = app
        .settings
        .login_throttle
        .max_failures_per_user_and_address;
    for _ in 0..max {
        assert_problem(login_via(&app, attacker, "admin", "guess-guess").await, 401).await;
    }
    assert_problem(
        login_via(&app, attacker, "admin", ADMIN_PASSWORD).await,
        429,
    )
    .await;
    // The admin, through the same proxy from another address (RFC 7239 this time).
    let admin = ("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#);
    assert_eq!(
        login_via(&app, admin, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn spraying_many_usernames_from_one_client_does_not_lock_out_others() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = Arc::new("127.0.0.1".parse().unwrap());
        s.login_throttle.max_failures_per_address = 6;
        s.login_throttle.slowed_interval = Duration::from_millis(1);
        s.login_throttle.max_slowdown = Duration::from_millis(20);
    })
    .await;
    let attacker = ("x-forwarded-for", "203.0.113.66");
    for n in 0..12 {
        let user = format!("random-user-{n}");
        assert_problem(login_via(&app, attacker, &user, "guess-guess").await, 401).await;
    }
    // The address is slowed down, never refused: a correct password gets in from it too.
    assert_eq!(
        login_via(&app, attacker, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    let (name, value) = forwarded_for("198.51.100.10");
    let elsewhere = login_via(&app, (name, &value), "admin", ADMIN_PASSWORD).await;
    assert_eq!(elsewhere.status(), 200);
}

#[actix_web::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    // Only some other host is a trusted proxy: the tests' 127.0.0.1 is a plain client.
    let app = spawn_app_with(|s| s.trusted_proxies = Arc::new("192.0.2.1".parse().unwrap())).await;
    let max = app
        .settings
        .login_throttle
        .max_failures_per_user_and_address;
    // Each guess claims to come from elsewhere; they all count against 127.0.0.1.
    for n in 0..max {
        let (name, value) = forwarded_for(&format!("203.0.113.{n}"));
        assert_problem(login_via(&app, (name, &value), "admin", "guess").await, 401).await;
    }
    let (name, value) = forwarded_for("198.51.100.10");
    let spoofed = login_via(&app, (name, &value), "admin", ADMIN_PASSWORD).await;
    assert_problem(spoofed, 429).await;

    // Audit events record the real peer, not the claimed one.
    let audited = create_user_via(&app, "198.51.100.10", "zoe").await;
    assert_eq!(audited["client_address"], "127.0.0.1");
}

/// Creates a user with `X-Forwarded-For: forwarded_for`; returns its audit event.
async fn create_user_via(app: &TestApp, forwarded_for: &str, username: &str) -> Value {
    let password = format!("{username}-password-123");
    let created = app
        .request(Method::POST, "/api/v1/users", Some(&app.admin_token))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password, "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let audit: Value = app
        .get("/api/v1/audit-events?entity_type=user", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    audit["items"][0].clone()
}

#[actix_web::test]
async fn audit_events_record_the_client_a_trusted_proxy_names() {
    let app = behind_proxy().await;
    // A client-written hop, then the one the proxy appended: the right-most wins.
    let audited = create_user_via(&app, "10.6.6.6, 198.51.100.23", "yann").await;
    assert_eq!(audited["actor_name"], "admin");
    assert_eq!(audited["client_address"], "198.51.100.23");
}

#[actix_web::test]
async fn guesses_from_many_clients_slow_logins_down_but_never_refuse_them() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = Arc::new("127.0.0.1".parse().unwrap());
        s.login_throttle.slow_down_after_failures = 3;
        s.login_throttle.slowed_interval = std::time::Duration::from_millis(1);
    })
    .await;
    for n in 0..6 {
        let (name, value) = forwarded_for(&format!("203.0.113.{n}"));
        assert_problem(login_via(&app, (name, &value), "admin", "guess").await, 401).await;
    }
    let (name, value) = forwarded_for("198.51.100.10");
    let owner = login_via(&app, (name, &value), "admin", ADMIN_PASSWORD).await;
    assert_eq!(owner.status(), 200, "slowed, not refused");
}
