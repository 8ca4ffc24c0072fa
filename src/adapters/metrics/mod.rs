//! Process-wide Prometheus metrics, rendered in the text exposition format at `GET /metrics`.
//!
//! Hand-rolled rather than a crate: there are few families and the format is simple. Every
//! label set is bounded by the code, never by the caller: HTTP routes are the matched patterns
//! (`/api/v1/users/{id}`, or [`UNMATCHED_ROUTE`]), methods outside the standard set are
//! `other`, and the outbound and sync labels are enums or `&'static str`s.
//!
//! The hot path is an atomic add. An HTTP request looks its series up in a per-thread cache
//! first; the shared registry's lock is only taken the first time a worker thread meets a
//! label set.

mod exposition;
mod notices;
mod process;

pub use notices::NoticeGauges;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use exposition::{escape, Exposition};

/// The route label of requests that matched no route (unknown paths), so scanners probing
/// random paths cannot grow the series without bound.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A latency histogram; it also counts its observations, so one series serves both
/// `bridge_http_requests_total` and `bridge_http_request_duration_seconds`.
#[derive(Default)]
struct Histogram {
    /// Observations per bucket, not cumulative (the exposition adds them up).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|le| seconds <= *le) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// Series of one metric family by label set, created on first use.
struct Family<K, V> {
    series: RwLock<HashMap<K, Arc<V>>>,
}

impl<K: Eq + Hash + Clone + Ord, V: Default> Family<K, V> {
    fn new() -> Self {
        Family {
            series: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Arc<V> {
        if let Some(series) = read(&self.series).get(key) {
            return series.clone();
        }
        let mut all = self.series.write().unwrap_or_else(|e| e.into_inner());
        all.entry(key.clone()).or_default().clone()
    }

    /// Every series, sorted by label set so the output is stable.
    fn snapshot(&self) -> BTreeMap<K, Arc<V>> {
        read(&self.series)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A panic elsewhere cannot leave a counter map half-written, so a poisoned lock is still usable.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// `(route pattern, method, status)`
type HttpKey = (String, &'static str, u16);

/// An outside system the bridge calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    ConnectWise,
    Ksc,
    /// Notification webhooks.
    Webhook,
}

impl Upstream {
    const ALL: [Upstream; 3] = [Upstream::ConnectWise, Upstream::Ksc, Upstream::Webhook];

    pub fn label(self) -> &'static str {
        match self {
            Upstream::ConnectWise => "connectwise",
            Upstream::Ksc => "ksc",
            Upstream::Webhook => "webhook",
        }
    }
}

/// How an outbound call ended, after its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Success,
    /// The server answered, with an error.
    ErrorResponse,
    /// No answer: connection refused, timeout, TLS failure, blocked by the allow-list.
    NoResponse,
}

impl CallOutcome {
    const ALL: [CallOutcome; 3] = [
        CallOutcome::Success,
        CallOutcome::ErrorResponse,
        CallOutcome::NoResponse,
    ];

    fn label(self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::ErrorResponse => "error_response",
            CallOutcome::NoResponse => "no_response",
        }
    }
}

/// Counters of one upstream. Label sets are known up front, so they are plain arrays.
#[derive(Default)]
struct UpstreamCounters {
    calls: [AtomicU64; CallOutcome::ALL.len()],
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

struct Registry {
    http: Family<HttpKey, Histogram>,
    upstream: [UpstreamCounters; Upstream::ALL.len()],
    sync_runs: Family<&'static str, AtomicU64>,
    sync_additions: Family<&'static str, AtomicU64>,
    sync_last_success: AtomicU64,
    sync_last_run_held_lines: AtomicU64,
    sync_last_run_skipped_tenants: AtomicU64,
    sync_last_run_unattributed_tenants: AtomicU64,
    read_copies: Family<(&'static str, &'static str), AtomicU64>,
    data_version_reads: AtomicU64,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    http: Family::new(),
    upstream: Default::default(),
    sync_runs: Family::new(),
    sync_additions: Family::new(),
    sync_last_success: AtomicU64::new(0),
    sync_last_run_held_lines: AtomicU64::new(0),
    sync_last_run_skipped_tenants: AtomicU64::new(0),
    sync_last_run_unattributed_tenants: AtomicU64::new(0),
    read_copies: Family::new(),
    data_version_reads: AtomicU64::new(0),
});

thread_local! {
    static HTTP_SERIES: RefCell<HashMap<HttpKey, Arc<Histogram>>> = RefCell::new(HashMap::new());
}

/// The method label: the standard methods, anything else is `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// One answered HTTP request. `route` is the matched pattern, `None` when nothing matched.
pub fn http_request(route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
    let key = (
        route.unwrap_or(UNMATCHED_ROUTE).to_string(),
        method_label(method),
        status,
    );
    HTTP_SERIES.with(|cache| {
        let series = cache
            .borrow_mut()
            .entry(key)
            .or_insert_with_key(|key| REGISTRY.http.get(key))
            .clone();
        series.observe(elapsed);
    });
}

fn upstream(of: Upstream) -> &'static UpstreamCounters {
    &REGISTRY.upstream[of as usize]
}

/// One outbound call finished, retries included.
pub fn upstream_call(of: Upstream, outcome: CallOutcome) {
    upstream(of).calls[outcome as usize].fetch_add(1, Relaxed);
}

/// An outbound attempt failed and is being tried again.
pub fn upstream_retry(of: Upstream) {
    upstream(of).retries.fetch_add(1, Relaxed);
}

/// The upstream answered 429 Too Many Requests (whether retried or not).
pub fn upstream_rate_limited(of: Upstream) {
    upstream(of).rate_limited.fetch_add(1, Relaxed);
}

/// A sync run ended with `status` (e.g. `succeeded`, `failed`).
pub fn sync_run_finished(status: &'static str) {
    REGISTRY.sync_runs.get(&status).fetch_add(1, Relaxed);
}

/// A sync run succeeded at `unix_seconds`.
pub fn sync_succeeded_at(unix_seconds: u64) {
    REGISTRY.sync_last_success.store(unix_seconds, Relaxed);
}

/// `count` additions were written to ConnectWise with `action` (e.g. `create`, `update`).
pub fn sync_additions_written(action: &'static str, count: u64) {
    REGISTRY
        .sync_additions
        .get(&action)
        .fetch_add(count, Relaxed);
}

/// What the last finished run left undone.
pub struct LastRun {
    /// Lines held for approval.
    pub held_lines: u64,
    /// Billed tenants not billed (skipped or blocked).
    pub skipped_tenants: u64,
    /// Billed tenants with usage no application counts (unknown or ambiguous keys).
    pub unattributed_tenants: u64,
}

pub fn sync_last_run(last: LastRun) {
    REGISTRY
        .sync_last_run_held_lines
        .store(last.held_lines, Relaxed);
    REGISTRY
        .sync_last_run_skipped_tenants
        .store(last.skipped_tenants, Relaxed);
    REGISTRY
        .sync_last_run_unattributed_tenants
        .store(last.unattributed_tenants, Relaxed);
}

/// A request for the `copy` read copy was answered from it (`hit`) or read the database.
pub fn read_copy(copy: &'static str, hit: bool) {
    let outcome = if hit { "hit" } else { "miss" };
    REGISTRY
        .read_copies
        .get(&(copy, outcome))
        .fetch_add(1, Relaxed);
}

/// One query read the data-version counters (for however many requests were waiting).
pub fn data_versions_read() {
    REGISTRY.data_version_reads.fetch_add(1, Relaxed);
}

/// The database pool as seen at scrape time.
pub struct PoolState {
    pub max_size: u32,
    pub connections: u32,
    pub idle: u32,
}

/// The version and git commit of this build (`BRIDGE_GIT_COMMIT`, set by build.rs).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = match option_env!("BRIDGE_GIT_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// Starts the labelled sync series at zero, so dashboards and alerts see every run status and
/// written action from start-up, not only after the first run.
pub fn declare_sync_series(statuses: &[&'static str], actions: &[&'static str]) {
    for status in statuses {
        REGISTRY.sync_runs.get(status);
    }
    for action in actions {
        REGISTRY.sync_additions.get(action);
    }
}

/// The whole exposition.
pub fn render(pool: &PoolState) -> String {
    let mut out = Exposition::default();
    render_build(&mut out);
    render_log(&mut out);
    render_process(&mut out);
    render_http(&mut out);
    render_upstream(&mut out);
    render_pool(&mut out, pool);
    render_sync(&mut out);
    render_read_copies(&mut out);
    out.text
}

fn render_build(out: &mut Exposition) {
    out.family(
        "bridge_build_info",
        "gauge",
        "The running build (always 1): version and git commit.",
    );
    let labels = format!(
        "version=\"{}\",commit=\"{}\"",
        escape(VERSION),
        escape(COMMIT)
    );
    out.sample("bridge_build_info", &labels, 1);
}

fn render_log(out: &mut Exposition) {
    let name = "bridge_log_lines_dropped_total";
    out.family(
        name,
        "counter",
        "Log lines dropped because stderr was stuck or could not be written (e.g. a full disk).",
    );
    out.sample(name, "", crate::adapters::telemetry::dropped_lines());
}

fn render_process(out: &mut Exposition) {
    let Some(p) = process::read() else {
        return;
    };
    let mut gauge = |name: &str, kind: &str, help: &str, value: f64| {
        out.family(name, kind, help);
        out.sample(name, "", value);
    };
    gauge(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent, in seconds.",
        p.cpu_seconds,
    );
    gauge(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        p.resident_memory_bytes as f64,
    );
    gauge(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        p.virtual_memory_bytes as f64,
    );
    gauge(
        "process_open_fds",
        "gauge",
        "Open file descriptors.",
        p.open_fds as f64,
    );
    if let Some(max) = p.max_fds {
        gauge(
            "process_max_fds",
            "gauge",
            "Most file descriptors the process may open.",
            max as f64,
        );
    }
    gauge(
        "process_start_time_seconds",
        "gauge",
        "When the process started, in seconds since the Unix epoch.",
        p.start_time_seconds,
    );
}

fn render_http(out: &mut Exposition) {
    let series = REGISTRY.http.snapshot();
    out.family(
        "bridge_http_requests_total",
        "counter",
        "HTTP requests answered, by route pattern, method and status.",
    );
    for ((route, method, status), h) in &series {
        let labels = http_labels(route, method, *status);
        out.sample("bridge_http_requests_total", &labels, h.count.load(Relaxed));
    }
    out.family(
        "bridge_http_request_duration_seconds",
        "histogram",
        "Time to answer an HTTP request, by route pattern, method and status.",
    );
    for ((route, method, status), h) in &series {
        let labels = http_labels(route, method, *status);
        let mut cumulative = 0;
        for (le, bucket) in LATENCY_BUCKETS.iter().zip(&h.buckets) {
            cumulative += bucket.load(Relaxed);
            let labels = format!("{labels},le=\"{le}\"");
            out.sample(
                "bridge_http_request_duration_seconds_bucket",
                &labels,
                cumulative,
            );
        }
        let count = h.count.load(Relaxed);
        let labels_inf = format!("{labels},le=\"+Inf\"");
        out.sample(
            "bridge_http_request_duration_seconds_bucket",
            &labels_inf,
            count,
        );
        let sum = h.sum_nanos.load(Relaxed) as f64 / 1e9;
        out.sample("bridge_http_request_duration_seconds_sum", &labels, sum);
        out.sample("bridge_http_request_duration_seconds_count", &labels, count);
    }
}

fn http_labels(route: &str, method: &str, status: u16) -> String {
    format!(
        "route=\"{}\",method=\"{method}\",status=\"{status}\"",
        escape(route)
    )
}

/// An upstream's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTotals {
    /// Calls by [`CallOutcome`], in the order of `CallOutcome::ALL`.
    pub calls: [u64; CallOutcome::ALL.len()],
    pub retries: u64,
    pub rate_limited: u64,
}

impl UpstreamTotals {
    pub fn calls_with(&self, outcome: CallOutcome) -> u64 {
        self.calls[outcome as usize]
    }
}

pub fn upstream_totals(of: Upstream) -> UpstreamTotals {
    let counters = upstream(of);
    UpstreamTotals {
        calls: CallOutcome::ALL.map(|o| counters.calls[o as usize].load(Relaxed)),
        retries: counters.retries.load(Relaxed),
        rate_limited: counters.rate_limited.load(Relaxed),
    }
}

fn render_upstream(out: &mut Exposition) {
    let totals = Upstream::ALL.map(|of| (of.label(), upstream_totals(of)));
    out.family(
        "bridge_upstream_calls_total",
        "counter",
        "Calls to ConnectWise, KSC and notification webhooks, by outcome after retries.",
    );
    for (upstream, t) in &totals {
        for outcome in CallOutcome::ALL {
            let labels = format!("upstream=\"{upstream}\",outcome=\"{}\"", outcome.label());
            out.sample(
                "bridge_upstream_calls_total",
                &labels,
                t.calls_with(outcome),
            );
        }
    }
    let per_upstream = [
        (
            "bridge_upstream_retries_total",
            "Attempts to ConnectWise and KSC that failed and were tried again.",
            totals.map(|(upstream, t)| (upstream, t.retries)),
        ),
        (
            "bridge_upstream_rate_limited_total",
            "429 Too Many Requests answers from ConnectWise and KSC.",
            totals.map(|(upstream, t)| (upstream, t.rate_limited)),
        ),
    ];
    for (name, help, values) in per_upstream {
        out.family(name, "counter", help);
        for (upstream, value) in values {
            out.sample(name, &format!("upstream=\"{upstream}\""), value);
        }
    }
}

fn render_pool(out: &mut Exposition, pool: &PoolState) {
    let gauges = [
        (
            "bridge_db_pool_max_connections",
            "Largest size of the database pool.",
            pool.max_size,
        ),
        (
            "bridge_db_pool_connections",
            "Open database connections, in use or idle.",
            pool.connections,
        ),
        (
            "bridge_db_pool_idle_connections",
            "Idle database connections.",
            pool.idle,
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, "gauge", help);
        out.sample(name, "", value);
    }
}

fn render_read_copies(out: &mut Exposition) {
    out.family(
        "bridge_read_copies_total",
        "counter",
        "Reads of a version-checked copy (grid, sync_runs), by outcome: hit or miss.",
    );
    for ((copy, outcome), counter) in REGISTRY.read_copies.snapshot() {
        let labels = format!("copy=\"{copy}\",outcome=\"{outcome}\"");
        out.sample("bridge_read_copies_total", &labels, counter.load(Relaxed));
    }
    out.family(
        "bridge_data_version_reads_total",
        "counter",
        "Queries that read the data-version counters, each for every request waiting.",
    );
    out.sample(
        "bridge_data_version_reads_total",
        "",
        REGISTRY.data_version_reads.load(Relaxed),
    );
}

fn render_sync(out: &mut Exposition) {
    let labelled = [
        (
            "bridge_sync_runs_total",
            "Sync runs finished, by status.",
            "status",
            &REGISTRY.sync_runs,
        ),
        (
            "bridge_sync_additions_written_total",
            "Agreement additions written to ConnectWise, by action.",
            "action",
            &REGISTRY.sync_additions,
        ),
    ];
    for (name, help, label, family) in labelled {
        out.family(name, "counter", help);
        for (value, counter) in family.snapshot() {
            out.sample(name, &format!("{label}=\"{value}\""), counter.load(Relaxed));
        }
    }
    out.family(
        "bridge_sync_last_success_timestamp_seconds",
        "gauge",
        "When the last sync run succeeded (Unix time; 0 = never).",
    );
    out.sample(
        "bridge_sync_last_success_timestamp_seconds",
        "",
        REGISTRY.sync_last_success.load(Relaxed),
    );
    let last_run = [
        (
            "bridge_sync_last_run_held_lines",
            "Lines the last finished run left held for approval.",
            &REGISTRY.sync_last_run_held_lines,
        ),
        (
            "bridge_sync_last_run_skipped_tenants",
            "Tenants with billing enabled the last finished run skipped or blocked.",
            &REGISTRY.sync_last_run_skipped_tenants,
        ),
        (
            "bridge_sync_last_run_unattributed_tenants",
            "Tenants with billing enabled whose usage the last finished run could not attribute \
             to a security application (unknown or ambiguous licence keys).",
            &REGISTRY.sync_last_run_unattributed_tenants,
        ),
    ];
    for (name, help, value) in last_run {
        out.family(name, "gauge", help);
        out.sample(name, "", value.load(Relaxed));
    }
}

#[cfg(test)]
mod tests;
