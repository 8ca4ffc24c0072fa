//! The server under faults: the database going away and coming back, password guessing,
//! huge bodies, and frontends saving the same grid at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, CatalogProduct, TestApp};

/// A TCP proxy in front of PostgreSQL that the test can cut and restore, so the database
/// becomes unreachable for the server without touching the shared cluster.
struct CuttableProxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl CuttableProxy {
    fn start(upstream: String) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        // Plain threads: the proxy must keep working whatever the test's runtime is doing.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused at once
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        CuttableProxy { port, up, open }
    }

    /// New connections are refused and the open ones are broken.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Polls `path` until it answers `status`, for at most `within`.
async fn eventually(app: &TestApp, path: &str, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let answered = app.get(path, &app.admin_token).await.status().as_u16();
        if answered == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {answered}, not {status}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL (SQLite is a local file that cannot go away like this): \
            TEST_DATABASE_URL=postgres://… cargo test -- --include-ignored"]
async fn the_server_rides_out_a_postgresql_outage() {
    let server_url =
        std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL names the PostgreSQL server");
    let server = url::Url::parse(&server_url).unwrap();
    let upstream = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let proxy = CuttableProxy::start(upstream);
    let app = spawn_app_with(|s| {
        let mut url = url::Url::parse(&s.database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.port)).unwrap();
        s.database_url = url.to_string();
    })
    .await;
    eventually(&app, "/readyz", 200, Duration::from_secs(5)).await;

    proxy.cut();
    let unready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_problem(unready, 503).await;
    assert_problem(app.get("/api/v1/users", &app.admin_token).await, 503).await;

    proxy.restore();
    eventually(&app, "/readyz", 200, Duration::from_secs(15)).await;
    eventually(&app, "/api/v1/users", 200, Duration::from_secs(15)).await;
}

#[actix_web::test]
async fn a_password_guessing_loop_is_throttled_while_others_log_in() {
    let app = spawn_app().await;
    app.user_with_role("mallory-target", "viewer").await;
    let passwords: Vec<String> = (0..20).map(|i| format!("guess-number-{i}")).collect();
    let guesses = passwords.iter().map(|p| app.login("mallory-target", p));
    let answers = join_all(guesses).await;
    let allowed = app
        .settings
        .login_throttle
        .max_failures_per_user_and_address as usize;
    let mut refused = 0;
    for answer in answers {
        match answer.status().as_u16() {
            401 => {}
            429 => {
                let retry_after: u64 = answer.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry_after > 0);
                assert_problem(answer, 429).await;
                refused += 1;
            }
            other => panic!("a guess answered {other}"),
        }
    }
    // Concurrent guesses cannot slip past the cap.
    assert_eq!(refused, 20 - allowed, "guesses answered 401 beyond the cap");
    // Meanwhile another user of the same address still logs in.
    app.user_with_role("bystander", "viewer").await;
}

#[actix_web::test]
async fn a_ten_mebibyte_body_is_refused_with_413() {
    let app = spawn_app().await;
    let huge = format!("{{\"rows\": [], \"pad\": \"{}\"}}", "x".repeat(10 << 20));
    let response = app
        .request(
            Method::PUT,
            "/api/v1/product-mappings",
            Some(&app.admin_token),
        )
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;
}

#[actix_web::test]
async fn concurrent_grid_saves_from_the_same_read_let_exactly_one_win() {
    let app = spawn_app().await;
    let products: Vec<CatalogProduct> = (1..=8)
        .map(|id| CatalogProduct {
            id,
            identifier: "KES",
            inactive: false,
        })
        .collect();
    app.seed_cw_products(&products);
    let grid = app
        .get("/api/v1/product-mappings?solution=ksc", &app.admin_token)
        .await;
    assert_eq!(grid.status(), 200);
    let tag = grid.headers()["etag"].to_str().unwrap().to_string();
    let application_id = grid.json::<serde_json::Value>().await.unwrap()["mappings"][0]
        ["application_id"]
        .as_str()
        .unwrap()
        .to_string();

    let saves = products.iter().map(|p| {
        let body = json!({"rows": [{"application_id": application_id, "product_id": p.id}]});
        app.request(
            Method::PUT,
            "/api/v1/product-mappings",
            Some(&app.admin_token),
        )
        .header("If-Match", &tag)
        .json(&body)
        .send()
    });
    let mut winners = Vec::new();
    for (product, answer) in products.iter().zip(join_all(saves).await) {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            200 => winners.push(product.id),
            412 => {
                assert_problem(answer, 412).await;
            }
            other => panic!("a save answered {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one save wins: {winners:?}");
    let stored = app
        .get(
            &format!("/api/v1/product-mappings/{application_id}"),
            &app.admin_token,
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        stored["product_id"], winners[0],
        "the winner's save is kept"
    );
}
