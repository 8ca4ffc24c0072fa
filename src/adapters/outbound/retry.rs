//! When to try a request to an outside system again, and how long to wait first: one policy,
//! one reading of `Retry-After` and one retry loop ([`send_with_retries`]) for the ConnectWise
//! and the KSC client.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::Method;

use crate::adapters::metrics::{self, CallOutcome, Upstream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// Longest wait between attempts; a `Retry-After` longer than this ends the retries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Whether a request may be sent again after the server possibly processed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Sending it twice does no harm (reads, idempotent writes).
    Safe,
    /// It creates or advances server state: repeated only when provably not processed.
    Unsafe,
}

impl Replay {
    /// HTTP's rule: POST is not idempotent.
    pub fn of(method: &Method) -> Self {
        if *method == Method::POST {
            Replay::Unsafe
        } else {
            Replay::Safe
        }
    }
}

/// What an attempt ended with, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 429, or a 503 from a server that says so: it did not process the request.
    RateLimited,
    /// 5xx: the server may or may not have applied a write.
    ServerError,
    /// Failed before the request left (connection refused, DNS, connect timeout).
    NotSent,
    /// Sent, then the response never came (timeout, connection lost).
    Lost,
}

impl AttemptOutcome {
    pub fn may_retry(self, replay: Replay) -> bool {
        match self {
            Self::RateLimited | Self::NotSent => true,
            Self::ServerError | Self::Lost => replay == Replay::Safe,
        }
    }
}

/// A failed attempt: the error to return if it is the last, and what retrying needs to know.
#[derive(Debug)]
pub struct Failed<E> {
    pub error: E,
    /// `None`: final, trying again cannot help (a 4xx, a blocked address, a TLS failure).
    pub outcome: Option<AttemptOutcome>,
    pub retry_after: Option<Duration>,
    /// The server answered (with an error), as opposed to no answer at all.
    pub answered: bool,
}

impl<E> Failed<E> {
    pub fn fatal(error: E, answered: bool) -> Self {
        Failed {
            error,
            outcome: None,
            retry_after: None,
            answered,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy says stop; counts the call,
/// its retries and rate limits in the metrics of `upstream`.
pub async fn send_with_retries<T, E, F, Fut>(
    upstream: Upstream,
    policy: &RetryPolicy,
    replay: Replay,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failed<E>>>,
    E: std::fmt::Display,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        let failed = match attempt().await {
            Ok(value) => {
                metrics::upstream_call(upstream, CallOutcome::Success);
                return Ok(value);
            }
            Err(failed) => failed,
        };
        if failed.outcome == Some(AttemptOutcome::RateLimited) {
            metrics::upstream_rate_limited(upstream);
        }
        let delay = failed
            .outcome
            .filter(|outcome| outcome.may_retry(replay))
            .and_then(|_| policy.delay_after(attempts, failed.retry_after));
        let Some(delay) = delay else {
            let outcome = if failed.answered {
                CallOutcome::ErrorResponse
            } else {
                CallOutcome::NoResponse
            };
            metrics::upstream_call(upstream, outcome);
            return Err(failed.error);
        };
        tracing::debug!(
            upstream = upstream.label(),
            error = %failed.error,
            attempt = attempts,
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
        metrics::upstream_retry(upstream);
        tokio::time::sleep(delay).await;
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, or `None` to give up: a `Retry-After` is waited
    /// for, unless it is longer than `max_delay` (then the call fails now rather than hang).
    pub fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_delay => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt)),
        }
    }

    /// Exponential backoff with jitter in [50 %, 100 %], so clients that failed together spread out.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        capped.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// A `Retry-After` in seconds (the form ConnectWise and KSC send); an HTTP date is ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = policy();
        for (attempt, full) in [(1, 100), (2, 200), (3, 300), (4, 300)] {
            let delay = p.delay_after(attempt, None).unwrap();
            assert!(
                delay >= Duration::from_millis(full / 2),
                "{attempt}: {delay:?}"
            );
            assert!(delay <= Duration::from_millis(full), "{attempt}: {delay:?}");
        }
        assert_eq!(p.delay_after(5, None), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        assert_eq!(
            p.delay_after(1, Some(Duration::from_millis(250))),
            Some(Duration::from_millis(250))
        );
        assert_eq!(p.delay_after(1, Some(Duration::from_secs(5))), None);
    }

    #[test]
    fn post_is_retried_only_when_provably_unprocessed() {
        use AttemptOutcome::*;
        let post = Replay::of(&Method::POST);
        assert!(RateLimited.may_retry(post));
        assert!(NotSent.may_retry(post));
        assert!(!ServerError.may_retry(post));
        assert!(!Lost.may_retry(post));
        for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
            assert!([RateLimited, ServerError, NotSent, Lost]
                .iter()
                .all(|o| o.may_retry(Replay::of(&method))));
        }
    }
}
