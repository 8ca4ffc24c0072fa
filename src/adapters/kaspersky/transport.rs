//! One HTTP/1.1 connection to KSC, owned by whoever opened it. A KSC login authenticates the TCP
//! connection it arrives on (DOMAIN.md §4), so a login and the `Session.StartSession` after it
//! must travel on one connection: a [`Connection`] is exactly one, by construction — there is no
//! pool to hand a request to another connection.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::KscError;
use crate::adapters::outbound::dial::{DialError, Dialer};

/// A KSC answer as it came.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request on a connection failed, and whether the server can have seen it.
pub(crate) enum SendError {
    /// The request never left (no connection could be made): safe to send again.
    NotSent(KscError),
    /// Sent, then no (complete) answer: the connection is spent.
    Lost(KscError),
}

pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    authority: HeaderValue,
}

impl Connection {
    /// Dials a new connection; nothing is sent yet.
    pub async fn open(dialer: &Dialer) -> Result<Connection, KscError> {
        let stream = dialer.connect().await.map_err(from_dial)?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| {
                tracing::warn!(cause = %error, "KSC connection handshake failed");
                KscError::Connect
            })?;
        // The connection lives as long as its driver; it ends when the sender is dropped.
        tokio::spawn(async move {
            if let Err(error) = driver.await {
                tracing::debug!(cause = %error, "KSC connection ended");
            }
        });
        let authority = HeaderValue::from_str(&dialer.authority())
            .map_err(|_| KscError::Decode("the server address is not a valid host".into()))?;
        Ok(Connection { sender, authority })
    }

    /// Whether the connection can still carry a request (the server may have closed it).
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// POSTs a JSON body to `path` on this connection and reads the whole answer.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, SendError> {
        let mut request = Request::post(path)
            .body(Full::new(body))
            .map_err(|_| SendError::NotSent(KscError::Decode("invalid request path".into())))?;
        let request_headers = request.headers_mut();
        request_headers.insert(HOST, self.authority.clone());
        request_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            request_headers.insert(name, value.clone());
        }
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|error| SendError::NotSent(transport(error)))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|error| SendError::Lost(transport(error)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|error| SendError::Lost(transport(error)))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(SendError::Lost(KscError::Timeout)))
    }
}

fn from_dial(error: DialError) -> KscError {
    match error {
        DialError::Blocked(blocked) => KscError::Blocked(blocked),
        DialError::Timeout => KscError::Timeout,
        DialError::Connect => KscError::Connect,
        DialError::Tls => KscError::Tls,
    }
}

/// The library's words go to the log, never into an error a client sees.
fn transport(error: hyper::Error) -> KscError {
    tracing::warn!(cause = %error, "KSC connection failed");
    KscError::Connect
}
