use std::time::Duration;

/// Why a KSC call failed. Messages never carry credentials.
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
    #[error("cannot connect to KSC: {0}")]
    Connect(String),
    #[error("TLS failure talking to KSC: {0}")]
    Tls(String),
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
            | KscError::Connect(_) => true,
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
        if error.is_timeout() {
            return KscError::Timeout;
        }
        if let Some(tls) = find_tls_error(&error) {
            return KscError::Tls(tls);
        }
        if error.is_connect() {
            return KscError::Connect(error_chain(&error));
        }
        if error.is_decode() {
            return KscError::Decode(error_chain(&error));
        }
        KscError::Connect(error_chain(&error))
    }
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
