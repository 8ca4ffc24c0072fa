use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn healthz_and_readyz() {
    let app = spawn_app().await;
    let health: Value = app
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app
        .request(Method::GET, "/readyz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[actix_web::test]
async fn swagger_ui_and_the_spec_are_served() {
    let app = spawn_app().await;
    let redirect = app
        .request(Method::GET, "/swagger-ui", None)
        .send()
        .await
        .unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/swagger-ui/");
    let page = app
        .request(Method::GET, "/swagger-ui/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let spec: Value = app
        .request(Method::GET, "/api-docs/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap();
    assert_eq!(spec, committed);
}
