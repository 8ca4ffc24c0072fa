//! Sync engine benchmark (`cargo bench --bench sync`).
//!
//! For each size in `SYNC_BENCH_TENANTS` (comma-separated, 1 to 10,000; default `1000,5000`):
//! that many KSC virtual servers of 50 hosts each on the fake KSC (5 ms per call), billed by
//! category into 3 products on the fake ConnectWise (25 ms per call), each tenant mapped to a
//! company and agreement of its own. The server is the release binary in a process of its own
//! (its peak RSS is its own, not the fakes'), on SQLite in a temporary directory.
//!
//! Measures the first sync (from `POST /api/v1/sync/runs` to the run's end) and an unchanged
//! re-sync against two bounds from the calls the fakes counted: the *sum* bound
//! `KSC calls × 5 ms ÷ KSC concurrency + ConnectWise calls × 25 ms ÷ ConnectWise concurrency`
//! (one side after the other) and the *larger* bound, the larger of the two terms (the physical
//! limit when both sides overlap). Targets: first sync ≤ 1.0 × the sum bound and ≤ 1.15 × the
//! larger bound; re-sync ≤ 1.15 × its larger bound, no writes, at most one ConnectWise read per
//! agreement; the server's peak RSS ≤ 150 MiB. Prints PASS/FAIL per target; never exits
//! non-zero for a missed target (a value out of range stops it with a message).
//!
//! Setup: the fakes are seeded directly (companies, agreements, catalog, virtual servers); the
//! server discovers the tenants and refreshes its catalog through its API, and the company
//! mappings are created through `POST /api/v1/company-mappings` (8 at a time) while the fakes
//! answer without latency; the latencies apply from the first measured sync on.
//!
//! `SYNC_BENCH_KEEP=1` keeps the server's database and log (the path is printed).
//!
//! Every request goes to 127.0.0.1; every wait is bounded.

mod common;
#[path = "sync_parts/setup.rs"]
mod setup;

use kaspersky_msp_bridge::domain::money::Money;
use std::time::{Duration, Instant};

use common::{env_number, env_numbers, verdict, Server};
use futures_util::stream::{self, StreamExt};
use kaspersky_msp_bridge::adapters::connectwise::{Agreement, CatalogItem, Company, Reference};
use kaspersky_msp_bridge::adapters::db;
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise};
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    FakeKey, FakeKsc, FakeKscData, FakeKscOptions, FakeTenant,
};
use kaspersky_msp_bridge::domain::model::Solution;
use reqwest::Method;
use serde_json::{json, Value};
use setup::{configure, map_companies, tenant};

const KSC_USER: &str = "ksc-admin";
const KSC_PASSWORD: &str = "ksc-password";
const KSC_LATENCY: Duration = Duration::from_millis(5);
const CW_LATENCY: Duration = Duration::from_millis(25);
const HOSTS: usize = 50;
/// Of the 50 hosts: Windows workstations, Windows servers, the rest Linux.
const WORKSTATIONS: usize = 40;
const SERVERS: usize = 5;
/// Targets: wall time ÷ the sum bound, wall time ÷ the larger bound, peak RSS.
const SUM_RATIO_TARGET: f64 = 1.0;
const LARGER_RATIO_TARGET: f64 = 1.15;
const RSS_TARGET_MIB: f64 = 150.0;
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

/// The concurrency limits of the two connections.
#[derive(Clone, Copy)]
struct Limits {
    ksc: usize,
    cw: usize,
}

/// A measured run against its bounds.
struct Measured {
    status: String,
    /// CPU seconds of the server and of this process (the fakes and the client).
    cpu: (f64, f64),
    wall: Duration,
    calls: Counts,
    ksc_bound: f64,
    cw_bound: f64,
}

impl Measured {
    fn new(
        run: &Value,
        wall: Duration,
        calls: Counts,
        limits: Limits,
        cpu: (f64, f64),
    ) -> Measured {
        let cw_calls = (calls.cw_reads + calls.cw_writes) as f64;
        Measured {
            status: run["status"].as_str().unwrap_or("?").to_string(),
            cpu,
            wall,
            calls,
            ksc_bound: calls.ksc as f64 * KSC_LATENCY.as_secs_f64() / limits.ksc as f64,
            cw_bound: cw_calls * CW_LATENCY.as_secs_f64() / limits.cw as f64,
        }
    }

    fn sum_ratio(&self) -> f64 {
        self.wall.as_secs_f64() / (self.ksc_bound + self.cw_bound)
    }

    fn larger_ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.ksc_bound.max(self.cw_bound)
    }

    fn print(&self, label: &str, tenants: usize) {
        let c = &self.calls;
        println!(
            "{label}: status {}, wall {:.2} s, CPU {:.1} s server + {:.1} s fakes; KSC calls {} \
             ({:.1}/tenant) → {:.2} s, ConnectWise calls {} ({} reads, {} of additions; {} writes, \
             {} applied) → {:.2} s",
            self.status,
            self.wall.as_secs_f64(),
            self.cpu.0,
            self.cpu.1,
            c.ksc,
            c.ksc as f64 / tenants as f64,
            self.ksc_bound,
            c.cw_reads + c.cw_writes,
            c.cw_reads,
            c.cw_addition_reads,
            c.cw_writes,
            c.cw_applied_writes,
            self.cw_bound,
        );
    }
}

/// What one size measured.
struct Outcome {
    tenants: usize,
    first: Measured,
    again: Measured,
    reconciliation: Reconciled,
    peak_rss_mib: f64,
}

/// The reconciliation report over every company: from the last run's reading, and live
/// against its ConnectWise bound (one read per agreement at the connection's concurrency).
struct Reconciled {
    last_run: Duration,
    live: Duration,
    live_bound: f64,
    companies: u64,
}

/// The reconciliation report's target from the last run's reading.
const RECONCILE_LAST_RUN_TARGET: Duration = Duration::from_secs(1);

#[actix_web::main]
async fn main() {
    let sizes = env_numbers("SYNC_BENCH_TENANTS", &[1000, 5000], 1..=10_000);
    let limits = Limits {
        ksc: env_number("SYNC_BENCH_KSC_CONCURRENCY", 4, 1..=32),
        cw: env_number("SYNC_BENCH_CW_CONCURRENCY", 4, 1..=32),
    };
    println!(
        "Sync benchmark: {sizes:?} KSC tenants × {HOSTS} hosts, KSC {KSC_LATENCY:?}/call \
         (concurrency {}), ConnectWise {CW_LATENCY:?}/call (concurrency {}); server = {}",
        limits.ksc,
        limits.cw,
        env!("CARGO_BIN_EXE_kaspersky-msp-bridge")
    );
    let mut outcomes = Vec::new();
    for tenants in sizes {
        outcomes.push(measure(tenants, limits).await);
    }
    println!("\n== targets ==");
    for o in &outcomes {
        let n = o.tenants;
        let (f, a) = (&o.first, &o.again);
        let ok = f.status == "succeeded";
        println!(
            "{n:>5} tenants, first sync: {:.2} s = {:.2} × sum bound {:.2} s (target ≤ {SUM_RATIO_TARGET})  {}",
            f.wall.as_secs_f64(),
            f.sum_ratio(),
            f.ksc_bound + f.cw_bound,
            verdict(ok && f.sum_ratio() <= SUM_RATIO_TARGET)
        );
        println!(
            "{n:>5} tenants, first sync: {:.2} × larger bound {:.2} s (target ≤ {LARGER_RATIO_TARGET})  {}",
            f.larger_ratio(),
            f.ksc_bound.max(f.cw_bound),
            verdict(ok && f.larger_ratio() <= LARGER_RATIO_TARGET)
        );
        println!(
            "{n:>5} tenants, first sync: additions created {} (expected {})  {}",
            f.calls.cw_applied_writes,
            3 * n,
            verdict(f.calls.cw_applied_writes == 3 * n)
        );
        println!(
            "{n:>5} tenants, re-sync: {:.2} s = {:.2} × larger bound {:.2} s (target ≤ {LARGER_RATIO_TARGET})  {}",
            a.wall.as_secs_f64(),
            a.larger_ratio(),
            a.ksc_bound.max(a.cw_bound),
            verdict(a.status == "succeeded" && a.larger_ratio() <= LARGER_RATIO_TARGET)
        );
        println!(
            "{n:>5} tenants, re-sync: {} writes, {} ConnectWise reads for {n} agreements (targets 0, ≤ {n})  {}",
            a.calls.cw_writes,
            a.calls.cw_reads,
            verdict(a.calls.cw_writes == 0 && a.calls.cw_reads <= n)
        );
        let r = &o.reconciliation;
        println!(
            "{n:>5} companies, reconciliation from the last run: {:.3} s (target ≤ {} s)  {}",
            r.last_run.as_secs_f64(),
            RECONCILE_LAST_RUN_TARGET.as_secs(),
            verdict(r.companies == n as u64 && r.last_run <= RECONCILE_LAST_RUN_TARGET)
        );
        println!(
            "{n:>5} companies, reconciliation live: {:.2} s = {:.2} × its bound {:.2} s (target ≤ {LARGER_RATIO_TARGET})  {}",
            r.live.as_secs_f64(),
            r.live.as_secs_f64() / r.live_bound,
            r.live_bound,
            verdict(r.live.as_secs_f64() / r.live_bound <= LARGER_RATIO_TARGET)
        );
        println!(
            "{n:>5} tenants, server peak RSS {:.1} MiB (target ≤ {RSS_TARGET_MIB} MiB), ratio {:.2}  {}",
            o.peak_rss_mib,
            o.peak_rss_mib / RSS_TARGET_MIB,
            verdict(o.peak_rss_mib <= RSS_TARGET_MIB)
        );
    }
}

/// Sets up `tenants` tenants on fresh fakes and a fresh server, then measures a first sync, an
/// unchanged re-sync and (as a diagnostic) a collection alone.
async fn measure(tenants: usize, limits: Limits) -> Outcome {
    println!("\n== {tenants} tenants ==");
    let setup = Instant::now();
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
                price: Money::parse("5.00"),
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

    let dir = tempfile::tempdir().expect("a temporary directory");
    if std::env::var_os("SYNC_BENCH_KEEP").is_some() {
        println!("server files kept in {}", dir.path().display());
    }
    let database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = Server::start(&database_url, dir.path());
    let client = reqwest::Client::new();
    let bench = Bench {
        token: common::login(&client, &server.base).await,
        base: server.base.clone(),
        client,
    };
    configure(&bench, &ksc, &cw, &products, limits).await;
    map_companies(&bench, &database_url, &agreements).await;
    println!(
        "setup: {:.1} s ({tenants} company mappings through the API)",
        setup.elapsed().as_secs_f64()
    );

    cw.set_latency(CW_LATENCY);
    let cpu = || (server.cpu_seconds(), common::cpu_seconds("self"));
    let since = |(at_server, at_fakes): (f64, f64)| {
        (
            server.cpu_seconds() - at_server,
            common::cpu_seconds("self") - at_fakes,
        )
    };
    let (before, cpu_before) = (Counts::take(&ksc, &cw), cpu());
    let (run, wall) = bench.sync().await;
    let calls = Counts::take(&ksc, &cw).since(before);
    let first = Measured::new(&run, wall, calls, limits, since(cpu_before));
    first.print("first sync", tenants);
    if first.status != "succeeded" {
        println!("  summary {}; error {}", run["summary"], run["error"]);
    }

    let (before, cpu_before) = (Counts::take(&ksc, &cw), cpu());
    let (run, wall) = bench.sync().await;
    let calls = Counts::take(&ksc, &cw).since(before);
    let again = Measured::new(&run, wall, calls, limits, since(cpu_before));
    again.print("unchanged re-sync", tenants);

    // Where the time goes: the KSC collection alone.
    let (before, cpu_before) = (Counts::take(&ksc, &cw), cpu());
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
    let collect_cpu = since(cpu_before);
    let calls = Counts::take(&ksc, &cw).since(before).ksc;
    let collect_bound = calls as f64 * KSC_LATENCY.as_secs_f64() / limits.ksc as f64;
    println!(
        "diagnostic, KSC collection alone: {} tenants, {calls} calls, wall {:.2} s, bound {:.2} s, \
         ratio {:.2}; CPU {:.1} s server + {:.1} s fakes",
        collected["collected"],
        collect_wall.as_secs_f64(),
        collect_bound,
        collect_wall.as_secs_f64() / collect_bound,
        collect_cpu.0,
        collect_cpu.1,
    );
    let reconciliation = reconcile(&bench, &ksc, &cw, limits).await;
    let peak_rss_mib = server.peak_rss_mib();
    server.stop();
    ksc.stop().await;
    cw.stop().await;
    if std::env::var_os("SYNC_BENCH_KEEP").is_some() {
        let _ = dir.keep();
    }
    Outcome {
        tenants,
        first,
        again,
        reconciliation,
        peak_rss_mib,
    }
}

/// Times the reconciliation report of every company, from the last run and live.
async fn reconcile(
    bench: &Bench,
    ksc: &FakeKsc,
    cw: &FakeConnectWise,
    limits: Limits,
) -> Reconciled {
    let path = |source: &str| format!("/api/v1/reports/reconciliation?source={source}&per_page=50");
    let started = Instant::now();
    let last = bench
        .expect(Method::GET, &path("last_run"), None, 200)
        .await;
    let last_run = started.elapsed();
    let before = Counts::take(ksc, cw);
    let started = Instant::now();
    bench.expect(Method::GET, &path("live"), None, 200).await;
    let live = started.elapsed();
    let reads = Counts::take(ksc, cw).since(before).cw_reads;
    let reconciled = Reconciled {
        last_run,
        live,
        live_bound: reads as f64 * CW_LATENCY.as_secs_f64() / limits.cw as f64,
        companies: last["total"].as_u64().unwrap_or(0),
    };
    println!(
        "reconciliation of {} companies: last run {:.3} s; live {:.2} s, {reads} ConnectWise reads, \
         bound {:.2} s",
        reconciled.companies,
        last_run.as_secs_f64(),
        live.as_secs_f64(),
        reconciled.live_bound
    );
    reconciled
}
