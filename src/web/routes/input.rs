//! Request parsing: lenient first, then validation that reports every problem at once.
//!
//! A body that is not JSON is a 400 (from the JSON extractor configured in `startup`). A body
//! that is JSON is read field by field through [`JsonFields`], so one request with a wrong
//! type here, a missing field there and an unknown field elsewhere gets one 422 listing all
//! three.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use serde_json::Value;

use crate::services::fields::{parse_body, refuse_nul, FromJsonBody, JsonFields, LenientJson};
use crate::web::error::ApiError;

/// A validated request body.
pub struct ValidJson<T>(pub T);

/// Reads a JSON body and makes the extractor's value of it with `read`.
fn from_json_body<R: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    read: impl FnOnce(Value) -> Result<R, ApiError> + 'static,
) -> Pin<Box<dyn Future<Output = Result<R, actix_web::Error>>>> {
    let body = web::Json::<Value>::from_request(req, payload);
    Box::pin(async move { Ok(read(body.await?.into_inner())?) })
}

impl<T: FromJsonBody + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        from_json_body(req, payload, |value| Ok(ValidJson(parse_body(value)?)))
    }
}

impl<T: FromJsonBody + 'static> FromRequest for LenientJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        from_json_body(req, payload, |value| {
            refuse_nul(&value)?;
            let mut fields = JsonFields::new(value)?;
            let value = T::from_json(&mut fields).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("lenient validator returned no value"))
            })?;
            Ok(LenientJson::new(value, fields.into_problems()))
        })
    }
}

/// A validated body that may be left out entirely (an empty body or JSON `null` is `None`, as
/// the schema's `oneOf [T, null]` says), for actions whose body only narrows what they do.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: FromJsonBody + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let bytes = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            if req.content_type() != "application/json" {
                return Err(json_error(JsonPayloadError::ContentType, &req));
            }
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| not_json(&e))?;
            if value.is_null() {
                return Ok(OptionalJson(None));
            }
            Ok(OptionalJson(Some(
                parse_body(value).map_err(ApiError::from)?,
            )))
        })
    }
}

/// The 400/413/415 of a body, in our words: a library's message never reaches the client.
pub fn json_error(err: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    body_error(err, req).into()
}

pub fn body_error(err: JsonPayloadError, req: &HttpRequest) -> ApiError {
    match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            let limit = req
                .app_data::<web::Data<crate::runtime::state::AppState>>()
                .map(|s| format!(" (at most {} bytes)", s.settings.max_body_bytes))
                .unwrap_or_default();
            ApiError::PayloadTooLarge(format!("The body is too large{limit}."))
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "Send the body as JSON with `Content-Type: application/json`.".into(),
        ),
        JsonPayloadError::Deserialize(e) => not_json(e),
        _ => ApiError::BadRequest("The body could not be read completely.".into()),
    }
}

/// Where the JSON breaks, without the parser's own wording.
pub fn not_json(e: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!(
        "The body is not valid JSON (line {}, column {}).",
        e.line(),
        e.column()
    ))
}

pub fn query_error(_err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(
        "A query parameter has a value of the wrong type (see the operation's parameters).".into(),
    )
    .into()
}

/// A path segment of the wrong type (`/companies/abc`) names no resource: 404, as a NUL does.
pub fn path_error(_err: PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("There is no resource at {}.", req.path())).into()
}
