//! Outbound HTTP: the allow-list (`BRIDGE_OUTBOUND_ALLOW`) and the one way to build an HTTP client.
//!
//! The allow-list is enforced on the address actually dialled: a DNS resolver installed in the client
//! drops forbidden addresses, so a hostname that points somewhere unexpected (or changes between check
//! and use) cannot get through. IP literals in URLs never reach a resolver, so callers check them with
//! [`OutboundPolicy::check_url`] before sending.

pub mod dial;
pub mod redact;
pub mod retry;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::adapters::net::IpNetwork;
use url::Url;

/// Environment variable holding the comma-separated allow-list.
pub const OUTBOUND_ALLOW_ENV: &str = "BRIDGE_OUTBOUND_ALLOW";

/// Where outbound connections may go. Empty = anywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    Network(IpNetwork),
    /// Lower-case hostname without a trailing dot: whatever it resolves to is allowed.
    Host(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {OUTBOUND_ALLOW_ENV} entry `{entry}`: {reason}")]
pub struct InvalidPolicyEntry {
    pub entry: String,
    pub reason: String,
}

/// A connection the allow-list forbids.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("outbound connection to {target} is not allowed by {OUTBOUND_ALLOW_ENV}")]
pub struct OutboundBlocked {
    pub target: String,
}

impl FromStr for OutboundPolicy {
    type Err = InvalidPolicyEntry;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let rules = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Rule::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }
}

impl Rule {
    fn parse(entry: &str) -> Result<Self, InvalidPolicyEntry> {
        let invalid = |reason: &dyn std::fmt::Display| InvalidPolicyEntry {
            entry: entry.to_owned(),
            reason: reason.to_string(),
        };
        match entry.parse::<IpNetwork>() {
            Ok(network) => return Ok(Rule::Network(network)),
            Err(e) if entry.contains('/') => return Err(invalid(&e)),
            Err(_) => {}
        }
        let host = normalize_host(entry);
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(invalid(&"not an IP, network or hostname"));
        }
        Ok(Rule::Host(host))
    }
}

impl OutboundPolicy {
    pub fn allows_everything(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allows_everything()
            || self.rules.iter().any(|rule| match rule {
                Rule::Network(network) => network.contains(ip),
                Rule::Host(_) => false,
            })
    }

    pub fn allows_host_name(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.rules
            .iter()
            .any(|rule| matches!(rule, Rule::Host(allowed) if *allowed == host))
    }

    /// Rejects URLs whose host is an IP literal outside the allow-list (the resolver never sees those).
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundBlocked> {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.allows_ip(literal) {
            Ok(())
        } else {
            Err(OutboundBlocked {
                target: literal.to_string(),
            })
        }
    }

    /// Keeps the resolved addresses this policy allows for `host`.
    fn filter_resolved(
        &self,
        host: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, OutboundBlocked> {
        if self.allows_everything() || self.allows_host_name(host) {
            return Ok(addrs);
        }
        let allowed: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|addr| self.allows_ip(addr.ip()))
            .collect();
        if allowed.is_empty() {
            Err(OutboundBlocked {
                target: host.to_owned(),
            })
        } else {
            Ok(allowed)
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// System DNS, filtered through the policy.
struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.filter_resolved(&host, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Everything that shapes an outbound HTTP client.
#[derive(Clone, Debug)]
pub struct HttpClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Extra trusted CA certificate(s) in PEM, for servers behind a private PKI.
    pub extra_ca_pem: Option<String>,
    /// Skips certificate verification (lab servers with self-signed certificates only).
    pub accept_invalid_certs: bool,
    pub policy: Arc<OutboundPolicy>,
}

impl Default for HttpClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            extra_ca_pem: None,
            accept_invalid_certs: false,
            policy: Arc::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    #[error("the extra CA certificate is not valid PEM")]
    InvalidCaPem(#[source] reqwest::Error),
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
}

pub fn build_http_client(opts: &HttpClientOptions) -> Result<reqwest::Client, HttpClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.request_timeout)
        // A proxy would be dialled instead of the target, hiding the target from the allow-list.
        .no_proxy()
        // Redirects could lead to IP literals the resolver never sees; API servers don't redirect.
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver {
            policy: opts.policy.clone(),
        }))
        .tls_danger_accept_invalid_certs(opts.accept_invalid_certs);
    if let Some(pem) = &opts.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(HttpClientError::InvalidCaPem)?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(HttpClientError::Build)
}

/// The first error of type `E` in the cause chain of a request error (e.g. [`OutboundBlocked`]
/// from the resolver).
pub fn find_cause<E: std::error::Error + 'static>(err: &reqwest::Error) -> Option<&E> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<E>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(list: &str) -> OutboundPolicy {
        list.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_policy_allows_everything() {
        for list in ["", " , "] {
            let p = policy(list);
            assert!(p.allows_everything());
            assert!(p.allows_ip(ip("8.8.8.8")));
        }
    }

    #[test]
    fn networks_match_by_prefix() {
        let p = policy("127.0.0.0/8, 10.1.0.0/20, ::1/128, 192.168.1.7");
        assert!(p.allows_ip(ip("127.3.4.5")));
        assert!(p.allows_ip(ip("10.1.15.255")));
        assert!(!p.allows_ip(ip("10.1.16.0")));
        assert!(p.allows_ip(ip("::1")));
        assert!(!p.allows_ip(ip("::2")));
        assert!(p.allows_ip(ip("192.168.1.7")));
        assert!(!p.allows_ip(ip("192.168.1.8")));
        // IPv4-mapped IPv6 is the same host as its IPv4 form.
        assert!(p.allows_ip(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn zero_prefix_allows_the_whole_family() {
        let p = policy("0.0.0.0/0");
        assert!(p.allows_ip(ip("203.0.113.9")));
        assert!(!p.allows_ip(ip("2001:db8::1")));
    }

    #[test]
    fn invalid_entries_are_rejected() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
            "bad host!",
            "1.2.3.4/",
        ] {
            assert!(bad.parse::<OutboundPolicy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hostnames_allow_whatever_they_resolve_to() {
        let p = policy("Manage.Example.COM.");
        assert!(p.allows_host_name("manage.example.com"));
        let resolved = vec![SocketAddr::from(([203, 0, 113, 5], 0))];
        assert_eq!(
            p.filter_resolved("manage.example.com", resolved.clone()),
            Ok(resolved.clone())
        );
        assert!(p.filter_resolved("other.example.com", resolved).is_err());
    }

    #[test]
    fn resolved_addresses_are_filtered() {
        let p = policy("127.0.0.0/8");
        let resolved = vec![
            SocketAddr::from(([10, 0, 0, 1], 0)),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ];
        assert_eq!(
            p.filter_resolved("localhost", resolved),
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], 0))])
        );
    }

    #[test]
    fn ip_literals_in_urls_are_checked() {
        let p = policy("127.0.0.0/8");
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(p.check_url(&url("http://127.0.0.1:8080/x")).is_ok());
        assert!(p.check_url(&url("https://example.com/")).is_ok());
        assert_eq!(
            p.check_url(&url("http://[::1]/")),
            Err(OutboundBlocked {
                target: "::1".into()
            })
        );
        assert!(p.check_url(&url("http://10.0.0.1/")).is_err());
    }
}
