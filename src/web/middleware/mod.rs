//! Request ids, access logs and HTTP metrics; the HTTP conventions every route shares (`HEAD`
//! wherever `GET`, `304` for a matching `If-None-Match`, `Link` on paged lists); and the safety
//! net that turns any error response that is not yet problem+json (from actix or a middleware)
//! into one.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Instrument;

use crate::adapters::metrics;
use crate::adapters::net::forwarded_hops;
use crate::runtime::state::AppState;
use crate::web::error::{ApiError, PROBLEM_JSON};

mod conditional;
mod page_links;
mod raw_head;

pub use page_links::PagedRoutes;
pub use raw_head::ProblemOnBadHead;

use conditional::not_modified_if_matching;
use page_links::with_page_links;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address, in request extensions: the connecting address, or behind trusted
/// proxies (`BRIDGE_TRUSTED_PROXIES`) the one they name.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

fn client_address_of(req: &ServiceRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return peer;
    };
    // A line that is not text names no client we could believe.
    let lines = |name: HeaderName| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .map(|v| v.to_str().unwrap_or("unknown"))
            .collect()
    };
    let forwarded = lines(header::FORWARDED);
    let x_forwarded_for = lines(HeaderName::from_static("x-forwarded-for"));
    state
        .settings
        .trusted_proxies
        .client_address(peer, &forwarded_hops(&forwarded, &x_forwarded_for))
}

/// A caller-supplied id is kept when it is short and plain; otherwise a new one is made.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = request_id_of(&req);
    let client = client_address_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(ClientAddress(client));
    let span = tracing::info_span!("request", request_id = %request_id, client_address = %client);
    let (method, path) = (req.method().clone(), req.path().to_string());
    // HEAD is GET without the body: the HTTP layer still knows it was HEAD and sends none.
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let started = Instant::now();
    let mut response = match query_too_long(&req).or_else(|| nul_in_uri(&req)) {
        Some(refused) => req.error_response(refused),
        None => next
            .call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };
    response = not_modified_if_matching(response);
    response = with_page_links(response).await;
    response = into_problem_if_needed(response);
    security_headers(&mut response, &path);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let route = response.request().match_pattern();
    metrics::http_request(route.as_deref(), method.as_str(), status, elapsed);
    // A number (a tenth of a millisecond is plenty), so log pipelines can sum and compare it.
    let elapsed_ms = (elapsed.as_secs_f64() * 10_000.0).round() / 10.0;
    span.in_scope(|| {
        // Probes come every few seconds: at info they would drown the requests that matter.
        if is_probe(&path) {
            tracing::debug!(%method, %path, status, elapsed_ms, "request");
        } else {
            tracing::info!(%method, %path, status, elapsed_ms, "request");
        }
    });
    Ok(response)
}

/// What Swagger UI may load and where it may be shown: its own files only, never in a frame.
const SWAGGER_UI_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' \
    'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri \
    'self'; form-action 'self'; frame-ancestors 'none'";

/// Headers a scanner expects: no sniffing anywhere; API answers (tokens, customers' data)
/// never stored by a cache unless a handler says otherwise; Swagger UI under a
/// Content-Security-Policy and never framed. The console sets its own.
fn security_headers(response: &mut ServiceResponse<BoxBody>, path: &str) {
    let headers = response.headers_mut();
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if path.starts_with("/api/") && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if path.starts_with("/swagger-ui") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SWAGGER_UI_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// Health checks and metric scrapes.
fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Rewrites a 4xx/5xx response that is not problem+json (actix's own 404s, CORS refusals…)
/// into problem+json with the same status.
fn into_problem_if_needed(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return res;
    }
    let reason = match refused_preflight(res.request()) {
        Some(detail) if status == StatusCode::BAD_REQUEST => detail,
        _ => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let err = match status.as_u16() {
        400 => ApiError::BadRequest(reason),
        401 => ApiError::Unauthorized(reason),
        403 => ApiError::Forbidden(reason),
        404 => ApiError::NotFound(reason),
        413 => ApiError::PayloadTooLarge(reason),
        415 => ApiError::UnsupportedMediaType(reason),
        _ if status.is_client_error() => ApiError::BadRequest(reason),
        500 => ApiError::Internal(anyhow::anyhow!(reason)),
        _ => ApiError::ServiceUnavailable(reason),
    };
    let mut problem = err.to_problem();
    problem.status = status.as_u16();
    let kept_headers: Vec<_> = res
        .headers()
        .iter()
        .filter(|(name, _)| **name != header::CONTENT_TYPE && **name != header::CONTENT_LENGTH)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let (req, _) = res.into_parts();
    let mut builder = actix_web::HttpResponse::build(status);
    for header in kept_headers {
        builder.append_header(header);
    }
    let response = builder.content_type(PROBLEM_JSON).json(problem);
    ServiceResponse::new(req, response)
}

/// Why the CORS layer refused a preflight, in our words, when `req` is one.
fn refused_preflight(req: &actix_web::HttpRequest) -> Option<String> {
    let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    if req.method() != Method::OPTIONS {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?.to_str().unwrap_or("?");
    let allowed = req
        .app_data::<web::Data<crate::runtime::state::AppState>>()
        .is_some_and(|s| s.settings.cors_origins.iter().any(|o| o == origin));
    Some(if allowed {
        format!(
            "The origin {origin} may call this API, but not with the method {} or these \
             headers; allowed are GET, POST, PUT, PATCH and DELETE with Authorization, \
             Content-Type, If-Match, If-None-Match and X-Request-Id.",
            requested.to_str().unwrap_or("?")
        )
    } else {
        format!(
            "The origin {origin} is not allowed to call this API from a browser; an \
             administrator can add it to BRIDGE_CORS_ORIGINS."
        )
    })
}

/// The longest query string served, in bytes: every filter of every list fits many times over,
/// and nothing longer is echoed into a `Link` header.
pub const MAX_QUERY_BYTES: usize = 4096;

/// A query string over [`MAX_QUERY_BYTES`], refused before routing (414).
fn query_too_long(req: &actix_web::dev::ServiceRequest) -> Option<ApiError> {
    let length = req.query_string().len();
    (length > MAX_QUERY_BYTES).then(|| {
        ApiError::UriTooLong(format!(
            "The query string is {length} bytes; at most {MAX_QUERY_BYTES} are accepted."
        ))
    })
}

/// A NUL (`%00`) in the URL, refused before routing: no resource can be
/// named by such a path segment (404), and such a query parameter is malformed (400).
pub fn nul_in_uri(req: &actix_web::dev::ServiceRequest) -> Option<ApiError> {
    if req.path().contains("%00") {
        return Some(ApiError::NotFound(
            "No resource has a NUL character in its path.".into(),
        ));
    }
    req.query_string()
        .contains("%00")
        .then(|| ApiError::BadRequest("Query parameters must not contain NUL characters.".into()))
}
