//! Sandbox mode end to end: the fakes with demo data, the server configured for them, mappings
//! made through the API, a sync producing additions — and `kaspersky-msp-bridge sync` run as a
//! binary against the same database.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use kaspersky_msp_bridge::adapters::connectwise::Addition;
use kaspersky_msp_bridge::cli::sandbox::demo::{DemoCompany, Sandbox};
use kaspersky_msp_bridge::runtime::state::Core;
use kaspersky_msp_bridge::sync::runs::{self, RunRequest, Trigger};
use kaspersky_msp_bridge::web::startup::build_core;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

struct Demo {
    app: TestApp,
    sandbox: Sandbox,
    /// A second state on the same database, as the `sandbox` command builds it.
    state: Arc<Core>,
    contoso: DemoCompany,
}

fn product(sandbox: &Sandbox, identifier: &str) -> i64 {
    sandbox
        .products
        .iter()
        .find(|(i, _)| *i == identifier)
        .map(|(_, id)| *id)
        .unwrap()
}

/// The newcomer walk-through up to the sync: sandbox configured, products and Contoso mapped.
async fn demo() -> Demo {
    let app = spawn_app().await;
    let sandbox = Sandbox::start().unwrap();
    let state = build_core(app.settings.clone()).await.unwrap();
    sandbox.configure(&state).await.unwrap();
    for (application, identifier) in [
        ("kes-windows", "KES-WS"),
        ("kes-linux", "KES-LINUX"),
        ("kes-mac", "KES-MAC"),
    ] {
        let path = format!("/api/v1/product-mappings/{application}");
        let body = json!({"product_id": product(&sandbox, identifier)});
        let response = app
            .send_json(Method::PUT, &path, &app.admin_token, &body)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let tenants: Value = app
        .get("/api/v1/tenants?per_page=100", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let contoso = sandbox.companies[0].clone();
    let tenant = tenants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == contoso.tenant)
        .expect("the demo tenants were discovered");
    app.map_company(&tenant["id"], contoso.company_id, contoso.agreement_id)
        .await;
    Demo {
        app,
        sandbox,
        state,
        contoso,
    }
}

impl Demo {
    fn quantities(&self) -> Vec<(i64, f64)> {
        let now = chrono::Utc::now();
        let mut q: Vec<(i64, f64)> = self
            .sandbox
            .connectwise
            .additions(self.contoso.agreement_id)
            .iter()
            .filter(|a| a.is_active_at(now))
            .map(|a: &Addition| (a.product.as_ref().unwrap().id.unwrap(), a.quantity.unwrap()))
            .collect();
        q.sort_by_key(|(p, _)| *p);
        q
    }

    /// `kaspersky-msp-bridge sync [args]` against the test's database, off the runtime thread
    /// so the fakes keep answering.
    async fn cli_sync(&self, args: &[&str]) -> Output {
        let settings = &self.app.settings;
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
        command
            .arg("sync")
            .args(args)
            .env_clear()
            .env("DATABASE_URL", &settings.database_url)
            .env("BRIDGE_DATA_DIR", &settings.data_dir);
        actix_web::rt::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[actix_web::test]
async fn the_readme_walk_through_ends_with_additions_in_the_fake_connectwise() {
    let d = demo().await;
    let preview = d
        .app
        .request(
            Method::POST,
            "/api/v1/sync/preview",
            Some(&d.app.admin_token),
        )
        .send()
        .await
        .unwrap();
    // README steps 3 and 4 as written: the preview already has the usage the sandbox collected
    // at its start, and the run applies exactly that plan.
    assert_eq!(preview.status(), 201);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["counts"]["create"], 2, "{preview}");
    let started = d
        .app
        .send_json(
            Method::POST,
            "/api/v1/sync/runs",
            &d.app.admin_token,
            &json!({"plan_id": preview["id"]}),
        )
        .await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let mut run = Value::Null;
    for _ in 0..400 {
        run = d
            .app
            .get(&location, &d.app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        if run["status"] != "running" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(run["status"], "succeeded", "{run}");
    // Contoso: 6 Windows devices (3 workstations, 3 servers) and 1 Linux device.
    let (ws, linux) = (
        product(&d.sandbox, "KES-WS"),
        product(&d.sandbox, "KES-LINUX"),
    );
    let mut expected = vec![(ws, 6.0), (linux, 1.0)];
    expected.sort_by_key(|(p, _)| *p);
    assert_eq!(d.quantities(), expected);

    // The curl line the sandbox prints shows them too.
    let o = d.sandbox.connectwise.options();
    let agreements = format!(
        "{}/{}apis/3.0/finance/agreements",
        d.sandbox.connectwise.base_url(),
        o.codebase
    );
    let guide = d.sandbox.guide(&d.app.address);
    assert!(
        guide.contains(&format!("{agreements}/<agreement_id>/additions")),
        "{guide}"
    );
    let url = format!("{agreements}/{}/additions", d.contoso.agreement_id);
    let listed: Vec<Value> = reqwest::Client::new()
        .get(&url)
        .basic_auth(
            format!("{}+{}", o.company_id, o.public_key),
            Some(&o.private_key),
        )
        .header("clientId", &o.client_id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
}

#[actix_web::test]
async fn the_sync_command_prints_its_changes_and_exits_by_outcome() {
    let d = demo().await;

    let dry = d.cli_sync(&["--dry-run"]).await;
    let (out, err) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("dry run"), "{out}");
    assert!(d.quantities().is_empty(), "a dry run writes nothing");

    let real = d.cli_sync(&[]).await;
    let (out, err) = text(&real);
    assert_eq!(real.status.code(), Some(0), "{out}\n{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("company") && header.contains("result"),
        "{out}"
    );
    let ws_line = out.lines().find(|l| l.contains("KES-WS")).expect(&out);
    for part in [
        "Contoso Ltd",
        "Managed security",
        "create",
        "0 → 6",
        "applied",
    ] {
        assert!(ws_line.contains(part), "{part} in {ws_line}");
    }
    assert_eq!(d.quantities().len(), 2);

    // Another run holds the lease: 2, with the reason.
    let request = RunRequest::default();
    let holder = runs::begin(&d.state, Trigger::Api, &request).await.unwrap();
    let busy = d.cli_sync(&[]).await;
    let (out, err) = text(&busy);
    assert_eq!(busy.status.code(), Some(2), "{out}\n{err}");
    assert!(err.contains("going already"), "{err}");
    runs::execute(d.state.clone(), holder, request).await;

    // The Linux mapping cleared: its addition would be cancelled, which waits for approval.
    let response = d
        .app
        .send_json(
            Method::PUT,
            "/api/v1/product-mappings/kes-linux",
            &d.app.admin_token,
            &json!({"product_id": null}),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let held = d.cli_sync(&[]).await;
    let (out, err) = text(&held);
    assert_eq!(held.status.code(), Some(1), "{out}\n{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("KES-LINUX") && l.contains("held")),
        "{out}"
    );
    assert!(out.contains("wait for approval"), "{out}");
}
