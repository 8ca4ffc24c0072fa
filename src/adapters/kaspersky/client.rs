//! Sessions on virtual servers: each is opened on a connection of its own that carries its
//! login and its `Session.StartSession` (DOMAIN.md §4), typed errors, the shared retry policy,
//! and a bound on how many virtual servers are worked on at once.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::transport::{Answer, Connection, SendError};
use super::KscError;
use crate::adapters::metrics::Upstream;
use crate::adapters::outbound::dial::{Dialer, DialerError};
use crate::adapters::outbound::redact::Redactor;
use crate::adapters::outbound::retry::{self, AttemptOutcome, Failed, Replay, RetryPolicy};
use crate::adapters::outbound::HttpClientOptions;

const API_PREFIX: &str = "/api/v1.0/";
const VSERVER_HEADER: &str = "X-KSC-VServer";
const SESSION_HEADER: &str = "X-KSC-Session";
/// What KSC answers a call that carries neither a valid session nor a logged-in connection.
const NOT_AUTHENTICATED: i64 = 1184;

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
    /// Virtual servers read at the same time (across all clones of the client), each on a
    /// connection of its own.
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

/// Why no client can be built from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum KscSetupError {
    #[error("the server URL is not valid")]
    InvalidUrl,
    #[error(transparent)]
    Dialer(#[from] DialerError),
}

/// A KSC Open API client. Cheap to clone; clones share the concurrency bound.
#[derive(Clone)]
pub struct KscClient {
    config: Arc<KscConfig>,
    dialer: Arc<Dialer>,
    /// Sessions open at once (each one connection): the virtual servers worked on together.
    permits: Arc<Semaphore>,
    /// Keeps the password out of the error texts KSC answers.
    redactor: Arc<Redactor>,
}

impl KscClient {
    /// `http` gives the outbound rules every connection is dialled with (allow-list, TLS trust,
    /// connect timeout); requests time out after `config.request_timeout`.
    pub fn new(config: KscConfig, http: &HttpClientOptions) -> Result<Self, KscSetupError> {
        let url = url::Url::parse(&config.server_url).map_err(|_| KscSetupError::InvalidUrl)?;
        let dialer = Dialer::new(&url, http)?;
        Ok(KscClient {
            redactor: Arc::new(Redactor::new([config.password.as_str()])),
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config: Arc::new(config),
            dialer: Arc::new(dialer),
        })
    }

    pub fn config(&self) -> &KscConfig {
        &self.config
    }

    /// Logs in to a virtual server (`""` = the main server) and starts a token session, both
    /// on one new connection, once a concurrency permit is free. The session keeps the permit.
    pub(crate) async fn open_session(&self, vserver: &str) -> Result<Session<'_>, KscError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let login_headers = self.login_headers(vserver)?;
        // The pair is sent again as a whole: a login changes nothing, and a session started
        // whose answer was lost only times out on the server.
        let (connection, token) =
            retry::send_with_retries(Upstream::Ksc, &self.config.retry, Replay::Safe, || {
                self.log_in(&login_headers)
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
        Ok(Session {
            client: self,
            _permit: permit,
            connection: Mutex::new(Some(connection)),
            token,
            vserver: vserver.to_string(),
        })
    }

    /// One attempt at the login pair on a connection of its own.
    async fn log_in(
        &self,
        login_headers: &HeaderMap,
    ) -> Result<(Connection, String), Failed<KscError>> {
        let mut connection = Connection::open(&self.dialer).await.map_err(not_sent)?;
        self.exchange(
            &mut connection,
            "login",
            login_headers,
            Bytes::from_static(b"{}"),
        )
        .await?;
        let started = self
            .exchange(
                &mut connection,
                "Session.StartSession",
                &HeaderMap::new(),
                Bytes::from_static(b"{}"),
            )
            .await
            .map_err(|failed| match failed.error {
                // The login just made on this connection is gone (the server dropped it):
                // worth a new pair, never a credentials problem.
                KscError::Http { status: 401, .. }
                | KscError::Pxg {
                    code: NOT_AUTHENTICATED,
                    ..
                } => Failed {
                    outcome: Some(AttemptOutcome::Lost),
                    ..failed
                },
                _ => failed,
            })?;
        match started.get("PxgRetVal") {
            Some(Value::String(token)) if !token.is_empty() => Ok((connection, token.clone())),
            _ => Err(Failed::fatal(
                KscError::Decode("Session.StartSession returned no token".into()),
                true,
            )),
        }
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

    /// One POST on `connection`: `PxgError` bodies and non-200 statuses become errors, classified
    /// for the retry policy.
    async fn exchange(
        &self,
        connection: &mut Connection,
        method: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Value, Failed<KscError>> {
        let path = format!("{API_PREFIX}{method}");
        let answer = connection
            .post(&path, headers, body, self.config.request_timeout)
            .await
            .map_err(|error| match error {
                SendError::NotSent(error) => not_sent(error),
                SendError::Lost(error) => Failed {
                    error,
                    outcome: Some(AttemptOutcome::Lost),
                    retry_after: None,
                    answered: false,
                },
            })?;
        interpret(method, answer, &self.redactor)
    }
}

/// A failure before anything was sent: worth trying again unless the address is forbidden or
/// the server cannot be trusted.
fn not_sent(error: KscError) -> Failed<KscError> {
    match error {
        KscError::Blocked(_) | KscError::Tls | KscError::Decode(_) => Failed::fatal(error, false),
        error => Failed {
            error,
            outcome: Some(AttemptOutcome::NotSent),
            retry_after: None,
            answered: false,
        },
    }
}

fn interpret(method: &str, answer: Answer, redactor: &Redactor) -> Result<Value, Failed<KscError>> {
    let parsed: Option<Value> = serde_json::from_slice(&answer.body).ok();
    if let Some(error) = parsed.as_ref().and_then(|body| body.get("PxgError")) {
        tracing::debug!(method, error = %error, "KSC error answer");
        return Err(Failed::fatal(pxg_error(error, redactor), true));
    }
    if answer.status != StatusCode::OK {
        let retry_after = retry::retry_after(&answer.headers);
        let outcome = match answer.status.as_u16() {
            // KSC refuses before doing anything when it is busy.
            429 | 503 => Some(AttemptOutcome::RateLimited),
            500..=599 => Some(AttemptOutcome::ServerError),
            _ => None,
        };
        return Err(Failed {
            error: KscError::Http {
                status: answer.status.as_u16(),
                retry_after,
            },
            outcome,
            retry_after,
            answered: true,
        });
    }
    parsed.ok_or_else(|| {
        Failed::fatal(
            KscError::Decode(format!("{method}: response is not JSON")),
            true,
        )
    })
}

fn header_value(text: &str) -> Result<HeaderValue, KscError> {
    HeaderValue::from_str(text)
        .map_err(|_| KscError::Decode("value not allowed in an HTTP header".into()))
}

/// A `PxgError` in our keeping: its message redacted and bounded (it may echo what was sent).
fn pxg_error(error: &Value, redactor: &Redactor) -> KscError {
    KscError::Pxg {
        code: error
            .get("code")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        message: redactor.clean(
            error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unspecified KSC error"),
        ),
    }
}

/// A logged-in session on one virtual server; end it with [`Session::end`]. Its calls travel on
/// the connection that logged in; should that connection close, on a new one that carries only
/// the session token (which KSC honours on any connection).
pub(crate) struct Session<'a> {
    client: &'a KscClient,
    _permit: OwnedSemaphorePermit,
    connection: Mutex<Option<Connection>>,
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
        let body = Bytes::from(body.to_string());
        let client = self.client;
        retry::send_with_retries(Upstream::Ksc, &client.config.retry, replay, || async {
            let mut slot = self.connection.lock().await;
            let connection = match slot.take().filter(Connection::is_open) {
                Some(open) => slot.insert(open),
                None => slot.insert(Connection::open(&client.dialer).await.map_err(not_sent)?),
            };
            let result = client
                .exchange(connection, method, &headers, body.clone())
                .await;
            if result.as_ref().is_err_and(|failed| !failed.answered) {
                // No complete answer: the connection is in an unknown state.
                *slot = None;
            }
            result
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
