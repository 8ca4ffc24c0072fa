//! The notification webhook client: a JSON body signed with HMAC-SHA256 under the channel's
//! secret (`X-Bridge-Signature: sha256=<hex>` over the raw body), a delivery id and a timestamp
//! against replays, sent through the outbound allow-list and the one retry engine (5xx and
//! timeouts are tried again: a receiver deduplicates by delivery id).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::adapters::metrics::Upstream;
use crate::adapters::outbound::retry::{self, AttemptOutcome, Failed, Replay, RetryPolicy};
use crate::adapters::outbound::{
    build_http_client, find_cause, HttpClientError, HttpClientOptions, OutboundBlocked,
    OutboundPolicy,
};

pub const SIGNATURE_HEADER: &str = "X-Bridge-Signature";
pub const DELIVERY_HEADER: &str = "X-Bridge-Delivery";
pub const TIMESTAMP_HEADER: &str = "X-Bridge-Timestamp";

/// One message to one receiver.
pub struct WebhookMessage<'a> {
    pub url: &'a Url,
    pub secret: &'a [u8],
    pub delivery_id: &'a str,
    /// Unix seconds, also inside the signed body.
    pub timestamp: i64,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error(transparent)]
    Blocked(#[from] OutboundBlocked),
    #[error("the receiver answered {0}")]
    Status(u16),
    #[error("the receiver did not answer in time")]
    Timeout,
    #[error("the receiver could not be reached")]
    Connect,
}

/// What a send came to, with the attempts it took.
pub struct Sent {
    pub result: Result<u16, WebhookError>,
    pub attempts: u32,
}

#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    retry: RetryPolicy,
}

/// `sha256=<hex>`: HMAC-SHA256 of the raw body under the secret.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl WebhookClient {
    pub fn new(policy: Arc<OutboundPolicy>, retry: RetryPolicy) -> Result<Self, HttpClientError> {
        let http = build_http_client(&HttpClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            policy: policy.clone(),
            ..HttpClientOptions::default()
        })?;
        Ok(WebhookClient {
            http,
            policy,
            retry,
        })
    }

    /// Sends the message, retrying 5xx, 429 and lost connections by the retry policy.
    pub async fn send(&self, message: &WebhookMessage<'_>) -> Sent {
        let mut attempts = 0;
        if let Err(blocked) = self.policy.check_url(message.url) {
            return Sent {
                result: Err(blocked.into()),
                attempts,
            };
        }
        let signature = signature(message.secret, &message.body);
        let result = retry::send_with_retries(Upstream::Webhook, &self.retry, Replay::Safe, || {
            attempts += 1;
            let request = self
                .http
                .post(message.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .header(DELIVERY_HEADER, message.delivery_id)
                .header(TIMESTAMP_HEADER, message.timestamp.to_string())
                .body(message.body.clone());
            async move {
                match request.send().await {
                    Ok(reply) if reply.status().is_success() => Ok(reply.status().as_u16()),
                    Ok(reply) => Err(failed_reply(&reply)),
                    Err(err) => Err(failed_transport(&err)),
                }
            }
        })
        .await;
        Sent { result, attempts }
    }
}

fn failed_reply(reply: &reqwest::Response) -> Failed<WebhookError> {
    let status = reply.status().as_u16();
    let outcome = match status {
        429 => Some(AttemptOutcome::RateLimited),
        500..=599 => Some(AttemptOutcome::ServerError),
        _ => None,
    };
    Failed {
        error: WebhookError::Status(status),
        outcome,
        retry_after: retry::retry_after(reply.headers()),
        answered: true,
    }
}

fn failed_transport(err: &reqwest::Error) -> Failed<WebhookError> {
    if let Some(blocked) = find_cause::<OutboundBlocked>(err) {
        return Failed::fatal(blocked.clone().into(), false);
    }
    let (outcome, error) = match (err.is_connect(), err.is_timeout()) {
        (true, _) => (AttemptOutcome::NotSent, WebhookError::Connect),
        (false, true) => (AttemptOutcome::Lost, WebhookError::Timeout),
        (false, false) => (AttemptOutcome::Lost, WebhookError::Connect),
    };
    Failed {
        error,
        outcome: Some(outcome),
        retry_after: None,
        answered: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
