//! Transport: login per virtual server, session token, typed errors, retries, concurrency bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, RwLock, Semaphore};

use super::KscError;
use crate::metrics::{self, CallOutcome, Upstream};
use crate::outbound::retry::{self, RetryPolicy};

const API_PREFIX: &str = "/api/v1.0/";
const VSERVER_HEADER: &str = "X-KSC-VServer";
const SESSION_HEADER: &str = "X-KSC-Session";

/// How to reach one KSC Administration Server.
#[derive(Clone)]
pub struct KscConfig {
    /// e.g. `https://ksc.example.com:13299`
    pub server_url: String,
    pub user: String,
    pub password: String,
    /// Windows domain of the account; empty for none.
    pub domain: String,
    /// A KSC internal user rather than an OS/domain account.
    pub internal_user: bool,
    /// Virtual servers read at the same time (across all clones of the client).
    pub max_concurrency: usize,
    /// Per request, on top of whatever the HTTP client enforces.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl KscConfig {
    pub fn new(
        server_url: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        KscConfig {
            server_url: server_url.into(),
            user: user.into(),
            password: password.into(),
            domain: String::new(),
            internal_user: true,
            max_concurrency: 4,
            request_timeout: Duration::from_secs(60),
            // A collection reads many virtual servers: fewer, shorter waits than ConnectWise's.
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
            },
        }
    }
}

impl std::fmt::Debug for KscConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KscConfig")
            .field("server_url", &self.server_url)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .field("internal_user", &self.internal_user)
            .field("max_concurrency", &self.max_concurrency)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Whether a call may be sent again after the server possibly processed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads without side effects (`GetItemsChunk`, `GetVServers`).
    Safe,
    /// Creates or advances server state (iterators, sessions): only retried when refused.
    Unsafe,
}

/// A KSC Open API client. Cheap to clone; clones share the concurrency bound.
#[derive(Clone)]
pub struct KscClient {
    config: Arc<KscConfig>,
    permits: Arc<Semaphore>,
    /// The HTTP clients calls go through. With one lane per slot, a virtual server's work runs
    /// on a connection pool of its own; with fewer, slots share lanes.
    lanes: Arc<[Lane]>,
    /// Slot numbers not in use (slot `i` works on lane `i % lanes.len()`).
    free_slots: Arc<Mutex<Vec<usize>>>,
}

/// One HTTP client (connection pool) and the gate of its logins.
struct Lane {
    http: reqwest::Client,
    /// A login authenticates the TCP connection it arrived on, and `StartSession` must follow
    /// on that same connection. Holding this exclusively during the pair keeps other calls of
    /// the lane from taking that pooled connection in between; every other call holds it shared.
    login_gate: RwLock<()>,
}

/// A concurrency slot: hold it while working on one virtual server.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    index: usize,
    free_slots: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.free_slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(self.index);
    }
}

impl KscClient {
    /// `http` is the project's outbound client (allow-list, TLS roots, proxy policy). Every
    /// slot shares it, so each login pauses the calls of the other slots (see [`Self::with_lanes`]).
    pub fn new(http: reqwest::Client, config: KscConfig) -> Self {
        KscClient::with_lanes(vec![http], config)
    }

    /// Like [`Self::new`] with separate HTTP clients (separate connection pools, all built
    /// with the same outbound policy): with as many as `max_concurrency`, every slot has its
    /// own and a login never waits for, nor holds up, the work on other virtual servers.
    pub fn with_lanes(lanes: Vec<reqwest::Client>, config: KscConfig) -> Self {
        assert!(!lanes.is_empty(), "a KSC client needs an HTTP client");
        let slots = config.max_concurrency.max(1);
        KscClient {
            config: Arc::new(config),
            permits: Arc::new(Semaphore::new(slots)),
            lanes: lanes
                .into_iter()
                .map(|http| Lane {
                    http,
                    login_gate: RwLock::new(()),
                })
                .collect(),
            free_slots: Arc::new(Mutex::new((0..slots).rev().collect())),
        }
    }

    pub fn config(&self) -> &KscConfig {
        &self.config
    }

    /// Waits for a concurrency slot; hold it while working on one virtual server.
    pub(crate) async fn slot(&self) -> Slot {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let index = self
            .free_slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .expect("a permit always leaves a free slot");
        Slot {
            _permit: permit,
            index,
            free_slots: self.free_slots.clone(),
        }
    }

    /// Logs in to a virtual server (`""` = the main server) and starts a token session, on
    /// the lane of `slot`.
    pub(crate) async fn open_session<'a>(
        &'a self,
        slot: &Slot,
        vserver: &str,
    ) -> Result<Session<'a>, KscError> {
        let lane = &self.lanes[slot.index % self.lanes.len()];
        let _exclusive = lane.login_gate.write().await;
        let login_headers = self.login_headers(vserver)?;
        let empty = json!({});
        self.with_retries(Replay::Unsafe, || {
            self.post(lane, "login", &empty, login_headers.clone())
        })
        .await
        .map_err(|error| match error {
            KscError::Http {
                status: 401 | 403, ..
            } if vserver.is_empty() => KscError::BadCredentials,
            KscError::Http {
                status: 401 | 403, ..
            } => KscError::VServerRefused(vserver.to_string()),
            other => other,
        })?;
        // Not retried: it must follow the login on the same connection.
        let started = self
            .post(lane, "Session.StartSession", &empty, HeaderMap::new())
            .await;
        metrics::upstream_call(Upstream::Ksc, call_outcome(&started));
        let started = started?;
        let token = match started.get("PxgRetVal") {
            Some(Value::String(token)) if !token.is_empty() => token.clone(),
            _ => {
                return Err(KscError::Decode(
                    "Session.StartSession returned no token".into(),
                ))
            }
        };
        Ok(Session {
            client: self,
            lane,
            token,
            vserver: vserver.to_string(),
        })
    }

    fn login_headers(&self, vserver: &str) -> Result<HeaderMap, KscError> {
        let config = &self.config;
        let domain = if config.domain.is_empty() {
            String::new()
        } else {
            BASE64.encode(&config.domain)
        };
        let authorization = format!(
            r#"KSCBasic user="{}", pass="{}", domain="{}", internal="{}""#,
            BASE64.encode(&config.user),
            BASE64.encode(&config.password),
            domain,
            u8::from(config.internal_user),
        );
        let mut headers = HeaderMap::new();
        let mut authorization = header_value(&authorization)?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(VSERVER_HEADER, header_value(&BASE64.encode(vserver))?);
        Ok(headers)
    }

    async fn with_retries<F, Fut>(&self, replay: Replay, mut send: F) -> Result<Value, KscError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, KscError>>,
    {
        let policy = self.config.retry;
        let mut attempt = 1;
        loop {
            let result = send().await;
            if let Err(KscError::Http { status: 429, .. }) = result {
                metrics::upstream_rate_limited(Upstream::Ksc);
            }
            let delay = match &result {
                Err(error) if error.is_transient(replay == Replay::Safe) => {
                    policy.delay_after(attempt, error.retry_after())
                }
                _ => None,
            };
            match (result, delay) {
                (Err(error), Some(delay)) => {
                    tracing::debug!(%error, attempt, delay_ms = delay.as_millis() as u64, "retrying KSC call");
                    metrics::upstream_retry(Upstream::Ksc);
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                (result, _) => {
                    metrics::upstream_call(Upstream::Ksc, call_outcome(&result));
                    return result;
                }
            }
        }
    }

    /// One POST: `PxgError` bodies and non-200 statuses become errors.
    async fn post(
        &self,
        lane: &Lane,
        method: &str,
        body: &Value,
        headers: HeaderMap,
    ) -> Result<Value, KscError> {
        let url = format!(
            "{}{API_PREFIX}{method}",
            self.config.server_url.trim_end_matches('/')
        );
        let response = lane
            .http
            .post(url)
            .headers(headers)
            .timeout(self.config.request_timeout)
            .json(body)
            .send()
            .await
            .map_err(KscError::from_transport)?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let bytes = response.bytes().await.map_err(KscError::from_transport)?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if let Some(error) = parsed.as_ref().and_then(|body| body.get("PxgError")) {
            return Err(pxg_error(error));
        }
        if status != StatusCode::OK {
            return Err(KscError::Http {
                status: status.as_u16(),
                retry_after,
            });
        }
        parsed.ok_or_else(|| KscError::Decode(format!("{method}: response is not JSON")))
    }
}

fn call_outcome(result: &Result<Value, KscError>) -> CallOutcome {
    match result {
        Ok(_) => CallOutcome::Success,
        Err(KscError::Timeout | KscError::Connect | KscError::Tls | KscError::Blocked(_)) => {
            CallOutcome::NoResponse
        }
        Err(_) => CallOutcome::ErrorResponse,
    }
}

fn header_value(text: &str) -> Result<HeaderValue, KscError> {
    HeaderValue::from_str(text)
        .map_err(|_| KscError::Decode("value not allowed in an HTTP header".into()))
}

fn pxg_error(error: &Value) -> KscError {
    KscError::Pxg {
        code: error
            .get("code")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("unspecified KSC error")
            .to_string(),
    }
}

/// A logged-in session on one virtual server; end it with [`Session::end`].
pub(crate) struct Session<'a> {
    client: &'a KscClient,
    lane: &'a Lane,
    token: String,
    vserver: String,
}

impl Session<'_> {
    pub(crate) fn vserver(&self) -> &str {
        &self.vserver
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        body: Value,
        replay: Replay,
    ) -> Result<Value, KscError> {
        let mut headers = HeaderMap::new();
        headers.insert(SESSION_HEADER, header_value(&self.token)?);
        self.client
            .with_retries(replay, || async {
                let _shared = self.lane.login_gate.read().await;
                self.client
                    .post(self.lane, method, &body, headers.clone())
                    .await
            })
            .await
    }

    /// Ends the session; a failure only costs a server-side session that times out, so it is logged.
    pub(crate) async fn end(self) {
        if let Err(error) = self
            .call("Session.EndSession", json!({}), Replay::Unsafe)
            .await
        {
            tracing::warn!(%error, vserver = %self.vserver, "KSC session did not end cleanly");
        }
    }
}
