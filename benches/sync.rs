//! Sync engine benchmark (`cargo bench --bench sync`).
//!
//! `SYNC_BENCH_TENANTS` (default 1,000) KSC virtual servers of 50 hosts each on the fake KSC
//! (5 ms per call), billed by category into 3 products on the fake ConnectWise (25 ms per
//! call), each tenant mapped to a company and agreement of its own. Measures the first sync
//! (from `POST /api/v1/sync/runs` to the run's end) against the bound
//! `KSC calls × 5 ms ÷ KSC concurrency + ConnectWise calls × 25 ms ÷ ConnectWise concurrency`,
//! then an unchanged re-sync (no writes, at most one ConnectWise read per agreement). Prints
//! PASS/FAIL per target; never exits non-zero for a missed target.
//!
//! Setup: the fakes are seeded directly (companies, agreements, catalog, virtual servers); the
//! server discovers the tenants and refreshes its catalog through its API, and the company
//! mappings are created through `POST /api/v1/company-mappings` (8 at a time) while the fakes
//! answer without latency; the latencies apply from the first measured sync on.
//!
//! Every request goes to 127.0.0.1; every wait is bounded.

use std::time::{Duration, Instant};

/// The server runs in this process: give it the allocator of the server binary.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use futures_util::stream::{self, StreamExt};
use kaspersky_msp_bridge::adapters::config::Settings;
use kaspersky_msp_bridge::adapters::connectwise::{Agreement, CatalogItem, Company, Reference};
use kaspersky_msp_bridge::adapters::db;
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise};
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    FakeKey, FakeKsc, FakeKscData, FakeKscOptions, FakeTenant,
};
use kaspersky_msp_bridge::web::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "bench-admin-password-123";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret!!";
const KSC_USER: &str = "ksc-admin";
const KSC_PASSWORD: &str = "ksc-password";
const KSC_LATENCY: Duration = Duration::from_millis(5);
const CW_LATENCY: Duration = Duration::from_millis(25);
const HOSTS: usize = 50;
/// Of the 50 hosts: Windows workstations, Windows servers, the rest Linux.
const WORKSTATIONS: usize = 40;
const SERVERS: usize = 5;
const RATIO_TARGET: f64 = 1.25;
/// The longest a run may take before the benchmark gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(1800);

const KSC_METHODS: [&str; 11] = [
    "login",
    "Session.StartSession",
    "Session.EndSession",
    "VServers.GetVServers",
    "LicenseKeys.EnumKeys",
    "LicenseKeys.AcquireKeyHosts",
    "GroupSyncIterator.GetNextItems",
    "GroupSyncIterator.ReleaseIterator",
    "HostGroup.FindHosts",
    "ChunkAccessor.GetItemsChunk",
    "ChunkAccessor.Release",
];
const CW_ROUTES: [&str; 7] = [
    route::COMPANY_INFO,
    route::SYSTEM_INFO,
    route::CATALOG,
    route::COMPANIES,
    route::AGREEMENTS,
    route::ADDITIONS,
    route::ADDITION,
];
const CW_WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

fn env_number(name: &str, default: usize, range: std::ops::RangeInclusive<usize>) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| range.contains(n))
        .unwrap_or(default)
}

/// Calls counted by the fakes, split as the bound needs them.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    ksc: u64,
    cw_reads: usize,
    cw_writes: usize,
    cw_addition_reads: usize,
    cw_applied_writes: usize,
}

impl Counts {
    fn take(ksc: &FakeKsc, cw: &FakeConnectWise) -> Counts {
        let ksc_calls = KSC_METHODS.iter().map(|m| ksc.calls(m)).sum();
        let cw_reads = CW_ROUTES.iter().map(|r| cw.calls("GET", r)).sum();
        let cw_writes = CW_ROUTES
            .iter()
            .flat_map(|r| CW_WRITE_METHODS.iter().map(move |m| cw.calls(m, r)))
            .sum();
        Counts {
            ksc: ksc_calls,
            cw_reads,
            cw_writes,
            cw_addition_reads: cw.calls("GET", route::ADDITIONS),
            cw_applied_writes: cw.writes(),
        }
    }

    fn since(self, before: Counts) -> Counts {
        Counts {
            ksc: self.ksc - before.ksc,
            cw_reads: self.cw_reads - before.cw_reads,
            cw_writes: self.cw_writes - before.cw_writes,
            cw_addition_reads: self.cw_addition_reads - before.cw_addition_reads,
            cw_applied_writes: self.cw_applied_writes - before.cw_applied_writes,
        }
    }
}

struct Bench {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Bench {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("a server answer");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        if let (Some(location), Some(object)) = (location, body.as_object_mut()) {
            object.insert("_location".into(), json!(location));
        }
        (status, body)
    }

    async fn expect(&self, method: Method, path: &str, body: Option<&Value>, status: u16) -> Value {
        let (got, answer) = self.send(method, path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        answer
    }

    /// Starts a run and waits for its end; the run and the wall time.
    async fn sync(&self) -> (Value, Duration) {
        let started = Instant::now();
        let run = self
            .expect(Method::POST, "/api/v1/sync/runs", None, 202)
            .await;
        let location = run["_location"]
            .as_str()
            .expect("a run location")
            .to_string();
        let path = location
            .strip_prefix(&self.base)
            .unwrap_or(&location)
            .to_string();
        while started.elapsed() < RUN_LIMIT {
            let run = self.expect(Method::GET, &path, None, 200).await;
            if run["status"] != "running" {
                return (run, started.elapsed());
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the run did not finish within {RUN_LIMIT:?}");
    }
}

fn tenant(i: usize) -> FakeTenant {
    let mut t = FakeTenant::default();
    let mut windows = Vec::new();
    let mut linux = Vec::new();
    for h in 0..HOSTS {
        let id = format!("t{i}-h{h}");
        let (os, ctype) = if h < WORKSTATIONS {
            ("Microsoft Windows 11 Pro", 0x1003)
        } else if h < WORKSTATIONS + SERVERS {
            ("Microsoft Windows Server 2022 Standard", 0x9007)
        } else {
            ("Ubuntu 24.04 LTS", 0x200800)
        };
        t = t.host(&id, &id.to_uppercase(), os, ctype);
        if h < WORKSTATIONS + SERVERS {
            windows.push(id);
        } else {
            linux.push(id);
        }
    }
    t.key(
        FakeKey::new(
            &format!("T{i}-KES"),
            "Kaspersky Endpoint Security for Windows",
            1103,
            1,
        )
        .current_on(&windows.iter().map(String::as_str).collect::<Vec<_>>()),
    )
    .key(
        FakeKey::new(
            &format!("T{i}-KESL"),
            "Kaspersky Endpoint Security for Linux",
            1105,
            1,
        )
        .current_on(&linux.iter().map(String::as_str).collect::<Vec<_>>()),
    )
}

#[actix_web::main]
async fn main() {
    let tenants = env_number("SYNC_BENCH_TENANTS", 1000, 1..=5000);
    let ksc_concurrency = env_number("SYNC_BENCH_KSC_CONCURRENCY", 4, 1..=32);
    let cw_concurrency = env_number("SYNC_BENCH_CW_CONCURRENCY", 4, 1..=32);
    println!(
        "Sync benchmark: {tenants} KSC tenants × {HOSTS} hosts, KSC {KSC_LATENCY:?}/call \
         (concurrency {ksc_concurrency}), ConnectWise {CW_LATENCY:?}/call (concurrency {cw_concurrency})"
    );
    let setup = Instant::now();

    // The fakes.
    let mut data = FakeKscData::new(KSC_USER, KSC_PASSWORD);
    for i in 0..tenants {
        data = data.vserver(100 + i as i64, &format!("Tenant {i:04}"), true, tenant(i));
    }
    let ksc = FakeKsc::start(
        FakeKscOptions::new(data)
            .latency(KSC_LATENCY)
            .max_chunk(500),
    )
    .expect("the fake KSC starts");
    let cw = FakeConnectWise::start(Default::default()).expect("the fake ConnectWise starts");
    let products: Vec<i64> = ["KES-WS", "KES-SRV", "KES-NONWIN"]
        .iter()
        .map(|identifier| {
            cw.add_catalog_item(&CatalogItem {
                identifier: Some((*identifier).into()),
                description: Some(format!("{identifier} per device")),
                price: Some(5.0),
                ..Default::default()
            })
        })
        .collect();
    let agreements: Vec<(i64, i64)> = (0..tenants)
        .map(|i| {
            let company = cw.add_company(&Company {
                identifier: Some(format!("Tenant{i:04}")),
                name: Some(format!("Tenant {i:04} Ltd")),
                ..Default::default()
            });
            let agreement = cw.add_agreement(&Agreement {
                name: Some("Security".into()),
                company: Some(Reference::id(company)),
                agreement_status: Some("Active".into()),
                ..Default::default()
            });
            (company, agreement)
        })
        .collect();

    // The server, on SQLite in a temporary directory.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::defaults(&dir.path().join("data"));
    settings.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    settings.bind = "127.0.0.1:0".parse().unwrap();
    settings.admin_password = Some(ADMIN_PASSWORD.into());
    settings.jwt_secret = Some(JWT_SECRET.into());
    let database_url = settings.database_url.clone();
    let app = Application::build(settings)
        .await
        .expect("the application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("a login answer");
    let bench = Bench {
        client,
        base,
        token: login["access_token"].as_str().expect("a token").into(),
    };

    // Connections, catalog, tenants, mappings.
    let o = cw.options();
    bench
        .expect(
            Method::PUT,
            "/api/v1/connections/connectwise",
            Some(
                &json!({"site_url": cw.base_url(), "company_id": o.company_id,
                "public_key": o.public_key, "private_key": o.private_key,
                "client_id": o.client_id, "max_concurrency": cw_concurrency}),
            ),
            200,
        )
        .await;
    bench
        .expect(
            Method::POST,
            "/api/v1/connectwise/products/refresh",
            None,
            200,
        )
        .await;
    bench
        .expect(
            Method::PUT,
            "/api/v1/connections/kaspersky",
            Some(&json!({"server_url": ksc.base_url(), "user": KSC_USER,
                "password": KSC_PASSWORD, "max_concurrency": ksc_concurrency})),
            200,
        )
        .await;
    bench
        .expect(Method::POST, "/api/v1/tenants/refresh", None, 200)
        .await;
    bench
        .expect(
            Method::PUT,
            "/api/v1/settings/billing",
            Some(&json!({"bill_devices_by_category": true})),
            200,
        )
        .await;
    let (ws, srv, nonwin) = (products[0], products[1], products[2]);
    for (application, forms) in [
        (
            "kes-windows",
            json!({"product_id": ws, "workstation_product_id": ws,
                "server_product_id": srv, "non_windows_product_id": nonwin}),
        ),
        (
            "kes-linux",
            json!({"product_id": nonwin, "workstation_product_id": nonwin,
                "server_product_id": nonwin, "non_windows_product_id": nonwin}),
        ),
    ] {
        bench
            .expect(
                Method::PUT,
                &format!("/api/v1/product-mappings/{application}"),
                Some(&forms),
                200,
            )
            .await;
    }
    let mut discovered = {
        let pool = db::connect_pool(&database_url, 1).expect("the benchmark database");
        let mut conn = pool.get().expect("a database connection");
        db::tenants::of_solution(&mut conn, db::tenants::KSC).expect("the tenants")
    };
    discovered.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(discovered.len(), tenants, "every virtual server discovered");
    let created = stream::iter(discovered.iter().zip(&agreements))
        .map(|(tenant, &(company, agreement))| {
            let body = json!({"tenant_id": tenant.id, "cw_company_id": company,
                "agreement_id": agreement});
            let bench = &bench;
            async move {
                bench
                    .send(Method::POST, "/api/v1/company-mappings", Some(&body))
                    .await
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let failed: Vec<_> = created
        .iter()
        .filter(|(status, _)| *status != 201)
        .collect();
    assert!(
        failed.is_empty(),
        "company mappings refused: {:?}",
        failed.first()
    );
    println!(
        "setup: {:.1} s ({tenants} company mappings through the API)",
        setup.elapsed().as_secs_f64()
    );

    // The first sync.
    cw.set_latency(CW_LATENCY);
    let before = Counts::take(&ksc, &cw);
    let (run, wall) = bench.sync().await;
    let first = Counts::take(&ksc, &cw).since(before);
    let cw_calls = first.cw_reads + first.cw_writes;
    let bound = first.ksc as f64 * KSC_LATENCY.as_secs_f64() / ksc_concurrency as f64
        + cw_calls as f64 * CW_LATENCY.as_secs_f64() / cw_concurrency as f64;
    let ratio = wall.as_secs_f64() / bound;
    println!("\n-- first sync --");
    println!("run: status {}, summary {}", run["status"], run["summary"]);
    println!(
        "KSC calls {} ({:.1}/tenant), ConnectWise calls {} ({} reads, {} writes; {} applied), max in flight {}",
        first.ksc,
        first.ksc as f64 / tenants as f64,
        cw_calls,
        first.cw_reads,
        first.cw_writes,
        first.cw_applied_writes,
        cw.max_in_flight()
    );
    println!(
        "wall {:.2} s; bound {:.2} s (KSC {:.2} s + ConnectWise {:.2} s); ratio {:.2} (target ≤ {RATIO_TARGET})  {}",
        wall.as_secs_f64(),
        bound,
        first.ksc as f64 * KSC_LATENCY.as_secs_f64() / ksc_concurrency as f64,
        cw_calls as f64 * CW_LATENCY.as_secs_f64() / cw_concurrency as f64,
        ratio,
        verdict(ratio <= RATIO_TARGET && run["status"] == "succeeded")
    );
    let expected_writes = 3 * tenants;
    println!(
        "additions created: {} (expected {expected_writes})  {}",
        first.cw_applied_writes,
        verdict(first.cw_applied_writes == expected_writes)
    );

    // The unchanged re-sync.
    let before = Counts::take(&ksc, &cw);
    let (run, wall) = bench.sync().await;
    let again = Counts::take(&ksc, &cw).since(before);
    println!("\n-- unchanged re-sync --");
    println!("run: status {}, summary {}", run["status"], run["summary"]);
    println!(
        "wall {:.2} s; KSC calls {}; ConnectWise reads {} (of additions {}), writes {}",
        wall.as_secs_f64(),
        again.ksc,
        again.cw_reads,
        again.cw_addition_reads,
        again.cw_writes
    );
    println!(
        "writes {} (target 0)  {}",
        again.cw_writes,
        verdict(again.cw_writes == 0 && again.cw_applied_writes == 0)
    );
    println!(
        "ConnectWise reads {} for {tenants} agreements (target ≤ 1 per agreement)  {}",
        again.cw_reads,
        verdict(again.cw_reads <= tenants)
    );

    // Where the time goes: the KSC collection alone (the first phase of every run).
    let before = Counts::take(&ksc, &cw);
    let started = Instant::now();
    let collected = bench
        .expect(
            Method::POST,
            "/api/v1/usage-snapshots/collect",
            Some(&json!({})),
            200,
        )
        .await;
    let collect_wall = started.elapsed();
    let calls = Counts::take(&ksc, &cw).since(before).ksc;
    let collect_bound = calls as f64 * KSC_LATENCY.as_secs_f64() / ksc_concurrency as f64;
    println!("\n-- diagnostic: KSC collection alone (POST /api/v1/usage-snapshots/collect) --");
    println!(
        "{} tenants collected, KSC calls {calls}: wall {:.2} s, bound {:.2} s, ratio {:.2}; \
         logins {} so far",
        collected["collected"],
        collect_wall.as_secs_f64(),
        collect_bound,
        collect_wall.as_secs_f64() / collect_bound,
        ksc.calls("login"),
    );
    ksc.stop().await;
    cw.stop().await;
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}
