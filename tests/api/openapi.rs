//! The committed `openapi/openapi.json` is what the code generates. `UPDATE_OPENAPI=1`
//! rewrites it after an intended change.

use serde_json::Value;

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = kaspersky_msp_bridge::web::openapi::spec_json();
    let path = "openapi/openapi.json";
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit it"
    );
}

#[test]
fn every_operation_has_an_id_and_documents_its_errors() {
    let spec: Value =
        serde_json::from_str(&kaspersky_msp_bridge::web::openapi::spec_json()).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            if path.starts_with("/api/") && op["operationId"] != "login" {
                for status in ["401", "403"] {
                    let problem = &responses[status]["content"]["application/problem+json"];
                    assert!(
                        problem.is_object(),
                        "{method} {path} does not document {status}"
                    );
                }
                assert!(op["security"].is_array(), "{method} {path} has no security");
            }
        }
    }
}

#[test]
fn every_request_body_has_an_example() {
    let spec: Value =
        serde_json::from_str(&kaspersky_msp_bridge::web::openapi::spec_json()).unwrap();
    let mut bodies = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media, body) in content {
                bodies += 1;
                let schema = match body["schema"]["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.trim_start_matches("#/components/schemas/");
                        &spec["components"]["schemas"][name]
                    }
                    None => &body["schema"],
                };
                let has_example = body.get("example").is_some()
                    || body.get("examples").is_some()
                    || schema.get("example").is_some()
                    || schema.get("examples").is_some();
                assert!(has_example, "{method} {path} ({media}) has no example");
            }
        }
    }
    assert!(bodies >= 21, "{bodies} request bodies");
}
