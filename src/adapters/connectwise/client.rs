//! The ConnectWise Manage REST client: auth headers, codebase discovery, paging, retries, limits.

use std::error::Error as _;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{OnceCell, Semaphore};
use url::Url;

use super::conditions::Conditions;
use super::config::ConnectWiseConfig;
use super::error::ConnectWiseError;
use super::models::{
    Addition, Agreement, CatalogItem, Company, CompanyInfo, NewAddition, PatchOperation, SystemInfo,
};
use crate::adapters::metrics::{self, CallOutcome, Upstream};
use crate::adapters::outbound::redact::Redactor;
use crate::adapters::outbound::retry::{self, AttemptOutcome, Failed, Replay, RetryPolicy};
use crate::adapters::outbound::{
    build_http_client, find_cause, HttpClientOptions, OutboundBlocked, OutboundPolicy,
};
use crate::domain::ids::{AgreementId, CompanyId};

/// ConnectWise's largest page.
pub const PAGE_SIZE: u32 = 1000;
/// Stops a server whose `Link` headers never end (a million records at 1,000 a page).
const MAX_PAGES: usize = 1000;

type Result<T, E = ConnectWiseError> = std::result::Result<T, E>;

/// A client for one ConnectWise site. Cheap to clone; clones share the connection pool, the
/// discovered codebase and the concurrency limit.
#[derive(Clone)]
pub struct ConnectWiseClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ConnectWiseConfig,
    site: Url,
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    retry: RetryPolicy,
    in_flight: Semaphore,
    api_base: OnceCell<Url>,
    /// Keeps this connection's keys out of the error texts ConnectWise answers.
    redactor: Redactor,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

struct Request {
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    authenticated: bool,
}

impl ConnectWiseClient {
    pub fn new(config: ConnectWiseConfig, http: &HttpClientOptions) -> Result<Self> {
        Self::with_retry_policy(config, http, RetryPolicy::default())
    }

    pub fn with_retry_policy(
        config: ConnectWiseConfig,
        http: &HttpClientOptions,
        retry: RetryPolicy,
    ) -> Result<Self> {
        config.validate()?;
        let site = config.site_origin()?;
        let client =
            build_http_client(http).map_err(|e| ConnectWiseError::InvalidConfig(e.to_string()))?;
        let basic = config.authorization_header();
        let redactor = Redactor::new([config.private_key.as_str(), config.public_key.as_str()])
            .with(basic.trim_start_matches("Basic "));
        Ok(Self {
            inner: Arc::new(Inner {
                redactor,
                in_flight: Semaphore::new(config.max_concurrency),
                config,
                site,
                http: client,
                policy: http.policy.clone(),
                retry,
                api_base: OnceCell::new(),
            }),
        })
    }

    pub fn config(&self) -> &ConnectWiseConfig {
        &self.inner.config
    }

    /// `login/companyinfo/{companyId}`: public facts about the site, no credentials needed.
    pub async fn company_info(&self) -> Result<CompanyInfo> {
        let mut url = self
            .inner
            .site
            .join("login/companyinfo/")
            .expect("static path");
        url.path_segments_mut()
            .expect("http(s) URLs have paths")
            .pop_if_empty()
            .push(&self.inner.config.company_id);
        let reply = self.execute(Request::get(url, false)).await?;
        decode(&reply.body)
    }

    /// `{site}/{codebase}apis/3.0/`, discovering the codebase once if it is not configured.
    pub async fn api_base(&self) -> Result<Url> {
        self.inner
            .api_base
            .get_or_try_init(|| async {
                let codebase = match self.inner.config.configured_codebase() {
                    Some(codebase) => codebase,
                    None => self.discover_codebase().await?,
                };
                let invalid = || {
                    ConnectWiseError::InvalidConfig(format!(
                        "the codebase `{codebase}` is not a path on the site"
                    ))
                };
                let base = self
                    .inner
                    .site
                    .join(&format!("{codebase}apis/3.0/"))
                    .map_err(|_| invalid())?;
                // A codebase (configured, or told by the server) never moves the calls, and
                // with them the credentials, to another host.
                if base.origin() != self.inner.site.origin() {
                    return Err(invalid());
                }
                Ok(base)
            })
            .await
            .cloned()
    }

    async fn discover_codebase(&self) -> Result<String> {
        let info = self.company_info().await?;
        let codebase = info.codebase.as_deref().map(|c| c.trim().trim_matches('/'));
        match codebase {
            Some(codebase) if !codebase.is_empty() => Ok(format!("{codebase}/")),
            _ => Err(ConnectWiseError::InvalidConfig(format!(
                "ConnectWise does not know the company id `{}`",
                self.inner.config.company_id
            ))),
        }
    }

    /// Connection test: authenticates and returns the server's version information.
    pub async fn system_info(&self) -> Result<SystemInfo> {
        self.get_json("system/info").await
    }

    pub async fn list_catalog_items(
        &self,
        conditions: Option<&Conditions>,
    ) -> Result<Vec<CatalogItem>> {
        self.list_all("procurement/catalog", conditions).await
    }

    pub async fn list_companies(&self, conditions: Option<&Conditions>) -> Result<Vec<Company>> {
        self.list_all("company/companies", conditions).await
    }

    pub async fn list_agreements(&self, company: CompanyId) -> Result<Vec<Agreement>> {
        let of_company = Conditions::eq("company/id", company.0);
        self.list_all("finance/agreements", Some(&of_company)).await
    }

    pub async fn list_additions(
        &self,
        agreement: AgreementId,
        conditions: Option<&Conditions>,
    ) -> Result<Vec<Addition>> {
        self.list_all(&additions_path(agreement), conditions).await
    }

    pub async fn get_addition(&self, agreement: AgreementId, addition_id: i64) -> Result<Addition> {
        self.get_json(&addition_path(agreement, addition_id)).await
    }

    /// Never repeated once it may have reached ConnectWise: an unknown outcome is
    /// [`ConnectWiseError::OutcomeUnknown`], left for the next sync to re-read and reconcile.
    pub async fn create_addition(
        &self,
        agreement: AgreementId,
        addition: &NewAddition,
    ) -> Result<Addition> {
        self.send_json(Method::POST, &additions_path(agreement), addition)
            .await
    }

    pub async fn patch_addition(
        &self,
        agreement: AgreementId,
        addition_id: i64,
        operations: &[PatchOperation],
    ) -> Result<Addition> {
        let path = addition_path(agreement, addition_id);
        self.send_json(Method::PATCH, &path, operations).await
    }

    pub async fn put_addition(
        &self,
        agreement: AgreementId,
        addition_id: i64,
        addition: &Addition,
    ) -> Result<Addition> {
        let path = addition_path(agreement, addition_id);
        self.send_json(Method::PUT, &path, addition).await
    }

    pub async fn delete_addition(&self, agreement: AgreementId, addition_id: i64) -> Result<()> {
        let url = self.api_url(&addition_path(agreement, addition_id)).await?;
        let request = Request {
            method: Method::DELETE,
            url,
            body: None,
            authenticated: true,
        };
        self.execute(request).await.map(drop)
    }

    async fn api_url(&self, path: &str) -> Result<Url> {
        self.api_base()
            .await?
            .join(path)
            .map_err(|e| ConnectWiseError::InvalidConfig(format!("path {path}: {e}")))
    }

    pub(super) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.api_url(path).await?;
        let reply = self.execute(Request::get(url, true)).await?;
        decode(&reply.body)
    }

    pub(super) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T> {
        let url = self.api_url(path).await?;
        let body = serde_json::to_vec(body).map_err(|e| ConnectWiseError::Decode {
            detail: format!("cannot encode the request: {e}"),
        })?;
        let request = Request {
            method,
            url,
            body: Some(body),
            authenticated: true,
        };
        let reply = self.execute(request).await?;
        decode(&reply.body)
    }

    /// Every page, `PAGE_SIZE` at a time, following `Link: <…>; rel="next"`.
    pub(super) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        conditions: Option<&Conditions>,
    ) -> Result<Vec<T>> {
        let mut url = self.api_url(path).await?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(conditions) = conditions {
                query.append_pair("conditions", conditions.as_str());
            }
            query
                .append_pair("pageSize", &PAGE_SIZE.to_string())
                .append_pair("page", "1");
        }
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.execute(Request::get(url.clone(), true)).await?;
            items.extend(decode::<Vec<T>>(&reply.body)?);
            let Some(next) = next_link(&url, &reply.headers) else {
                return Ok(items);
            };
            // Only the query is taken from the link: the credentials stay on the configured site.
            if next.query() == url.query() {
                break;
            }
            url.set_query(next.query());
        }
        Err(ConnectWiseError::Decode {
            detail: format!("the paging of {path} never ends"),
        })
    }

    /// Sends with the shared retry policy ([`retry::send_with_retries`]) inside the site's
    /// concurrency limit.
    async fn execute(&self, request: Request) -> Result<Reply> {
        if let Err(blocked) = self.inner.policy.check_url(&request.url) {
            metrics::upstream_call(Upstream::ConnectWise, CallOutcome::NoResponse);
            return Err(blocked.into());
        }
        let replay = Replay::of(&request.method);
        retry::send_with_retries(Upstream::ConnectWise, &self.inner.retry, replay, || async {
            let _permit = self
                .inner
                .in_flight
                .acquire()
                .await
                .expect("the semaphore is never closed");
            match self.attempt(&request).await {
                Ok(reply) if reply.status.is_success() => Ok(reply),
                Ok(reply) => Err(failed_reply(&request.method, &reply, &self.inner.redactor)),
                Err(err) => Err(failed_transport(&request.method, &err)),
            }
        })
        .await
    }

    async fn attempt(&self, request: &Request) -> Result<Reply, reqwest::Error> {
        let config = &self.inner.config;
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .header(ACCEPT, config.accept_header());
        if request.authenticated {
            builder = builder
                .header(AUTHORIZATION, config.authorization_header())
                .header("clientId", &config.client_id);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

impl Request {
    fn get(url: Url, authenticated: bool) -> Self {
        Self {
            method: Method::GET,
            url,
            body: None,
            authenticated,
        }
    }
}

fn additions_path(agreement: AgreementId) -> String {
    format!("finance/agreements/{agreement}/additions")
}

fn addition_path(agreement: AgreementId, addition_id: i64) -> String {
    format!("{}/{addition_id}", additions_path(agreement))
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        tracing::warn!(cause = %e, "ConnectWise answered a body of an unexpected shape");
        ConnectWiseError::Decode {
            detail: "the body is not the JSON expected (see the log for where)".into(),
        }
    })
}

/// A non-2xx reply: whether it may be retried, and the error if not.
fn failed_reply(method: &Method, reply: &Reply, redactor: &Redactor) -> Failed<ConnectWiseError> {
    let status = reply.status.as_u16();
    let retry_after = retry::retry_after(&reply.headers);
    let outcome = match status {
        429 => Some(AttemptOutcome::RateLimited),
        500..=599 => Some(AttemptOutcome::ServerError),
        _ => None,
    };
    let error = if outcome == Some(AttemptOutcome::ServerError) && *method == Method::POST {
        ConnectWiseError::OutcomeUnknown {
            detail: format!("ConnectWise answered {status}"),
        }
    } else {
        ConnectWiseError::from_status(status, &reply.body, retry_after, redactor)
    };
    Failed {
        error,
        outcome,
        retry_after,
        answered: true,
    }
}

/// A request that got no reply: whether it may be retried, and the error if not.
fn failed_transport(method: &Method, err: &reqwest::Error) -> Failed<ConnectWiseError> {
    if let Some(blocked) = find_cause::<OutboundBlocked>(err) {
        return Failed::fatal(blocked.clone().into(), false);
    }
    // The library's words go to the log, never into an error a client sees.
    tracing::warn!(%method, cause = %cause_chain(err), "ConnectWise request failed");
    if is_tls_failure(err) {
        return Failed::fatal(ConnectWiseError::Tls, false);
    }
    let lost = || ConnectWiseError::OutcomeUnknown {
        detail: "the connection failed before the answer".into(),
    };
    let (outcome, error) = if err.is_connect() {
        let error = if err.is_timeout() {
            ConnectWiseError::Timeout
        } else {
            ConnectWiseError::Connect
        };
        (AttemptOutcome::NotSent, error)
    } else {
        let error = if *method == Method::POST {
            lost()
        } else if err.is_timeout() {
            ConnectWiseError::Timeout
        } else {
            ConnectWiseError::Connect
        };
        (AttemptOutcome::Lost, error)
    };
    Failed {
        error,
        outcome: Some(outcome),
        retry_after: None,
        answered: false,
    }
}

/// rustls errors travel inside (possibly nested) `io::Error`s, whose `source()` skips the wrapped error.
fn is_tls_failure(err: &reqwest::Error) -> bool {
    let mut source = err.source();
    while let Some(cause) = source {
        let mut current: &(dyn std::error::Error + 'static) = cause;
        while let Some(wrapped) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            current = wrapped;
        }
        if current.is::<rustls::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The causes below reqwest's own message (which repeats the URL), for people to read.
fn cause_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// The `rel="next"` target of a `Link` header, resolved against the request URL.
fn next_link(request_url: &Url, headers: &HeaderMap) -> Option<Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split('<').skip(1))
        .find_map(|entry| {
            let (target, params) = entry.split_once('>')?;
            let is_next = params.split(';').any(|param| {
                let param = param.trim().trim_end_matches(',').trim();
                param.eq_ignore_ascii_case("rel=\"next\"") || param.eq_ignore_ascii_case("rel=next")
            });
            is_next.then(|| request_url.join(target).ok()).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_link_is_found_among_other_relations() {
        let base = Url::parse("https://cw.example/v4_6_release/apis/3.0/company/companies?page=1")
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://cw.example/v4_6_release/apis/3.0/company/companies?pageSize=2&page=1>; rel=\"first\", \
                 <https://cw.example/v4_6_release/apis/3.0/company/companies?pageSize=2&page=3>; rel=\"next\", \
                 <https://cw.example/v4_6_release/apis/3.0/company/companies?pageSize=2&page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&base, &headers).unwrap().query(),
            Some("pageSize=2&page=3")
        );
        headers.insert(LINK, HeaderValue::from_static("<?page=1>; rel=\"first\""));
        assert!(next_link(&base, &headers).is_none());
        headers.insert(LINK, HeaderValue::from_static("</x?page=2>; rel=next"));
        assert_eq!(
            next_link(&base, &headers).unwrap().as_str(),
            "https://cw.example/x?page=2"
        );
    }

    #[test]
    fn post_server_errors_are_unknown_outcomes() {
        let reply = |status: u16| Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        let failed = failed_reply(&Method::POST, &reply(502), &Redactor::default());
        assert_eq!(failed.outcome, Some(AttemptOutcome::ServerError));
        assert_eq!(failed.error.code(), "connectwise_outcome_unknown");
        let failed = failed_reply(&Method::GET, &reply(502), &Redactor::default());
        assert_eq!(failed.error.code(), "connectwise_server_error");
        let failed = failed_reply(&Method::POST, &reply(400), &Redactor::default());
        assert_eq!(failed.outcome, None);
        assert_eq!(failed.error.code(), "connectwise_validation");
    }
}
