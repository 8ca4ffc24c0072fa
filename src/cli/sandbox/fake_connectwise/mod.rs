//! A fake ConnectWise Manage server speaking the real wire format (checked with the public
//! `pyconnectwise` client by `scripts/check-fake-connectwise.sh`).
//!
//! It serves plain HTTP and HTTPS (fresh self-signed certificate, see [`FakeConnectWise::ca_pem`]) on
//! random 127.0.0.1 ports, keeps its records in memory, and can be slowed down, made to fail and
//! asked what it received. Start it inside an actix runtime (`#[actix_web::test]`, `#[actix_web::main]`).

mod conditions;
mod http;
mod routes;
mod service_desk;
mod store;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use serde_json::{json, Value};

use self::store::{Collection, Store};
use super::tls::SelfSignedCert;
use crate::adapters::connectwise::{Addition, Agreement, CatalogItem, Company, ConnectWiseConfig};

/// Route names used by [`FakeConnectWise::calls`] and [`FakeConnectWise::inject_fault`].
pub mod route {
    pub const COMPANY_INFO: &str = "/login/companyinfo/{company_id}";
    pub const SYSTEM_INFO: &str = "/system/info";
    pub const CATALOG: &str = "/procurement/catalog";
    pub const COMPANIES: &str = "/company/companies";
    pub const AGREEMENTS: &str = "/finance/agreements";
    pub const ADDITIONS: &str = "/finance/agreements/{agreement_id}/additions";
    pub const ADDITION: &str = "/finance/agreements/{agreement_id}/additions/{addition_id}";
    pub const BOARDS: &str = "/service/boards";
    pub const BOARD: &str = "/service/boards/{id}";
    pub const BOARD_STATUSES: &str = "/service/boards/{id}/statuses";
    pub const BOARD_TYPES: &str = "/service/boards/{id}/types";
    pub const PRIORITIES: &str = "/service/priorities";
    pub const TICKETS: &str = "/service/tickets";
    pub const TICKET: &str = "/service/tickets/{id}";
    pub const TICKET_NOTES: &str = "/service/tickets/{id}/notes";
}

#[derive(Clone, Debug)]
pub struct FakeCwOptions {
    pub company_id: String,
    pub company_name: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
    /// As `login/companyinfo` reports it, with the trailing slash.
    pub codebase: String,
    pub version: String,
}

impl Default for FakeCwOptions {
    fn default() -> Self {
        Self {
            company_id: "fakemsp".into(),
            company_name: "Fake MSP".into(),
            public_key: "fake-public-key".into(),
            private_key: "fake-private-key".into(),
            client_id: "2b9d6f3e-0000-4000-8000-00000000c11e".into(),
            codebase: "v4_6_release/".into(),
            version: "v2025.1.10431".into(),
        }
    }
}

/// How an injected fault disturbs a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (ConnectWise error body), without processing; `Retry-After` in seconds.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Cut the connection without processing the request.
    DropBeforeProcessing,
    /// Process the request (a write is applied), then wait this long before answering: a slow
    /// ConnectWise whose client may give up first.
    SlowAnswer(Duration),
    /// Process the request (a write is applied), then cut the connection instead of answering.
    ApplyThenDrop,
    /// Answer with this status, without processing, and an error body that echoes the request's
    /// credentials (`Authorization`, `clientId`) and the private key, as a careless proxy or
    /// server may.
    EchoCredentials { status: u16 },
}

struct PendingFault {
    method: String,
    route: String,
    fault: Fault,
    remaining: u32,
}

#[derive(Default)]
struct State {
    store: Store,
    faults: Vec<PendingFault>,
    calls: HashMap<(String, String), usize>,
    writes: usize,
    latency: Duration,
    in_flight: usize,
    max_in_flight: usize,
}

struct Shared {
    options: FakeCwOptions,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later assertion down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn api_prefix(&self) -> String {
        format!("/{}apis/3.0", self.options.codebase)
    }
}

pub struct FakeConnectWise {
    shared: Arc<Shared>,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    cert: SelfSignedCert,
    handle: ServerHandle,
}

impl FakeConnectWise {
    pub fn start(options: FakeCwOptions) -> std::io::Result<Self> {
        let mut state = State::default();
        service_desk::seed(&mut state.store);
        let shared = Arc::new(Shared {
            options,
            state: Mutex::new(state),
        });
        let cert = SelfSignedCert::generate().map_err(std::io::Error::other)?;
        let tls = cert.server_config().map_err(std::io::Error::other)?;
        let http = TcpListener::bind("127.0.0.1:0")?;
        let https = TcpListener::bind("127.0.0.1:0")?;
        let (http_addr, https_addr) = (http.local_addr()?, https.local_addr()?);
        let app_shared = shared.clone();
        let server = actix_web::HttpServer::new(move || routes::app(app_shared.clone()))
            .workers(1)
            .disable_signals()
            .listen(http)?
            .listen_rustls_0_23(https, tls)?
            .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(Self {
            shared,
            http_addr,
            https_addr,
            cert,
            handle,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://127.0.0.1:PORT`; trust [`Self::ca_pem`] to reach it.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    pub fn https_addr(&self) -> SocketAddr {
        self.https_addr
    }

    pub fn ca_pem(&self) -> &str {
        &self.cert.cert_pem
    }

    pub fn options(&self) -> &FakeCwOptions {
        &self.shared.options
    }

    /// A client configuration with this fake's credentials, the codebase left to discovery.
    pub fn client_config(&self, site_url: &str) -> ConnectWiseConfig {
        let options = &self.shared.options;
        ConnectWiseConfig {
            site_url: site_url.to_owned(),
            codebase: None,
            company_id: options.company_id.clone(),
            public_key: options.public_key.clone(),
            private_key: options.private_key.clone(),
            client_id: options.client_id.clone(),
            api_version: "2025.1".into(),
            max_concurrency: 4,
        }
    }

    pub fn add_catalog_item(&self, item: &CatalogItem) -> i64 {
        let mut record = to_record(item);
        // ConnectWise always has a customer description; pyconnectwise requires it.
        if record.get("customerDescription").is_none() {
            record["customerDescription"] = record.get("description").cloned().unwrap_or(json!(""));
        }
        self.insert(Collection::Catalog, record)
    }

    pub fn add_company(&self, company: &Company) -> i64 {
        self.insert(Collection::Companies, to_record(company))
    }

    /// `agreement.company.id` must name a seeded company; the reference is filled in from it.
    pub fn add_agreement(&self, agreement: &Agreement) -> i64 {
        let mut record = to_record(agreement);
        let company_id = agreement.company.as_ref().and_then(|c| c.id);
        let mut state = self.shared.lock();
        let company = company_id
            .and_then(|id| state.store.reference(Collection::Companies, id))
            .expect("seed agreements need an existing company");
        record["company"] = company;
        for (field, default) in [
            ("agreementStatus", json!("Active")),
            ("cancelledFlag", json!(false)),
        ] {
            if record.get(field).is_none() {
                record[field] = default;
            }
        }
        id_of(&state.store.insert(Collection::Agreements, record))
    }

    /// Seeds an addition through ConnectWise's own validation (panics if it is invalid).
    pub fn add_addition(&self, agreement_id: i64, addition: &Addition) -> i64 {
        let created = self
            .shared
            .lock()
            .store
            .create_addition(agreement_id, to_record(addition))
            .unwrap_or_else(|(status, body)| panic!("invalid seed addition ({status}): {body:?}"));
        id_of(&created)
    }

    /// Every ticket, oldest first, as ConnectWise would serialise it.
    pub fn tickets(&self) -> Vec<Value> {
        let state = self.shared.lock();
        state.store.records(Collection::Tickets).cloned().collect()
    }

    /// The notes of one ticket, oldest first (its initial description is the first).
    pub fn ticket_notes(&self, ticket_id: i64) -> Vec<Value> {
        let state = self.shared.lock();
        let notes = state.store.records(Collection::TicketNotes);
        notes
            .filter(|n| n["ticketId"].as_i64() == Some(ticket_id))
            .cloned()
            .collect()
    }

    pub fn additions(&self, agreement_id: i64) -> Vec<Addition> {
        self.shared
            .lock()
            .store
            .additions_of(agreement_id)
            // Through the text, as the client reads it: amounts keep their digits.
            .filter_map(|a| serde_json::from_str(&a.to_string()).ok())
            .collect()
    }

    /// Removes an addition as someone working in ConnectWise would; false when there is none.
    pub fn remove_addition(&self, agreement_id: i64, addition_id: i64) -> bool {
        let mut state = self.shared.lock();
        let belongs = state
            .store
            .get(Collection::Additions, addition_id)
            .is_some_and(|a| a["agreementId"] == json!(agreement_id));
        belongs
            && state
                .store
                .remove(Collection::Additions, addition_id)
                .is_some()
    }

    /// Delay before every request is handled.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Disturbs the next `times` requests of `method` on `route` (see [`route`]).
    pub fn inject_fault(&self, method: &str, route: &str, fault: Fault, times: u32) {
        self.shared.lock().faults.push(PendingFault {
            method: method.to_ascii_uppercase(),
            route: route.to_owned(),
            fault,
            remaining: times,
        });
    }

    /// Requests received for `method` on `route`, faulty ones included.
    pub fn calls(&self, method: &str, route: &str) -> usize {
        let key = (method.to_ascii_uppercase(), route.to_owned());
        self.shared.lock().calls.get(&key).copied().unwrap_or(0)
    }

    /// Writes applied (created, changed or deleted records).
    pub fn writes(&self) -> usize {
        self.shared.lock().writes
    }

    /// The most requests that were being handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    fn insert(&self, collection: Collection, record: Value) -> i64 {
        id_of(&self.shared.lock().store.insert(collection, record))
    }
}

fn to_record(model: &impl serde::Serialize) -> Value {
    let mut record = serde_json::to_value(model).expect("models serialize");
    if let Some(fields) = record.as_object_mut() {
        fields.remove("id");
    }
    record
}

fn id_of(record: &Value) -> i64 {
    record["id"].as_i64().expect("stored records have ids")
}
