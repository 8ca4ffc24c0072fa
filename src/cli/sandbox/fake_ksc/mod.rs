//! A fake Kaspersky Security Center Open API server on 127.0.0.1, over HTTP and HTTPS, for
//! tests and demos. It follows the real protocol (checked with Kaspersky's KlAkOAPI client by
//! `scripts/check-fake-ksc.sh`): logins bound to the TCP connection, session tokens,
//! iterators and chunk accessors with real chunking, plus latency and fault injection.

mod api;
mod data;
mod state;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::dev::{Extensions, ServerHandle};
use actix_web::{web, App, HttpServer};

pub use data::{
    demo, demo_applications, demo_expected_usage, numbered_expected_usage, numbered_name,
    numbered_tenants, FakeHost, FakeKey, FakeKscData, FakeTenant, FakeVServer, DEMO_PASSWORD,
    DEMO_USER,
};
pub use state::{Fault, FaultKind};

use state::State;

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeKscOptions {
    pub data: FakeKscData,
    /// Added before every answer.
    pub latency: Duration,
    /// Most rows one iterator or accessor read returns, whatever the client asks for.
    pub max_chunk: usize,
    pub faults: Vec<Fault>,
}

impl FakeKscOptions {
    pub fn new(data: FakeKscData) -> Self {
        FakeKscOptions {
            data,
            latency: Duration::ZERO,
            max_chunk: 3,
            faults: Vec::new(),
        }
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn max_chunk(mut self, max_chunk: usize) -> Self {
        self.max_chunk = max_chunk.max(1);
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    latency: Duration,
    max_chunk: usize,
}

/// Identifies the TCP connection a request arrived on (KSC binds a login to it).
#[derive(Clone, Copy)]
struct ConnectionId(u64);

/// A running fake; stop it with [`FakeKsc::stop`] (or let the runtime end).
pub struct FakeKsc {
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    ca_pem: String,
    shared: web::Data<Shared>,
    handle: ServerHandle,
}

impl FakeKsc {
    /// Starts listening on two ephemeral 127.0.0.1 ports (HTTP and HTTPS). Needs an actix/tokio
    /// runtime (`#[actix_web::test]`, `#[actix_web::main]`).
    pub fn start(options: FakeKscOptions) -> std::io::Result<FakeKsc> {
        let cert =
            crate::cli::sandbox::tls::SelfSignedCert::generate().map_err(std::io::Error::other)?;
        let server_config = cert.server_config().map_err(std::io::Error::other)?;
        let shared = web::Data::new(Shared {
            state: Mutex::new(State::new(options.data, options.faults)),
            latency: options.latency,
            max_chunk: options.max_chunk.max(1),
        });
        let app_data = shared.clone();
        let next_connection = std::sync::Arc::new(AtomicU64::new(1));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_data.clone())
                .route("/api/v1.0/{method}", web::post().to(api::handle))
        })
        .workers(1)
        .disable_signals()
        .on_connect(move |_: &dyn Any, extensions: &mut Extensions| {
            extensions.insert(ConnectionId(
                next_connection.fetch_add(1, Ordering::Relaxed),
            ));
        })
        .bind(("127.0.0.1", 0))?
        .bind_rustls_0_23(("127.0.0.1", 0), server_config)?;
        let addrs = server.addrs();
        let (http_addr, https_addr) = (addrs[0], addrs[1]);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(FakeKsc {
            http_addr,
            https_addr,
            ca_pem: cert.cert_pem,
            shared,
            handle,
        })
    }

    /// A fake with the [`demo`] dataset and default options.
    pub fn start_demo() -> std::io::Result<FakeKsc> {
        FakeKsc::start(FakeKscOptions::new(demo()))
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn https_url(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// PEM of the CA that signed the HTTPS certificate (for 127.0.0.1 and localhost).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn with_state<T>(&self, read: impl FnOnce(&mut State) -> T) -> T {
        read(&mut self.shared.state.lock().expect("fake KSC state"))
    }

    /// Calls received of one method (`Class.Method` or `login`), failed ones included.
    pub fn calls(&self, method: &str) -> u64 {
        self.with_state(|state| state.calls.get(method).copied().unwrap_or(0))
    }

    pub fn open_iterators(&self) -> usize {
        self.with_state(|state| state.iterators.len())
    }

    pub fn open_accessors(&self) -> usize {
        self.with_state(|state| state.accessors.len())
    }

    /// Calls refused because they carried neither a valid session nor a logged-in connection.
    pub fn not_authenticated(&self) -> u64 {
        self.with_state(|state| state.not_authenticated)
    }

    /// Sessions started on a virtual server (`""` = the main server).
    pub fn sessions_started(&self, vserver: &str) -> u64 {
        self.with_state(|state| state.sessions_started.get(vserver).copied().unwrap_or(0))
    }

    /// Token sessions not ended yet.
    pub fn open_sessions(&self) -> usize {
        self.with_state(|state| state.sessions.len())
    }

    /// Adds a fault while running.
    pub fn inject(&self, fault: Fault) {
        self.with_state(|state| state.faults.push(fault));
    }

    /// Changes what the fake serves from the next call on (a key issued, a host added).
    pub fn edit(&self, change: impl FnOnce(&mut FakeKscData)) {
        self.with_state(|state| {
            change(&mut state.data);
            state.reindex();
        });
    }

    pub fn clear_faults(&self) {
        self.with_state(|state| state.faults.clear());
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
