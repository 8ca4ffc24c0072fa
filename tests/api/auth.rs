use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, ADMIN_PASSWORD, JWT_SECRET};

#[actix_web::test]
async fn login_returns_a_bearer_token_with_the_role() {
    let app = spawn_app().await;
    let response = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["expires_in"], 3600);

    let me: Value = app
        .get("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "admin");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["role"], "admin");
}

#[actix_web::test]
async fn usernames_are_case_insensitive() {
    let app = spawn_app().await;
    assert_eq!(app.login("  ADMIN ", ADMIN_PASSWORD).await.status(), 200);
}

#[actix_web::test]
async fn wrong_password_unknown_user_and_disabled_user_look_alike() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_role("carol", "viewer").await;
    app.send_json(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        &json!({"disabled": true}),
    )
    .await;

    let wrong = assert_problem(app.login("admin", "not the password").await, 401).await;
    let unknown = assert_problem(app.login("nobody", "not the password").await, 401).await;
    let disabled = assert_problem(app.login("carol", "carol-password-123").await, 401).await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["detail"], disabled["detail"]);
}

#[actix_web::test]
async fn missing_malformed_and_foreign_tokens_are_401_with_www_authenticate() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let admin: Value = app
        .get("/api/v1/auth/me", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let claims = |iat: i64, exp: i64, aud: &str| {
        json!({"sub": admin["id"], "kind": "user", "role": "admin",
            "iss": "kaspersky-msp-bridge", "aud": aud, "iat": iat, "exp": exp, "jti": "t"})
    };
    let sign = |claims: &Value, secret: &str, alg: Algorithm| {
        encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let valid = claims(now, now + 600, "kaspersky-msp-bridge-api");
    let cases = [
        (
            "expired",
            sign(
                &claims(now - 7200, now - 3600, "kaspersky-msp-bridge-api"),
                JWT_SECRET,
                Algorithm::HS256,
            ),
        ),
        (
            "forged",
            sign(
                &valid,
                "another-secret-another-secret-another",
                Algorithm::HS256,
            ),
        ),
        (
            "wrong audience",
            sign(
                &claims(now, now + 600, "someone-else"),
                JWT_SECRET,
                Algorithm::HS256,
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&valid)
            ),
        ),
        (
            "other algorithm",
            sign(&valid, JWT_SECRET, Algorithm::HS384),
        ),
        ("garbage", "not-a-jwt".to_string()),
        (
            "not valid before a minute from now",
            sign(
                &json!({"sub": admin["id"], "kind": "user", "role": "admin",
                    "iss": "kaspersky-msp-bridge", "aud": "kaspersky-msp-bridge-api",
                    "iat": now, "nbf": now + 60, "exp": now + 600, "jti": "t"}),
                JWT_SECRET,
                Algorithm::HS256,
            ),
        ),
    ];
    for (name, token) in cases {
        let response = app.get("/api/v1/auth/me", &token).await;
        assert_eq!(response.status(), 401, "{name}");
        assert!(
            response
                .headers()
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{name}"
        );
    }
    // A correctly signed token of ours still works: the cases above fail for their reason;
    // an `nbf` within the leeway of the clock is accepted as `exp` is.
    let mut nbf_now = valid.clone();
    nbf_now["nbf"] = json!(now + 2);
    for token in [&valid, &nbf_now] {
        assert_eq!(
            app.get(
                "/api/v1/auth/me",
                &sign(token, JWT_SECRET, Algorithm::HS256)
            )
            .await
            .status(),
            200
        );
    }

    let missing = app.get_anonymous("/api/v1/auth/me").await;
    assert_problem(missing, 401).await;
    let basic = app
        .request(Method::GET, "/api/v1/auth/me", None)
        .header("Authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401).await;
}

#[actix_web::test]
async fn a_demoted_or_disabled_users_live_token_loses_its_rights() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_role("dave", "admin").await;
    assert_eq!(app.get("/api/v1/users", &token).await.status(), 200);

    app.send_json(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        &json!({"role": "viewer"}),
    )
    .await;
    // A role change ends the user's sessions; a new token has the new role.
    assert_problem(app.get("/api/v1/users", &token).await, 401).await;
    let token = app.token("dave", "dave-password-123").await;
    assert_problem(app.get("/api/v1/users", &token).await, 403).await;
    let me: Value = app
        .get("/api/v1/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "viewer");

    app.send_json(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &app.admin_token,
        &json!({"disabled": true}),
    )
    .await;
    assert_problem(app.get("/api/v1/auth/me", &token).await, 401).await;

    app.request(
        Method::DELETE,
        &format!("/api/v1/users/{id}"),
        Some(&app.admin_token),
    )
    .send()
    .await
    .unwrap();
    assert_problem(app.get("/api/v1/auth/me", &token).await, 401).await;
}

#[actix_web::test]
async fn password_guessing_is_throttled_without_locking_out_others() {
    let app = spawn_app().await;
    app.user_with_role("erin", "viewer").await;
    for _ in 0..app
        .settings
        .login_throttle
        .max_failures_per_user_and_address
    {
        assert_problem(app.login("erin", "guess-guess-guess").await, 401).await;
    }
    let refused = app.login("erin", "erin-password-123").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert_problem(refused, 429).await;
    // Another user from the same address still gets in.
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 200);
}

/// 50 wrong logins for made-up names from one address slow that address down; they never lock
/// a known user with no failures of its own out of it.
#[actix_web::test]
async fn made_up_usernames_from_one_address_never_lock_a_real_user_out() {
    let app = spawn_app_with(|s| {
        s.login_throttle.max_failures_per_address = 4;
        s.login_throttle.slowed_interval = std::time::Duration::from_millis(1);
        s.login_throttle.max_slowdown = std::time::Duration::from_millis(20);
    })
    .await;
    for n in 0..50 {
        let user = format!("made-up-{n}");
        assert_problem(app.login(&user, "guess-guess-guess").await, 401).await;
    }
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 200);
}

#[actix_web::test]
async fn changing_ones_own_password() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_role("frank", "viewer").await;
    let wrong = app
        .send_json(
            Method::PUT,
            "/api/v1/auth/me/password",
            &token,
            &json!({"current_password": "nope-nope-nope", "new_password": "a brand new password"}),
        )
        .await;
    let body = assert_problem(wrong, 422).await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let weak = app
        .send_json(
            Method::PUT,
            "/api/v1/auth/me/password",
            &token,
            &json!({"current_password": "frank-password-123", "new_password": "short"}),
        )
        .await;
    assert_problem(weak, 422).await;

    let ok = app
        .send_json(Method::PUT, "/api/v1/auth/me/password", &token,
            &json!({"current_password": "frank-password-123", "new_password": "a brand new password"}))
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.login("frank", "a brand new password").await.status(),
        200
    );
    assert_eq!(app.login("frank", "frank-password-123").await.status(), 401);
}
