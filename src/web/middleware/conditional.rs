//! Conditional `GET`: a `304 Not Modified` when the client's copy is current.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::HttpResponse;

/// `304 Not Modified` for a `GET` whose `If-None-Match` names the ETag the answer would carry
/// (weak comparison, RFC 9110 §13.1.2): the client's copy is current.
pub fn not_modified_if_matching(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    if res.request().method() != Method::GET || res.status() != StatusCode::OK {
        return res;
    }
    let Some(current) = res.headers().get(header::ETAG).cloned() else {
        return res;
    };
    let sent = res.request().headers().get_all(header::IF_NONE_MATCH);
    if !none_match_hits(sent, current.to_str().unwrap_or_default()) {
        return res;
    }
    let kept: Vec<_> = res
        .headers()
        .iter()
        .filter(|(name, _)| {
            [header::ETAG, header::CACHE_CONTROL, header::VARY].contains(name)
                || name.as_str().starts_with("access-control-")
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let (req, _) = res.into_parts();
    let mut builder = HttpResponse::NotModified();
    for header in kept {
        builder.append_header(header);
    }
    ServiceResponse::new(req, builder.finish())
}

/// Whether `If-None-Match` values name `current` (weak comparison, RFC 9110 §13.1.2), or `*`.
pub fn none_match_hits<'a>(
    sent: impl Iterator<Item = &'a header::HeaderValue>,
    current: &str,
) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let current = opaque(current);
    sent.filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == current)
}
