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

use crate::error::ApiError;
pub use crate::services::fields::{parse_body, FromJsonBody, JsonFields, LenientJson, Patch};

/// A validated request body.
pub struct ValidJson<T>(pub T);

impl<T: FromJsonBody + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            Ok(ValidJson(parse_body(value).map_err(ApiError::from)?))
        })
    }
}

impl<T: FromJsonBody + 'static> FromRequest for LenientJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let mut fields = JsonFields::new(body.await?.into_inner()).map_err(ApiError::from)?;
            let value = T::from_json(&mut fields).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("lenient validator returned no value"))
            })?;
            Ok(LenientJson::new(value, fields.into_problems()))
        })
    }
}

/// A validated body that may be left out entirely (an empty body is `None`), for actions whose
/// body only narrows what they do.
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
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| json_error(JsonPayloadError::Deserialize(e), &req))?;
            Ok(OptionalJson(Some(
                parse_body(value).map_err(ApiError::from)?,
            )))
        })
    }
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::PayloadTooLarge(format!("The body is too large: {err}."))
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "Send the body as JSON with `Content-Type: application/json`.".into(),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation("body", e.to_string())
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::BadRequest(format!("The body is not valid JSON: {e}."))
        }
        _ => ApiError::BadRequest(format!("The body could not be read: {err}.")),
    };
    api.into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("Invalid query string: {err}.")).into()
}

pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("Invalid path parameter: {err}.")).into()
}
