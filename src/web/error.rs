//! The one error type of the HTTP API, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `Result<_, ApiError>`; lower layers return their own errors and the
//! `From` impls below decide what a client may learn. Internal errors are logged with their
//! cause chain and reach the client only as a generic 500.

use actix_web::http::{header, StatusCode};
use std::collections::BTreeMap;

use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, ResponsesBuilder};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub use crate::services::error::FieldError;
use crate::services::{ServiceError, UpstreamFailure};

/// RFC 9457 problem details.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-failed", "title": "The request is invalid", "status": 422,
    "detail": "2 fields are invalid; see `errors`.",
    "errors": [
        {"field": "rows[0].workstation_product_id",
         "message": "there is no ConnectWise product 17 in the catalog cache (refresh the catalog if it is new)"},
        {"field": "rows[1].application_id", "message": "there is no security application kes-unix"}
    ]
}))]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every invalid field, for validation problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid request: {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UriTooLong(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// An outside system (ConnectWise, KSC) failed; `code` names how, for the problem `type`.
    #[error("{detail}")]
    Upstream {
        status: u16,
        code: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    fn slug_and_title(&self) -> (&str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Validation(_) => ("validation-failed", "The request is invalid"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::UriTooLong(_) => ("uri-too-long", "Request URL too long"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::ServiceUnavailable(_) => ("service-unavailable", "Service unavailable"),
            ApiError::Upstream { code, .. } => (code, "An outside system failed"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            ApiError::Internal(_) => {
                "The server failed to handle the request; the cause is in its log.".to_string()
            }
            ApiError::Validation(errors) if errors.len() == 1 => {
                format!("{}: {}", errors[0].field, errors[0].message)
            }
            ApiError::Validation(errors) => {
                format!("{} fields are invalid; see `errors`.", errors.len())
            }
            ApiError::MethodNotAllowed { allow } => {
                format!("This resource allows {}.", allow.join(", "))
            }
            other => other.to_string(),
        };
        Problem {
            type_: format!("/problems/{}", slug.replace('_', "-")),
            title: title.to_string(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(err) = self {
            // `{:#}`: the whole cause chain on one line.
            tracing::error!(error = %format!("{err:#}"), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="kaspersky-msp-bridge""#,
                ));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(self.to_problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        if crate::adapters::db::is_connection_lost(&err) {
            tracing::warn!(error = %err, "database connection lost");
            return database_unreachable();
        }
        ApiError::Internal(err.into())
    }
}

fn database_unreachable() -> ApiError {
    ApiError::ServiceUnavailable(
        "The database is not reachable right now; try again shortly.".into(),
    )
}

impl From<crate::adapters::db::StorageError> for ApiError {
    fn from(err: crate::adapters::db::StorageError) -> Self {
        match err {
            crate::adapters::db::StorageError::Unavailable(e) => e.into(),
            crashed => ApiError::Internal(crashed.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %err, "no database connection available");
        database_unreachable()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            ServiceError::Validation(errors) => ApiError::Validation(errors),
            ServiceError::PreconditionFailed(m) => ApiError::PreconditionFailed(m),
            ServiceError::Unauthenticated(m) => ApiError::Unauthorized(m),
            ServiceError::Throttled {
                detail,
                retry_after,
            } => ApiError::TooManyRequests {
                detail,
                retry_after_secs: retry_after.as_secs().max(1),
            },
            ServiceError::Upstream {
                failure,
                code,
                detail,
            } => ApiError::Upstream {
                status: match failure {
                    UpstreamFailure::Failed => 502,
                    UpstreamFailure::TimedOut => 504,
                    UpstreamFailure::Misconfigured => 409,
                },
                code,
                detail,
            },
            ServiceError::Unavailable(m) => ApiError::ServiceUnavailable(m),
            ServiceError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::runtime::clients::ConnectionError> for ApiError {
    fn from(err: crate::runtime::clients::ConnectionError) -> Self {
        ServiceError::from(err).into()
    }
}

impl From<crate::sync::SyncError> for ApiError {
    fn from(err: crate::sync::SyncError) -> Self {
        ServiceError::from(err).into()
    }
}

/// The failures of an operation that calls ConnectWise, for its `#[utoipa::path]` responses.
pub struct ConnectWiseFailures;

impl utoipa::IntoResponses for ConnectWiseFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        upstream_failures("ConnectWise")
    }
}

/// The failures of an operation that calls KSC, for its `#[utoipa::path]` responses.
pub struct KscFailures;

impl utoipa::IntoResponses for KscFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        upstream_failures("KSC")
    }
}

fn upstream_failures(system: &str) -> BTreeMap<String, RefOr<Response>> {
    let problem = |description: String| {
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    ResponsesBuilder::new()
        .response("409", problem(format!("{system} is not configured")))
        .response("502", problem(format!("{system} failed")))
        .response("504", problem(format!("{system} did not answer in time")))
        .build()
        .into()
}
