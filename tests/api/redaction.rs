//! Upstream text that echoes a credential never reaches a viewer or the database: error bodies
//! of ConnectWise and KSC are kept redacted and bounded (the full text goes to the log at debug).

use base64::Engine;
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, Fault};
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    self, FakeKscOptions, FaultKind, DEMO_PASSWORD,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{discovered_demo, spawn_app};
use crate::sync::world_with;

/// Every form a ConnectWise credential of the fake could take in an echo.
fn connectwise_secrets(
    options: &kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeCwOptions,
) -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}+{}:{}",
        options.company_id, options.public_key, options.private_key
    ));
    vec![basic, options.private_key.clone(), "hunter2".into()]
}

fn assert_clean(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{secret:?} in {text}");
    }
}

#[actix_web::test]
async fn a_connectwise_error_that_echoes_the_credentials_is_kept_redacted() {
    let w = world_with(|_| {}).await;
    let secrets = connectwise_secrets(w.cw.options());
    w.push_users(5).await;
    w.cw.inject_fault(
        "POST",
        route::ADDITIONS,
        Fault::EchoCredentials { status: 400 },
        1,
    );
    let run = w.sync(None).await;
    assert_eq!(run["status"], "partial", "{run}");
    let changes = w.app.run_changes(&run).await;
    let detail = changes[0]["detail"].as_str().unwrap();
    assert!(detail.contains("Request rejected"), "{detail}");
    assert!(detail.contains("[redacted]"), "{detail}");
    assert_clean(detail, &secrets);
    assert!(
        detail.chars().count() < 1000,
        "bounded: {} characters",
        detail.len()
    );
    assert_clean(&run.to_string(), &secrets);

    // The same for a look-up a viewer's console makes, answered as a problem.
    w.cw.inject_fault(
        "GET",
        route::COMPANIES,
        Fault::EchoCredentials { status: 400 },
        1,
    );
    let (_, viewer) = w.app.user_with_role("vic", "viewer").await;
    let response = w.app.get("/api/v1/connectwise/companies", &viewer).await;
    assert!(response.status().is_client_error() || response.status().is_server_error());
    let problem: Value = response.json().await.unwrap();
    assert_clean(&problem.to_string(), &secrets);
}

#[actix_web::test]
async fn a_ksc_error_that_echoes_the_password_is_kept_redacted() {
    let app = spawn_app().await;
    let fake = discovered_demo(&app, FakeKscOptions::new(fake_ksc::demo())).await;
    let echoed = format!(
        "login failed for pass={DEMO_PASSWORD} (Authorization: KSCBasic user=\"a2Nz\", pass=\"{}\")",
        base64::engine::general_purpose::STANDARD.encode(DEMO_PASSWORD)
    );
    fake.inject(
        fake_ksc::Fault::new(
            "LicenseKeys.EnumKeys",
            FaultKind::Pxg {
                code: 1190,
                message: echoed,
            },
        )
        .on_vserver("Contoso"),
    );
    let collected = app
        .admin_json(
            Method::POST,
            "/api/v1/usage-snapshots/collect",
            &json!({}),
            200,
        )
        .await;
    let text = collected.to_string();
    assert!(text.contains("KSC error 1190"), "{text}");
    assert_clean(
        &text,
        &[
            DEMO_PASSWORD.to_string(),
            base64::engine::general_purpose::STANDARD.encode(DEMO_PASSWORD),
        ],
    );
}
