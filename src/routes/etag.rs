//! Optimistic concurrency for mutable configuration: responses carry an `ETag` computed from the
//! resource's representation; a write with `If-Match` applies only when the ETag still matches
//! (412 otherwise), so two frontends cannot silently overwrite each other. Check the ETag
//! inside the write transaction, against the state read there.

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A strong ETag of a JSON representation.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("representations serialise");
    let digest = Sha256::digest(&bytes);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

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

/// The request's `If-Match` header: absent (no precondition), `*`, or a list of ETags.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    pub fn any() -> IfMatch {
        IfMatch(None)
    }

    /// 412 when a precondition was sent and `current` does not satisfy it.
    pub fn check(&self, current: &str) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(()),
            Some(_) => Err(stale()),
        }
    }
}

fn stale() -> ApiError {
    ApiError::PreconditionFailed(
        "The resource changed since you read it (If-Match does not match its ETag); \
         read it again and reapply your change."
            .into(),
    )
}

impl IfMatch {
    /// Like `check`, for a resource that may not exist yet (`None`): any precondition on a
    /// missing resource fails, as RFC 9110 says.
    pub fn check_current(&self, current: Option<&str>) -> Result<(), ApiError> {
        match current {
            Some(etag) => self.check(etag),
            None if self.0.is_none() => Ok(()),
            None => Err(stale()),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/").to_string())
            .filter(|t| !t.is_empty())
            .collect();
        ready(Ok(IfMatch((!values.is_empty()).then_some(values))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions() {
        let current = etag_of(&serde_json::json!({"a": 1}));
        assert_ne!(current, etag_of(&serde_json::json!({"a": 2})));
        assert!(IfMatch::any().check(&current).is_ok());
        assert!(IfMatch(Some(vec!["*".into()])).check(&current).is_ok());
        assert!(IfMatch(Some(vec!["\"x\"".into(), current.clone()]))
            .check(&current)
            .is_ok());
        assert!(matches!(
            IfMatch(Some(vec!["\"stale\"".into()])).check(&current),
            Err(ApiError::PreconditionFailed(_))
        ));
    }
}
