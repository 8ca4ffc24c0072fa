//! Seeding the fake ConnectWise catalog, applications and discovered KSC tenants, polling with
//! `eventually`, and the server as a process of its own.

use super::*;

/// A ConnectWise catalog product for [`TestApp::seed_cw_products`].
pub struct CatalogProduct {
    pub id: i64,
    pub identifier: &'static str,
    pub inactive: bool,
}

impl TestApp {
    /// Puts products into the ConnectWise catalog cache directly, as a catalog refresh would.
    pub fn seed_cw_products(&self, products: &[CatalogProduct]) {
        use kaspersky_msp_bridge::adapters::db::money_text::MoneyText;
        use kaspersky_msp_bridge::adapters::db::{cw_products::CwProductRow, schema::cw_products};
        use kaspersky_msp_bridge::domain::money::Money;
        self.with_db(|conn| {
            for p in products {
                let row = CwProductRow {
                    id: p.id,
                    identifier: p.identifier.to_string(),
                    description: format!("{} (description)", p.identifier),
                    unit_price: Money::parse("10.00").map(MoneyText),
                    unit_cost: None,
                    taxable: false,
                    inactive: p.inactive,
                    product_class: None,
                    vanished: false,
                    refreshed_at: db::now(),
                };
                diesel::insert_into(cw_products::table)
                    .values(&row)
                    .execute(conn)
                    .expect("seed the catalog cache");
            }
        })
    }

    /// Starts another server process-alike on the same database and data directory (as a
    /// restart or a second replica would) and returns its address.
    pub async fn start_another(&self) -> String {
        let mut settings = self.settings.clone();
        settings.bind = "127.0.0.1:0".parse().unwrap();
        let app = Application::build(settings)
            .await
            .expect("the second server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        address
    }
}

pub async fn create_application(app: &TestApp, body: Value) {
    let response = app
        .send_json(
            Method::POST,
            "/api/v1/security-applications",
            &app.admin_token,
            &body,
        )
        .await;
    assert_eq!(response.status(), 201);
}

/// A fake KSC with the demo data whose tenants the server has discovered.
pub async fn discovered_demo(app: &TestApp, options: FakeKscOptions) -> FakeKsc {
    let fake = FakeKsc::start(options).unwrap();
    app.connect_ksc(&fake).await;
    assert_eq!(app.refresh_tenants(&app.admin_token).await.status(), 200);
    fake
}

/// Changes the sync setting `max_usage_age_hours` straight in the database.
pub fn set_max_usage_age_hours(app: &TestApp, hours: u32) {
    use kaspersky_msp_bridge::sync::settings;
    app.with_db(|conn| {
        let mut current = settings::get(conn).unwrap();
        current.max_usage_age_hours = hours;
        settings::put(conn, &current).unwrap();
    })
}

impl TestApp {
    /// Starts a sync run (`body` as for `POST /api/v1/sync/runs`) and waits for its end.
    pub async fn sync(&self, body: Option<Value>) -> Value {
        let mut request = self.request(Method::POST, "/api/v1/sync/runs", Some(&self.admin_token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = request.send().await.unwrap();
        assert_eq!(started.status(), 202, "{}", started.text().await.unwrap());
        let location = started.headers()["location"].to_str().unwrap().to_string();
        for _ in 0..600 {
            let run: Value = self
                .get(&location, &self.admin_token)
                .await
                .json()
                .await
                .unwrap();
            if run["status"] != "running" {
                return run;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the run did not finish");
    }

    /// Every change of a finished run.
    pub async fn run_changes(&self, run: &Value) -> Vec<Value> {
        let path = format!(
            "/api/v1/sync/runs/{}/changes?per_page=500",
            run["id"].as_str().unwrap()
        );
        let page: Value = self
            .get(&path, &self.admin_token)
            .await
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }
}

impl TestApp {
    /// Stores a ConnectWise connection to `fake` (over HTTP) with its credentials.
    pub async fn connect_connectwise(&self, fake: &FakeConnectWise) {
        let o = fake.options();
        let connection = json!({"site_url": fake.base_url(), "company_id": o.company_id,
            "public_key": o.public_key, "private_key": o.private_key, "client_id": o.client_id});
        let response = self
            .send_json(
                Method::PUT,
                "/api/v1/connections/connectwise",
                &self.admin_token,
                &connection,
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    /// `POST /api/v1/connectwise/products/refresh`, expected to succeed.
    pub async fn refresh_catalog(&self) {
        let response = self
            .request(
                Method::POST,
                "/api/v1/connectwise/products/refresh",
                Some(&self.admin_token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Polls `check` until it holds, for at most `within`; panics naming `what` otherwise.
pub async fn eventually<F, Fut>(within: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The server binary in a process of its own (SQLite in a temporary directory, stderr to a
/// file), killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts `serve` with these variables set on top of a minimal environment.
    pub async fn start(vars: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(vars, |_| {}).await
    }

    /// Like [`Self::start`], with `prepare` shaping the command first.
    pub async fn start_with(
        vars: &[(&str, &str)],
        prepare: impl FnOnce(&mut std::process::Command),
    ) -> ServerProcess {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("stderr.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaspersky-msp-bridge"));
        command
            .arg("serve")
            .env_clear()
            .current_dir(dir.path())
            .env("BRIDGE_DATA_DIR", dir.path().join("data"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("bridge.db").display()),
            )
            .env("BRIDGE_BIND", format!("127.0.0.1:{port}"))
            .env("BRIDGE_ADMIN_PASSWORD", "admin-password-for-log-tests")
            .env("BRIDGE_SCHEDULER", "off")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in vars {
            command.env(k, v);
        }
        prepare(&mut command);
        let server = ServerProcess {
            child: command.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not start: {}", server.stderr());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The log once the server has had time to write `needle`.
    pub async fn stderr_with(&self, needle: &str) -> String {
        for _ in 0..100 {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no {needle} in the log: {}", self.stderr());
    }
}
