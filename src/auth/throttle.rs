//! Throttling of failed logins, checked *before* any password hashing.
//!
//! Failures are counted per (username, address) pair and, more loosely, per address: an
//! attacker guessing one account from one address is stopped without locking that account
//! for its owner elsewhere, and one address spraying many accounts is stopped too. Counters
//! live in this process's memory (several processes each keep their own).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::LoginThrottleSettings;

const MAX_TRACKED_KEYS: usize = 50_000;

#[derive(Default)]
struct Failures {
    pairs: HashMap<(String, IpAddr), VecDeque<Instant>>,
    addresses: HashMap<IpAddr, VecDeque<Instant>>,
}

pub struct LoginThrottle {
    settings: LoginThrottleSettings,
    failures: Mutex<Failures>,
}

impl LoginThrottle {
    pub fn new(settings: LoginThrottleSettings) -> LoginThrottle {
        LoginThrottle {
            settings,
            failures: Mutex::new(Failures::default()),
        }
    }

    /// `Err(retry_after)` when this attempt must be refused without looking at the password.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("throttle lock");
        let window = self.settings.window;
        let pair = (username.to_string(), address);
        let pair_wait = f.pairs.get_mut(&pair).and_then(|q| {
            wait(
                q,
                now,
                window,
                self.settings.max_failures_per_user_and_address,
            )
        });
        let address_wait = f
            .addresses
            .get_mut(&address)
            .and_then(|q| wait(q, now, window, self.settings.max_failures_per_address));
        match pair_wait.max(address_wait) {
            Some(retry_after) => Err(retry_after),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, username: &str, address: IpAddr) {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("throttle lock");
        let window = self.settings.window;
        if f.pairs.len() + f.addresses.len() > MAX_TRACKED_KEYS {
            f.pairs
                .retain(|_, q| q.back().is_some_and(|t| now - *t < window));
            f.addresses
                .retain(|_, q| q.back().is_some_and(|t| now - *t < window));
        }
        f.pairs
            .entry((username.to_string(), address))
            .or_default()
            .push_back(now);
        f.addresses.entry(address).or_default().push_back(now);
    }

    /// A successful login clears that pair's failures (not the address's).
    pub fn record_success(&self, username: &str, address: IpAddr) {
        let mut f = self.failures.lock().expect("throttle lock");
        f.pairs.remove(&(username.to_string(), address));
    }
}

/// Drops failures older than the window; when `max` remain, how long until the oldest expires.
fn wait(q: &mut VecDeque<Instant>, now: Instant, window: Duration, max: u32) -> Option<Duration> {
    while q.front().is_some_and(|t| now - *t >= window) {
        q.pop_front();
    }
    (q.len() >= max as usize).then(|| window - (now - q[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginThrottleSettings {
            window: Duration::from_secs(60),
            max_failures_per_user_and_address: 3,
            max_failures_per_address: 5,
        })
    }

    #[test]
    fn pair_cap_does_not_lock_out_other_users_or_addresses() {
        let t = throttle();
        let attacker: IpAddr = "10.0.0.1".parse().unwrap();
        let owner: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("alice", attacker).is_ok());
            t.record_failure("alice", attacker);
        }
        let retry = t.check("alice", attacker).unwrap_err();
        assert!(retry > Duration::from_secs(50) && retry <= Duration::from_secs(60));
        assert!(t.check("alice", owner).is_ok());
        assert!(t.check("bob", attacker).is_ok());
    }

    #[test]
    fn address_cap_stops_spraying() {
        let t = throttle();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for user in ["u1", "u2", "u3", "u4", "u5"] {
            t.record_failure(user, a);
        }
        assert!(t.check("u6", a).is_err());
    }

    #[test]
    fn success_clears_the_pair() {
        let t = throttle();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        t.record_failure("alice", a);
        t.record_failure("alice", a);
        t.record_success("alice", a);
        t.record_failure("alice", a);
        assert!(t.check("alice", a).is_ok());
    }
}
