//! Every way a ConnectWise call can fail, in terms an MSP can act on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::adapters::outbound::redact::Redactor;
use crate::adapters::outbound::OutboundBlocked;

/// ConnectWise's error body: `{code, message, errors:[{code, message, resource, field}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub errors: Vec<ApiFieldError>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiFieldError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub resource: Option<String>,
    pub field: Option<String>,
}

impl ApiErrorBody {
    /// Parses a body leniently: anything that is not ConnectWise's shape yields an empty body.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The body as the server may keep and show it: every text stripped of credentials and
    /// bounded (an error body may echo what it was sent).
    fn redacted(mut self, redactor: &Redactor) -> Self {
        let clean = |text: &mut Option<String>| {
            if let Some(t) = text.as_mut() {
                *t = redactor.clean(t);
            }
        };
        clean(&mut self.code);
        clean(&mut self.message);
        for error in &mut self.errors {
            for text in [
                &mut error.code,
                &mut error.message,
                &mut error.resource,
                &mut error.field,
            ] {
                clean(text);
            }
        }
        self
    }

    fn message_or(&self, fallback: &str) -> String {
        self.message
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectWiseError {
    #[error("the ConnectWise connection settings are invalid: {0}")]
    InvalidConfig(String),
    #[error("ConnectWise rejected the credentials (401): check the company id, public key and private key of the API member")]
    Unauthorized { message: String },
    #[error("ConnectWise refused the request (403): check the clientId and the API member's security role: {message}")]
    Forbidden { message: String },
    #[error("ConnectWise has no such record (404): {message}")]
    NotFound { message: String },
    #[error("ConnectWise rejected the request ({status}): {message}")]
    Validation {
        status: u16,
        message: String,
        errors: Vec<ApiFieldError>,
    },
    #[error("ConnectWise is rate limiting requests (429); try again later")]
    RateLimited { retry_after: Option<Duration> },
    #[error("ConnectWise had a server error ({status}): {message}")]
    Server { status: u16, message: String },
    #[error("ConnectWise did not answer in time")]
    Timeout,
    #[error("cannot reach ConnectWise; check the site URL, DNS and firewall")]
    Connect,
    #[error(
        "the TLS connection to ConnectWise failed; check the certificate or add the CA certificate"
    )]
    Tls,
    #[error(transparent)]
    OutboundBlocked(#[from] OutboundBlocked),
    #[error("the outcome of the write is unknown ({detail}); it was not repeated, the next sync re-reads ConnectWise and corrects it")]
    OutcomeUnknown { detail: String },
    #[error("unexpected response from ConnectWise: {detail}")]
    Decode { detail: String },
}

impl ConnectWiseError {
    /// A stable machine-readable slug (for problem+json `type`s and metrics labels).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) => "connectwise_invalid_config",
            Self::Unauthorized { .. } => "connectwise_unauthorized",
            Self::Forbidden { .. } => "connectwise_forbidden",
            Self::NotFound { .. } => "connectwise_not_found",
            Self::Validation { .. } => "connectwise_validation",
            Self::RateLimited { .. } => "connectwise_rate_limited",
            Self::Server { .. } => "connectwise_server_error",
            Self::Timeout => "connectwise_timeout",
            Self::Connect => "connectwise_unreachable",
            Self::Tls => "connectwise_tls",
            Self::OutboundBlocked(_) => "outbound_blocked",
            Self::OutcomeUnknown { .. } => "connectwise_outcome_unknown",
            Self::Decode { .. } => "connectwise_bad_response",
        }
    }

    /// Maps a final (non-retried) error status and body; the body's texts are kept only
    /// redacted, the full body goes to the log at debug.
    pub(crate) fn from_status(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        redactor: &Redactor,
    ) -> Self {
        tracing::debug!(status, body = %String::from_utf8_lossy(body), "ConnectWise error answer");
        let parsed = ApiErrorBody::parse(body).redacted(redactor);
        match status {
            401 => Self::Unauthorized {
                message: parsed.message_or("unauthorized"),
            },
            403 => Self::Forbidden {
                message: parsed.message_or("forbidden"),
            },
            404 => Self::NotFound {
                message: parsed.message_or("not found"),
            },
            429 => Self::RateLimited { retry_after },
            500..=599 => Self::Server {
                status,
                message: parsed.message_or("server error"),
            },
            _ => Self::Validation {
                status,
                message: parsed.message_or("request rejected"),
                errors: parsed.errors,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_keep_field_details() {
        let body = br#"{"code":"InvalidObject","message":"addition object is invalid",
            "errors":[{"code":"MissingRequiredField","message":"billCustomer is required",
            "resource":"addition","field":"billCustomer"}]}"#;
        match ConnectWiseError::from_status(400, body, None, &Redactor::default()) {
            ConnectWiseError::Validation {
                status,
                message,
                errors,
            } => {
                assert_eq!(status, 400);
                assert_eq!(message, "addition object is invalid");
                assert_eq!(errors[0].field.as_deref(), Some("billCustomer"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_echoed_credential_never_reaches_the_error() {
        let redactor = Redactor::new(["the-private-key"]);
        let body = br#"{"code":"InvalidObject","message":"bad request; Authorization: Basic Zm9vOmJhcg== private the-private-key",
            "errors":[{"message":"password=hunter2 rejected","field":"quantity"}]}"#;
        let error = ConnectWiseError::from_status(400, body, None, &redactor);
        let text = format!("{error} {error:?}");
        for secret in ["Zm9vOmJhcg==", "the-private-key", "hunter2"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn statuses_map_to_variants_even_without_a_body() {
        let cases = [
            (401, "connectwise_unauthorized"),
            (403, "connectwise_forbidden"),
            (404, "connectwise_not_found"),
            (429, "connectwise_rate_limited"),
            (503, "connectwise_server_error"),
            (409, "connectwise_validation"),
        ];
        for (status, code) in cases {
            assert_eq!(
                ConnectWiseError::from_status(status, b"<html>", None, &Redactor::default()).code(),
                code
            );
        }
    }
}
