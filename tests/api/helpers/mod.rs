//! `spawn_app()`: the real server on a random port with a fresh database per test — a SQLite
//! file in a temporary directory, or, with `TEST_DATABASE_URL=postgres://…`, a new PostgreSQL
//! database that is dropped when the test ends.

mod seeding;
pub use seeding::*;

use diesel::{Connection, PgConnection, RunQueryDsl};
use kaspersky_msp_bridge::adapters::config::Settings;
use kaspersky_msp_bridge::adapters::connectwise::{Agreement, Reference};
use kaspersky_msp_bridge::adapters::database_kind::DatabaseKind;
use kaspersky_msp_bridge::adapters::db::{self, DbConnection};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeConnectWise;
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    FakeKsc, FakeKscOptions, DEMO_PASSWORD, DEMO_USER,
};
use kaspersky_msp_bridge::web::startup::Application;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret!!";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub settings: Settings,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// A PostgreSQL database made for one test, dropped afterwards.
struct TestDatabase {
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server_url, name)) = self.postgres.take() {
            // The server of the test may still hold connections: FORCE ends them.
            let _ = std::thread::spawn(move || {
                if let Ok(mut conn) = PgConnection::establish(&server_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            })
            .join();
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let prefix = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

fn fresh_database(dir: &std::path::Path) -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(server_url) if DatabaseKind::of(&server_url) == DatabaseKind::Postgres => {
            let name = format!("bridge_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&server_url)
                .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not reachable: {e}"));
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create the test database");
            (
                with_database(&server_url, &name),
                TestDatabase {
                    postgres: Some((server_url, name)),
                },
            )
        }
        _ => (
            format!("sqlite://{}", dir.join("bridge.db").display()),
            TestDatabase { postgres: None },
        ),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (database_url, db) = fresh_database(dir.path());
    start_app(dir, database_url, db, configure).await
}

/// The server on a database an older version left behind: migrated up to (not including)
/// the migration named `first_new`, then `seed` (SQL both backends accept) run on it. The
/// server's start applies the newer migrations, as an upgrade does.
pub async fn spawn_app_upgraded(first_new: &str, seed: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (database_url, db) = fresh_database(dir.path());
    migrate_before(&database_url, first_new, seed);
    start_app(dir, database_url, db, |_| {}).await
}

fn migrate_before(database_url: &str, first_new: &str, seed: &[&str]) {
    use diesel::backend::Backend;
    use diesel::migration::MigrationSource;
    use diesel::sqlite::SqliteConnection;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    fn older<DB: Backend>(conn: &mut impl MigrationHarness<DB>, dir: &str, first_new: &str) {
        // Creates diesel's table of applied migrations.
        conn.applied_migrations().expect("the migrations table");
        let source = FileBasedMigrations::from_path(dir).expect("the migrations folder");
        let mut migrations = MigrationSource::<DB>::migrations(&source).expect("migrations");
        migrations.sort_by_key(|m| m.name().to_string());
        for migration in migrations
            .iter()
            .filter(|m| m.name().to_string().as_str() < first_new)
        {
            conn.run_migration(migration).expect("an older migration");
        }
    }
    if DatabaseKind::of(database_url) == DatabaseKind::Postgres {
        let mut conn = PgConnection::establish(database_url).expect("the test database");
        older(&mut conn, "migrations/postgres", first_new);
        for sql in seed {
            diesel::sql_query(*sql).execute(&mut conn).expect(sql);
        }
    } else {
        let path = database_url.trim_start_matches("sqlite://");
        let mut conn = SqliteConnection::establish(path).expect("the test database");
        older(&mut conn, "migrations/sqlite", first_new);
        for sql in seed {
            diesel::sql_query(*sql).execute(&mut conn).expect(sql);
        }
    }
}

async fn start_app(
    dir: tempfile::TempDir,
    database_url: String,
    db: TestDatabase,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::defaults(&dir.path().join("data"));
    settings.database_url = database_url;
    settings.bind = "127.0.0.1:0".parse().unwrap();
    settings.admin_password = Some(ADMIN_PASSWORD.into());
    settings.jwt_secret = Some(JWT_SECRET.into());
    settings.db_pool_size = 4;
    // Scheduled runs would race the runs a test starts; tests drive `scheduler::tick` instead.
    settings.scheduler = false;
    configure(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut test_app = TestApp {
        address,
        client,
        admin_token: String::new(),
        settings,
        _db: db,
        _dir: dir,
    };
    test_app.admin_token = test_app.token("admin", ADMIN_PASSWORD).await;
    test_app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// `GET path` without a token.
    pub async fn get_anonymous(&self, path: &str) -> Response {
        self.request(Method::GET, path, None).send().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.request(method, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200, "login of {username} failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates a user with `role` and returns (id, token).
    pub async fn user_with_role(&self, username: &str, role: &str) -> (String, String) {
        let password = format!("{username}-password-123");
        let response = self
            .send_json(
                Method::POST,
                "/api/v1/users",
                &self.admin_token,
                &json!({"username": username, "password": password, "role": role}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let user: Value = response.json().await.unwrap();
        let token = self.token(username, &password).await;
        (user["id"].as_str().unwrap().to_string(), token)
    }
}

impl TestApp {
    /// Stores a KSC connection to `fake` with the demo credentials.
    pub async fn connect_ksc(&self, fake: &FakeKsc) {
        let body =
            json!({"server_url": fake.base_url(), "user": DEMO_USER, "password": DEMO_PASSWORD});
        let response = self
            .send_json(
                Method::PUT,
                "/api/v1/connections/kaspersky",
                &self.admin_token,
                &body,
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    /// `POST /api/v1/tenants/refresh`: re-discovers the KSC virtual servers.
    pub async fn refresh_tenants(&self, token: &str) -> Response {
        self.request(Method::POST, "/api/v1/tenants/refresh", Some(token))
            .send()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// Sends `body` as the admin, asserts the answer's status and returns its JSON body.
    pub async fn admin_json(&self, method: Method, path: &str, body: &Value, status: u16) -> Value {
        let response = self
            .send_json(method.clone(), path, &self.admin_token, body)
            .await;
        let got = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a Business Hub tenant and returns its id.
    pub async fn create_tenant(&self, name: &str, external_id: &str) -> String {
        let body = json!({"name": name, "external_id": external_id});
        let tenant = self
            .admin_json(Method::POST, "/api/v1/tenants", &body, 201)
            .await;
        tenant["id"].as_str().unwrap().to_string()
    }

    /// Maps a tenant to a ConnectWise company and agreement; returns the mapping's id.
    pub async fn map_company(&self, tenant_id: &Value, company: i64, agreement: i64) -> String {
        let body =
            json!({"tenant_id": tenant_id, "cw_company_id": company, "agreement_id": agreement});
        let mapping = self
            .admin_json(Method::POST, "/api/v1/company-mappings", &body, 201)
            .await;
        mapping["id"].as_str().unwrap().to_string()
    }

    /// Saves an application's product mapping (`forms` as for `PUT /product-mappings/{id}`).
    pub async fn map_product(&self, application: &str, forms: Value) {
        let path = format!("/api/v1/product-mappings/{application}");
        self.admin_json(Method::PUT, &path, &forms, 200).await;
    }

    /// Runs `change` on a connection of its own to the test database, as another process would.
    pub fn with_db<T>(&self, change: impl FnOnce(&mut DbConnection) -> T) -> T {
        let pool = db::connect_pool(&self.settings.database_url, 1).expect("the test database");
        let mut pooled = pool.get().unwrap();
        change(&mut pooled)
    }
}

/// An active agreement of `company` in the fake ConnectWise.
pub fn active_agreement(cw: &FakeConnectWise, company: i64, name: &str) -> i64 {
    cw.add_agreement(&Agreement {
        name: Some(name.into()),
        company: Some(Reference::id(company)),
        agreement_status: Some("Active".into()),
        ..Default::default()
    })
}

/// Asserts a problem+json response with `status` and returns its body.
pub async fn assert_problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string());
    body
}

/// Asserts that a problem's `detail` carries no HTTP, TLS or DNS library's error text.
pub fn assert_in_our_words(problem: &Value) {
    let detail = problem["detail"].as_str().unwrap_or_default();
    for library_words in [
        "error sending request",
        "hyper",
        "reqwest",
        "tcp connect",
        "os error",
        "Connection refused",
        "rustls",
        "invalid peer certificate",
        "UnknownIssuer",
        "dns error",
        "client error",
    ] {
        assert!(!detail.contains(library_words), "{detail}");
    }
}
