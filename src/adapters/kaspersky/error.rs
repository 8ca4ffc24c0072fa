use std::time::Duration;

use crate::adapters::outbound::OutboundBlocked;

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
