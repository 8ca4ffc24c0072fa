//! Throttling of failed logins, checked *before* any password hashing.
//!
//! Failures are counted per (username, address) pair, per address, and everywhere. Only the
//! pair refuses (429): an attacker guessing one account from one address is stopped without
//! locking that account for its owner elsewhere. An address spraying many accounts is slowed
//! down, never refused: past its allowance each attempt from it waits its turn, the turns
//! further apart the more it failed (so made-up usernames cannot lock a real user out of a
//! shared address — a correct password without failures of its own still gets in, later). Past
//! a global ceiling (guesses from many addresses at once) every attempt is spaced out the same
//! way. The address is the client's (behind trusted proxies, the one they name; without
//! `BRIDGE_TRUSTED_PROXIES` it is the proxy's, so every client behind it shares one address).
//! Counters live in this process's memory (several processes each keep their own).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::adapters::config::LoginThrottleSettings;

const MAX_TRACKED_KEYS: usize = 50_000;

#[derive(Default)]
struct Failures {
    pairs: HashMap<(String, IpAddr), VecDeque<Instant>>,
    addresses: HashMap<IpAddr, Address>,
    everywhere: VecDeque<Instant>,
    /// While slowed everywhere: when the next attempt may start.
    next_turn: Option<Instant>,
}

/// An address's failures, and while it is slowed, when its next attempt may start.
#[derive(Default)]
struct Address {
    failures: VecDeque<Instant>,
    next_turn: Option<Instant>,
}

/// How far apart a slowed address's attempts start: doubling with every failure past its
/// allowance, from `base` up to `max`.
fn address_interval(base: Duration, max: Duration, failures_past_allowance: usize) -> Duration {
    let doublings = failures_past_allowance.min(16) as u32;
    base.saturating_mul(2u32.saturating_pow(doublings)).min(max)
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

    /// Starts a login attempt, or `Err(retry_after)` when it must be refused without looking
    /// at the password. The attempt counts as a failure from here on: otherwise concurrent
    /// guesses would all pass this check before the first failure is recorded.
    pub fn begin(&self, username: &str, address: IpAddr) -> Result<Attempt<'_>, Duration> {
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
        if let Some(retry_after) = pair_wait {
            return Err(retry_after);
        }
        if f.pairs.len() + f.addresses.len() > MAX_TRACKED_KEYS {
            f.pairs
                .retain(|_, q| q.back().is_some_and(|t| now - *t < window));
            f.addresses
                .retain(|_, a| a.failures.back().is_some_and(|t| now - *t < window));
        }
        let wait_for_turn = self
            .turn(&mut f, now)
            .max(self.address_turn(&mut f, address, now));
        f.pairs.entry(pair.clone()).or_default().push_back(now);
        f.addresses
            .entry(address)
            .or_default()
            .failures
            .push_back(now);
        f.everywhere.push_back(now);
        Ok(Attempt {
            throttle: self,
            pair,
            at: now,
            wait_for_turn,
            settled: false,
        })
    }

    /// Past the global ceiling, how long this attempt waits for its turn (attempts are then
    /// spaced `slowed_interval` apart).
    fn turn(&self, f: &mut Failures, now: Instant) -> Duration {
        let ceiling = self.settings.slow_down_after_failures as usize;
        while f.everywhere.len() > ceiling
            || f.everywhere
                .front()
                .is_some_and(|t| now - *t >= self.settings.window)
        {
            f.everywhere.pop_front();
        }
        if f.everywhere.len() < ceiling {
            f.next_turn = None;
            return Duration::ZERO;
        }
        let turn = f.next_turn.map_or(now, |t| t.max(now));
        f.next_turn = Some(turn + self.settings.slowed_interval);
        (turn - now).min(self.settings.max_slowdown)
    }

    /// Past the address's allowance, how long this attempt waits for the address's turn.
    fn address_turn(&self, f: &mut Failures, address: IpAddr, now: Instant) -> Duration {
        let window = self.settings.window;
        let allowance = self.settings.max_failures_per_address as usize;
        let Some(a) = f.addresses.get_mut(&address) else {
            return Duration::ZERO;
        };
        while a.failures.front().is_some_and(|t| now - *t >= window) {
            a.failures.pop_front();
        }
        if a.failures.len() < allowance {
            a.next_turn = None;
            return Duration::ZERO;
        }
        let max = self.settings.max_slowdown;
        let interval = address_interval(
            self.settings.slowed_interval,
            max,
            a.failures.len() - allowance,
        );
        let turn = a.next_turn.map_or(now, |t| t.max(now));
        a.next_turn = Some(turn + interval);
        (turn - now).min(max)
    }

    /// Takes back an attempt's entry from the address and, unless it is cleared anyway, the pair.
    fn take_back(&self, attempt: &Attempt<'_>, clear_pair: bool) {
        let mut f = self.failures.lock().expect("throttle lock");
        if let Some(a) = f.addresses.get_mut(&attempt.pair.1) {
            remove_entry(&mut a.failures, attempt.at);
        }
        remove_entry(&mut f.everywhere, attempt.at);
        if clear_pair {
            f.pairs.remove(&attempt.pair);
        } else if let Some(q) = f.pairs.get_mut(&attempt.pair) {
            remove_entry(q, attempt.at);
        }
    }
}

/// A login attempt counted as a failure until it is known to have succeeded. Dropped without
/// a verdict (the check could not be made, e.g. the database was down), it is taken back.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    pair: (String, IpAddr),
    at: Instant,
    wait_for_turn: Duration,
    settled: bool,
}

impl Attempt<'_> {
    /// How long to wait before checking the password (zero unless logins are slowed).
    pub fn wait_for_turn(&self) -> Duration {
        self.wait_for_turn
    }

    /// The password was wrong: the failure stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: the pair's failures are cleared, the address's are not.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.take_back(&self, true);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.take_back(self, false);
        }
    }
}

fn remove_entry(q: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = q.iter().rposition(|t| *t == at) {
        q.remove(i);
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
            slow_down_after_failures: 8,
            slowed_interval: Duration::from_secs(1),
            max_slowdown: Duration::from_secs(10),
        })
    }

    #[test]
    fn many_addresses_at_once_slow_logins_down_but_never_refuse_them() {
        let t = throttle();
        for n in 1..=8 {
            let attempt = t.begin("alice", IpAddr::from([10, 0, 0, n])).unwrap();
            assert_eq!(attempt.wait_for_turn(), Duration::ZERO);
            attempt.failed();
        }
        // Past the ceiling each attempt waits its turn, a second after the one before.
        let owner: IpAddr = "10.0.1.1".parse().unwrap();
        let first = t.begin("alice", owner).unwrap();
        let second = t.begin("bob", owner).unwrap();
        assert!(first.wait_for_turn() <= second.wait_for_turn());
        assert!(second.wait_for_turn() > Duration::from_millis(500));
        first.succeeded();
        second.succeeded();
    }

    #[test]
    fn pair_cap_does_not_lock_out_other_users_or_addresses() {
        let t = throttle();
        let attacker: IpAddr = "10.0.0.1".parse().unwrap();
        let owner: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            t.begin("alice", attacker).unwrap().failed();
        }
        let retry = t.begin("alice", attacker).err().unwrap();
        assert!(retry > Duration::from_secs(50) && retry <= Duration::from_secs(60));
        assert!(t.begin("alice", owner).is_ok());
        assert!(t.begin("bob", attacker).is_ok());
    }

    #[test]
    fn attempts_in_flight_count_against_the_cap() {
        let t = throttle();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let in_flight: Vec<_> = (0..3).map(|_| t.begin("alice", a).unwrap()).collect();
        assert!(t.begin("alice", a).is_err());
        drop(in_flight); // never decided: taken back
        assert!(t.begin("alice", a).is_ok());
    }

    #[test]
    fn spraying_from_an_address_is_slowed_more_and_more_but_never_refused() {
        let t = LoginThrottle::new(LoginThrottleSettings {
            slow_down_after_failures: 100,
            ..throttle().settings
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for user in ["u1", "u2", "u3", "u4", "u5"] {
            let attempt = t.begin(user, a).unwrap();
            assert_eq!(attempt.wait_for_turn(), Duration::ZERO, "{user}");
            attempt.failed();
        }
        // Past the allowance: each turn further away, capped; never a refusal.
        let mut waits = Vec::new();
        for n in 0..8 {
            let attempt = t.begin(&format!("made-up-{n}"), a).unwrap();
            waits.push(attempt.wait_for_turn());
            attempt.failed();
        }
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert!(
            waits[2] > waits[1] + Duration::from_millis(500),
            "{waits:?}"
        );
        assert_eq!(*waits.last().unwrap(), Duration::from_secs(10));
        // The owner's correct password from the same address is let in, at its turn.
        let owner = t.begin("alice", a).unwrap();
        assert!(owner.wait_for_turn() <= Duration::from_secs(10));
        owner.succeeded();
        // Another address is not slowed at all.
        let other = t.begin("alice", "10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(other.wait_for_turn(), Duration::ZERO);
    }

    #[test]
    fn the_address_interval_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(250), Duration::from_secs(10));
        let intervals: Vec<_> = (0..8).map(|n| address_interval(base, max, n)).collect();
        assert_eq!(intervals[0], base);
        assert_eq!(intervals[1], base * 2);
        assert_eq!(intervals[3], base * 8);
        assert_eq!(intervals[7], max);
        assert_eq!(address_interval(base, max, usize::MAX), max);
    }

    #[test]
    fn success_clears_the_pair_and_does_not_count_for_the_address() {
        let t = throttle();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        t.begin("alice", a).unwrap().failed();
        t.begin("alice", a).unwrap().failed();
        t.begin("alice", a).unwrap().succeeded();
        t.begin("alice", a).unwrap().failed();
        assert!(t.begin("alice", a).is_ok());
        for _ in 0..3 {
            t.begin("bob", a).unwrap().succeeded();
        }
        // 3 failures of alice so far; bob's successes left the address below its allowance of 5.
        t.begin("carol", a).unwrap().failed();
        assert_eq!(t.begin("dave", a).unwrap().wait_for_turn(), Duration::ZERO);
    }
}
