//! Optimistic concurrency for mutable configuration: responses carry an `ETag` computed from the
//! resource's representation; a write with `If-Match` applies only when the ETag still matches
//! (412 otherwise), so two frontends cannot silently overwrite each other. Check the ETag
//! inside the write transaction, against the state read there.

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::services::etag::{etag_of, IfMatch};
use crate::web::error::ApiError;

/// `200 OK` with the body and its ETag.
pub fn ok_with_etag<T: Serialize>(value: &T) -> HttpResponse {
    with_etag(HttpResponse::Ok(), value)
}

/// `200 OK` with the body and an ETag computed from something other than the body (e.g. the
/// stored state a write is checked against).
pub fn ok_with_tag<T: Serialize>(etag: String, value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .json(value)
}

/// `200 OK` with a JSON body already rendered and its ETag.
pub fn json_with_tag(etag: String, body: bytes::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .content_type(header::ContentType::json())
        .body(body)
}

pub fn with_etag<T: Serialize>(mut builder: HttpResponseBuilder, value: &T) -> HttpResponse {
    builder
        .insert_header((header::ETAG, etag_of(value)))
        .json(value)
}

/// The entity-tags of every `name` header, or a 400 when one is not text.
fn tags_of(req: &HttpRequest, name: header::HeaderName) -> Result<Vec<String>, ApiError> {
    let mut tags = Vec::new();
    for value in req.headers().get_all(&name) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::BadRequest(format!("The {name} header is malformed.")))?;
        tags.extend(
            text.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        );
    }
    Ok(tags)
}

/// `If-Match` uses the strong comparison (RFC 9110 §13.1.1): a weak tag never matches, so it
/// is refused with a 412 that says so rather than one that says the resource changed.
impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tags = tags_of(req, header::IF_MATCH).and_then(|tags| {
            if tags.iter().any(|t| t.starts_with("W/")) {
                return Err(ApiError::PreconditionFailed(
                    "If-Match needs the strong ETag exactly as this API sent it; a weak tag \
                     (W/...) never matches a write."
                        .into(),
                ));
            }
            Ok(IfMatch::from_header((!tags.is_empty()).then_some(tags)))
        });
        ready(tags)
    }
}
