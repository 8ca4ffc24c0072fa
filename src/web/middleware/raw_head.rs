//! Requests whose head the HTTP parser refuses (`If-Match: \x7f\x7f`) never reach the app:
//! actix-http answers them itself with a bare `400` and no body. This connection wrapper turns
//! that one answer into problem+json with an `X-Request-Id`, like every other error. The app's
//! own errors always carry a problem body, so a body-less 400 or 431 can only come from there.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::web::error::{ApiError, PROBLEM_JSON};

/// The heads actix-http writes for a request it could not parse, with why, in our words.
const BARE: &[(&[u8], &str)] = &[
    (
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        "The request's head is malformed (a header name or value holds a byte HTTP forbids).",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        "The request's headers are too large.",
    ),
];

/// A connection whose parser-made error answers are rewritten on their way out.
pub struct ProblemOnBadHead<T> {
    inner: T,
    /// A rewritten answer still to be written, and how much of it is.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemOnBadHead<T> {
    pub fn new(inner: T) -> Self {
        ProblemOnBadHead {
            inner,
            pending: None,
        }
    }
}

/// The problem+json answer that replaces a bare one, or `None` for any other write.
fn rewritten(buf: &[u8]) -> Option<Vec<u8>> {
    let (head, detail) = BARE.iter().find(|(head, _)| buf.starts_with(head))?;
    let status_line = &head[..head.iter().position(|b| *b == b'\r')?];
    let status = std::str::from_utf8(status_line).ok()?.split(' ').nth(1)?;
    let mut problem = ApiError::BadRequest((*detail).into()).to_problem();
    problem.status = status.parse().ok()?;
    let body = serde_json::to_vec(&problem).ok()?;
    let request_id = uuid::Uuid::new_v4();
    let mut answer = Vec::with_capacity(body.len() + 200);
    answer.extend_from_slice(status_line);
    answer.extend_from_slice(
        format!(
            "\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    answer.extend_from_slice(&body);
    tracing::info!(%request_id, status, "request with a malformed head refused");
    Some(answer)
}

impl<T: AsyncWrite + Unpin> ProblemOnBadHead<T> {
    /// Writes what is left of a rewritten answer; ready once it is all out.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((answer, written)) = &mut self.pending {
            if *written == answer.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemOnBadHead<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemOnBadHead<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_some() {
            // Nothing follows the rewritten answer on this connection: it closes.
            return match this.poll_pending(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.len())),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
        }
        if let Some(answer) = rewritten(buf) {
            this.pending = Some((answer, 0));
            return match this.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parser_s_bare_answers_are_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let answer = String::from_utf8(rewritten(bare).unwrap()).unwrap();
        assert!(answer
            .starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\n"));
        assert!(answer.contains("x-request-id: "));
        assert!(answer.ends_with("}"), "{answer}");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\ncontent-type: application/problem+json\r\n\r\n";
        assert!(rewritten(ours).is_none());
        assert!(rewritten(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
