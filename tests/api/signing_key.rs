//! The JWT signing key the server generates is stored sealed: reading the database is not
//! enough to sign tokens, and a key stored in plain text by an older version is sealed on
//! start without invalidating the tokens issued with it.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use kaspersky_msp_bridge::adapters::db::key_values;
use kaspersky_msp_bridge::web::startup::{JWT_SECRET_KEY, PLAIN_JWT_SECRET_KEY};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

/// A 10-minute admin token for the first admin, signed with `key`.
async fn admin_token_signed_with(app: &TestApp, key: &str) -> String {
    let me: Value = app
        .get("/api/v1/auth/me", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": me["id"], "kind": "user", "role": "admin",
        "iss": "kaspersky-msp-bridge", "aud": "kaspersky-msp-bridge-api",
        "iat": now, "exp": now + 600, "jti": "t"});
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

async fn status_of_me(app: &TestApp, address: &str, token: &str) -> u16 {
    app.client
        .get(format!("{address}/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn stored(app: &TestApp, key: &str) -> Option<String> {
    app.with_db(|conn| key_values::get(conn, key).unwrap())
}

#[actix_web::test]
async fn the_generated_signing_key_is_stored_sealed() {
    let app = spawn_app_with(|s| s.jwt_secret = None).await;
    assert_eq!(stored(&app, PLAIN_JWT_SECRET_KEY), None);
    let sealed = stored(&app, JWT_SECRET_KEY).expect("the generated key is stored");
    let forged = admin_token_signed_with(&app, &sealed).await;
    assert_eq!(status_of_me(&app, &app.address, &forged).await, 401);
    assert_eq!(
        status_of_me(&app, &app.address, &app.admin_token).await,
        200
    );

    // Another process on the same database opens the same key: its tokens are good there.
    let other = app.start_another().await;
    assert_eq!(status_of_me(&app, &other, &app.admin_token).await, 200);
}

#[actix_web::test]
async fn a_signing_key_stored_in_plain_text_is_sealed_on_start() {
    let app = spawn_app_with(|s| s.jwt_secret = None).await;
    // As an older version left it: the key in plain text, nothing sealed.
    let plain = "an-older-versions-plain-text-signing-key-0123456789";
    app.with_db(|conn| {
        key_values::delete(conn, JWT_SECRET_KEY).unwrap();
        key_values::set(conn, PLAIN_JWT_SECRET_KEY, plain).unwrap();
    });
    let issued_before = admin_token_signed_with(&app, plain).await;

    let upgraded = app.start_another().await;
    assert_eq!(
        stored(&app, PLAIN_JWT_SECRET_KEY),
        None,
        "no plain key left"
    );
    let sealed = stored(&app, JWT_SECRET_KEY).expect("the key is stored sealed");
    assert!(!sealed.contains(plain));
    assert_eq!(status_of_me(&app, &upgraded, &issued_before).await, 200);

    // And after one more restart, from the sealed copy alone.
    let restarted = app.start_another().await;
    assert_eq!(status_of_me(&app, &restarted, &issued_before).await, 200);
}
