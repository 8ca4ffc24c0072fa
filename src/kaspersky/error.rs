use std::time::Duration;

use crate::outbound::OutboundBlocked;

/// Why a KSC call failed, in our words: messages never carry credentials, nor the HTTP or TLS
/// library's error text (that goes to the log where the failure is met).
#[derive(Debug, thiserror::Error)]
pub enum KscError {
    #[error("KSC refused the credentials")]
    BadCredentials,
    #[error("virtual server {0:?} refused the login (disabled, unknown, or no access)")]
    VServerRefused(String),
    #[error("virtual server {0:?} is disabled")]
    VServerDisabled(String),
    #[error("KSC error {code}: {message}")]
    Pxg { code: i64, message: String },
    #[error("KSC answered HTTP {status}")]
    Http {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("KSC did not answer in time")]
    Timeout,
    #[error("cannot connect to KSC")]
    Connect,
    #[error("the TLS connection to KSC failed")]
    Tls,
    #[error(transparent)]
    Blocked(#[from] OutboundBlocked),
    #[error("unexpected KSC response: {0}")]
    Decode(String),
}

impl KscError {
    /// Whether trying again may help. `replay_safe` says the call has no side effect, so a
    /// request the server may already have processed (timeout, 5xx) can be sent again.
    pub(crate) fn is_transient(&self, replay_safe: bool) -> bool {
        match self {
            // Refused before any processing, or never reached the server.
            KscError::Http {
                status: 429 | 503, ..
            }
            | KscError::Connect => true,
            KscError::Http { status, .. } => replay_safe && *status >= 500,
            KscError::Timeout => replay_safe,
            _ => false,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            KscError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn from_transport(error: reqwest::Error) -> Self {
        if let Some(blocked) = find_cause::<OutboundBlocked>(&error) {
            return KscError::Blocked(blocked.clone());
        }
        let classified = if error.is_timeout() {
            KscError::Timeout
        } else if let Some(tls) = find_tls_error(&error) {
            tracing::warn!(cause = %tls, "TLS failure talking to KSC");
            return KscError::Tls;
        } else if error.is_decode() {
            KscError::Decode("the response body could not be read".into())
        } else {
            KscError::Connect
        };
        tracing::warn!(cause = %error_chain(&error), "KSC call failed: {classified}");
        classified
    }
}

fn find_cause<E: std::error::Error + 'static>(error: &reqwest::Error) -> Option<&E> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<E>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

/// rustls errors hide inside `io::Error`s, whose `source()` skips the wrapped error itself.
fn find_tls_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = find_tls_error(inner) {
                return Some(tls);
            }
        }
        current = err.source();
    }
    None
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}
