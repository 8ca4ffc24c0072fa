//! API throughput benchmark (`cargo bench --bench api`).
//!
//! Runs the release server binary as a child process, once on SQLite (temporary directory) and
//! once on PostgreSQL (a fresh database on `BENCH_DATABASE_URL`, dropped afterwards), seeds
//! product mappings and sync runs, logs in, and drives `GET /api/v1/product-mappings`,
//! `GET /api/v1/sync/runs` (authenticated) and `GET /healthz` with 64 concurrent connections
//! for `BENCH_SECONDS` (default 5) each. On PostgreSQL it also runs
//! `pgbench --select-only -c 64 -j 2` on a scratch database of the same cluster for the same
//! time, as the yardstick. Prints requests/s, p50/p99 latency, the server's peak RSS, how the
//! version-checked read copies served the load (from `/metrics`) and PASS/FAIL per target;
//! never exits non-zero for a missed target.
//!
//! Every request goes to 127.0.0.1; each load loop is bounded in time and in count.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{login, verdict, Server};
use diesel::{Connection, PgConnection, RunQueryDsl};
use kaspersky_msp_bridge::adapters::db::{
    self, cw_products::CwProductRow, money_text::MoneyText, schema::cw_products,
};
use kaspersky_msp_bridge::domain::money::Money;
use serde_json::json;

const CONNECTIONS: usize = 64;
/// Threads of the load generator (the connections are spread over them).
const LOAD_THREADS: usize = 2;
/// Upper bound of requests per measured endpoint, whatever the duration.
const MAX_REQUESTS: usize = 5_000_000;
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Applications given a product mapping (seeded KSC applications).
const MAPPED: [&str; 4] = ["kes-windows", "kes-linux", "kes-mac", "kes-mobile"];
const SEEDED_RUNS: usize = 20;

// Targets.
const PG_RATIO_TARGET: f64 = 0.40;
const P99_TARGET_MS: f64 = 50.0;
const RSS_TARGET_MIB: f64 = 100.0;

struct Figures {
    endpoint: &'static str,
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() {
    let seconds = common::env_number("BENCH_SECONDS", 5, 1..=60) as u64;
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "API benchmark: {CONNECTIONS} connections, {seconds} s per endpoint, server = {}",
        env!("CARGO_BIN_EXE_kaspersky-msp-bridge")
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = runtime.block_on(bench_backend("SQLite", &sqlite_url, dir.path(), duration));
    report_targets("SQLite", &sqlite, None);

    let server_url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let mut admin = match PgConnection::establish(&server_url) {
        Ok(conn) => conn,
        Err(e) => {
            println!(
                "\nPostgreSQL: skipped, {} is not reachable ({e})",
                db_redacted(&server_url)
            );
            return;
        }
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (app_db, pgbench_db) = (format!("bench_api_{suffix}"), format!("bench_pgb_{suffix}"));
    for name in [&app_db, &pgbench_db] {
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create a benchmark database");
    }
    let pg_dir = tempfile::tempdir().expect("a temporary directory");
    let pg = runtime.block_on(bench_backend(
        "PostgreSQL",
        &with_database(&server_url, &app_db),
        pg_dir.path(),
        duration,
    ));
    let tps = pgbench(&with_database(&server_url, &pgbench_db), seconds);
    for name in [&app_db, &pgbench_db] {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin);
    }
    report_targets("PostgreSQL", &pg, tps);
}

/// What one backend measured: figures per endpoint and the server's peak RSS.
struct Measured {
    figures: Vec<Figures>,
    peak_rss_mib: f64,
}

async fn bench_backend(
    label: &str,
    database_url: &str,
    dir: &Path,
    duration: Duration,
) -> Measured {
    println!("\n== {label} ==");
    let server = Server::start(database_url, dir);
    seed_database(database_url);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("an HTTP client");
    let base = server.base.clone();
    let token = login(&client, &base).await;
    seed_mappings(&client, &base, &token).await;

    let mut figures = Vec::new();
    for (endpoint, path, authenticated) in [
        (
            "GET /api/v1/product-mappings",
            "/api/v1/product-mappings",
            true,
        ),
        ("GET /api/v1/sync/runs", "/api/v1/sync/runs", true),
        ("GET /healthz", "/healthz", false),
    ] {
        let url = format!("{base}{path}");
        let token = authenticated.then(|| token.clone());
        let f = load(&client, endpoint, &url, token, duration).await;
        println!(
            "{:<30} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} errors, peak RSS so far {:.1} MiB)",
            f.endpoint, f.per_second, f.p50_ms, f.p99_ms, f.requests, f.errors, server.peak_rss_mib()
        );
        figures.push(f);
    }
    print_read_copies(&client, &base).await;
    let peak_rss_mib = server.peak_rss_mib();
    server.stop();
    Measured {
        figures,
        peak_rss_mib,
    }
}

fn report_targets(label: &str, m: &Measured, pgbench_tps: Option<f64>) {
    println!("-- {label} targets --");
    for f in &m.figures {
        println!(
            "p99 {:<30} {:>6.2} ms  ≤ {P99_TARGET_MS} ms  ratio {:.2}  {}",
            f.endpoint,
            f.p99_ms,
            f.p99_ms / P99_TARGET_MS,
            verdict(f.p99_ms <= P99_TARGET_MS && f.errors == 0)
        );
    }
    println!(
        "peak RSS {:.1} MiB  ≤ {RSS_TARGET_MIB} MiB  ratio {:.2}  {}",
        m.peak_rss_mib,
        m.peak_rss_mib / RSS_TARGET_MIB,
        verdict(m.peak_rss_mib <= RSS_TARGET_MIB)
    );
    if let Some(tps) = pgbench_tps {
        for f in m.figures.iter().filter(|f| f.endpoint.contains("/api/")) {
            let ratio = f.per_second / tps;
            println!(
                "{:<30} {:>9.0} req/s = {:>5.1}% of pgbench select-only {:.0} tps (target ≥ {:.0}%)  {}",
                f.endpoint,
                f.per_second,
                ratio * 100.0,
                tps,
                PG_RATIO_TARGET * 100.0,
                verdict(ratio >= PG_RATIO_TARGET)
            );
        }
    }
}

/// How the version-checked copies served the load: hits, misses, and the queries that read
/// the data-version counters (one serves every request waiting for it).
async fn print_read_copies(client: &reqwest::Client, base: &str) {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return;
    };
    let text = response.text().await.unwrap_or_default();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let hits = value("bridge_read_copies_total{copy=\"grid\",outcome=\"hit\"}")
        + value("bridge_read_copies_total{copy=\"sync_runs\",outcome=\"hit\"}");
    let misses = value("bridge_read_copies_total{copy=\"grid\",outcome=\"miss\"}")
        + value("bridge_read_copies_total{copy=\"sync_runs\",outcome=\"miss\"}");
    let version_reads = value("bridge_data_version_reads_total");
    println!(
        "read copies: {hits:.0} hits, {misses:.0} misses; {version_reads:.0} counter queries = {:.3} per authenticated read",
        version_reads / (hits + misses).max(1.0)
    );
}

/// A catalog to map to, and some finished sync runs, straight in the database (as a catalog
/// refresh and past runs would leave them).
fn seed_database(database_url: &str) {
    let pool = db::connect_pool(database_url, 1).expect("the benchmark database");
    let mut pooled = pool.get().expect("a database connection");
    let conn: &mut kaspersky_msp_bridge::adapters::db::DbConnection = &mut pooled;
    for i in 0..8_i64 {
        let row = CwProductRow {
            id: 1000 + i,
            identifier: format!("BENCH-P{i}"),
            description: format!("Benchmark product {i}"),
            inactive: false,
            product_class: None,
            vanished: false,
            refreshed_at: db::now(),
            unit_price: Money::parse("10.00").map(MoneyText),
            unit_cost: None,
            taxable: false,
        };
        diesel::insert_into(cw_products::table)
            .values(&row)
            .execute(conn)
            .expect("seed the catalog cache");
    }
    for i in 0..SEEDED_RUNS {
        let started = db::now() - chrono::Duration::hours(i as i64);
        let summary = json!({"actions": {"create": 3, "unchanged": 12}, "outcomes": {"applied": 3},
            "write_calls": 3});
        db::sync::insert_run(
            conn,
            &db::sync::RunRow {
                id: db::new_id(),
                trigger_kind: "schedule".into(),
                status: "succeeded".into(),
                plan_id: None,
                dry_run: false,
                started_at: started,
                finished_at: Some(started + chrono::Duration::seconds(42)),
                holder: "bench".into(),
                summary_json: db::json_text::JsonText(summary),
                error: None,
            },
        )
        .expect("seed a sync run");
    }
}

/// Product mappings through the API, as an operator would make them.
async fn seed_mappings(client: &reqwest::Client, base: &str, token: &str) {
    for (i, application) in MAPPED.iter().enumerate() {
        let p = 1000 + 2 * i as i64;
        let response = client
            .put(format!("{base}/api/v1/product-mappings/{application}"))
            .bearer_auth(token)
            .json(&json!({"product_id": p, "workstation_product_id": p,
                "server_product_id": p + 1, "non_windows_product_id": p}))
            .send()
            .await
            .expect("map a product");
        let status = response.status();
        assert_eq!(
            status,
            200,
            "mapping {application}: {}",
            response.text().await.unwrap_or_default()
        );
    }
}

/// `CONNECTIONS` workers sending `GET url` back to back until `duration` is over.
async fn load(
    client: &reqwest::Client,
    endpoint: &'static str,
    url: &str,
    token: Option<String>,
    duration: Duration,
) -> Figures {
    // A short warm-up opens the connections and fills the caches.
    let _ = run_workers(client, url, token.clone(), Duration::from_millis(500)).await;
    let started = Instant::now();
    let results = run_workers(client, url, token, duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0;
    for (lat, err) in results {
        latencies.extend(lat);
        errors += err;
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[i]) / 1000.0
    };
    Figures {
        endpoint,
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

/// Latencies in microseconds and error counts, per worker. The workers are spread over
/// `LOAD_THREADS` threads, each with its own single-threaded runtime and connection pool.
async fn run_workers(
    _client: &reqwest::Client,
    url: &str,
    token: Option<String>,
    duration: Duration,
) -> Vec<(Vec<u32>, usize)> {
    let deadline = Instant::now() + duration;
    let url: Arc<str> = url.into();
    let threads: Vec<_> = (0..LOAD_THREADS)
        .map(|_| {
            let (url, token) = (url.clone(), token.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a load runtime");
                runtime.block_on(load_thread(url, token, deadline))
            })
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("a load thread"))
            .collect()
    })
    .await
    .expect("the load threads")
}

async fn load_thread(
    url: Arc<str>,
    token: Option<String>,
    deadline: Instant,
) -> Vec<(Vec<u32>, usize)> {
    let per_thread = CONNECTIONS / LOAD_THREADS;
    let per_worker = MAX_REQUESTS / CONNECTIONS;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(per_thread)
        .build()
        .expect("an HTTP client");
    let workers = (0..per_thread).map(|_| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        async move {
            let mut latencies = Vec::with_capacity(16_384);
            let mut errors = 0;
            while Instant::now() < deadline && latencies.len() + errors < per_worker {
                let sent = Instant::now();
                let mut request = client.get(&*url);
                if let Some(t) = &token {
                    request = request.bearer_auth(t);
                }
                let ok = match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors += 1;
                    if errors > 1000 {
                        break;
                    }
                }
            }
            (latencies, errors)
        }
    });
    futures_util::future::join_all(workers).await
}

/// `pgbench -i -s 1`, then `pgbench --select-only -c 64 -j 2 -T seconds`; its tps.
fn pgbench(url: &str, seconds: u64) -> Option<f64> {
    let init = Command::new("pgbench")
        .args(["-i", "-s", "1", "-q", url])
        .output();
    match init {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            println!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            println!("pgbench is not available ({e}): no PostgreSQL yardstick");
            return None;
        }
    }
    let out = Command::new("pgbench")
        .args(["--select-only", "-c", "64", "-j", "2", "-T"])
        .arg(seconds.to_string())
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    match tps {
        Some(tps) => println!("pgbench --select-only -c 64 -j 2 -T {seconds}: {tps:.0} tps"),
        None => println!(
            "pgbench gave no tps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
    tps
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

fn db_redacted(url: &str) -> String {
    kaspersky_msp_bridge::adapters::config::redact_url(url)
}
