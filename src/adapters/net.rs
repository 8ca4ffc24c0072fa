//! IP networks (`10.0.0.0/8`, `::1`), and the client address of a request that came through
//! reverse proxies (`BRIDGE_TRUSTED_PROXIES`).

use std::net::IpAddr;
use std::str::FromStr;

/// An address with a prefix length; a bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// Why a network entry cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNetwork {
    #[error("not an IP network")]
    NotANetwork,
    #[error("bad prefix length")]
    BadPrefix,
    #[error("prefix length too long")]
    PrefixTooLong,
}

impl IpNetwork {
    pub fn host(addr: IpAddr) -> IpNetwork {
        let addr = addr.to_canonical();
        IpNetwork {
            addr,
            prefix: max_prefix(addr),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (ip.to_canonical(), self.addr) {
            (IpAddr::V4(ip), IpAddr::V4(net)) => {
                prefix_matches(&ip.octets(), &net.octets(), self.prefix)
            }
            (IpAddr::V6(ip), IpAddr::V6(net)) => {
                prefix_matches(&ip.octets(), &net.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    /// `10.0.0.0/8`, `10.1.2.3`, `::1`, `[::1]`, `fd00::/8`.
    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let Some((addr, prefix)) = entry.split_once('/') else {
            let unbracketed = entry.trim_start_matches('[').trim_end_matches(']');
            let addr = unbracketed
                .parse()
                .map_err(|_| InvalidNetwork::NotANetwork)?;
            return Ok(IpNetwork::host(addr));
        };
        let addr: IpAddr = addr.parse().map_err(|_| InvalidNetwork::NotANetwork)?;
        let prefix: u8 = prefix.parse().map_err(|_| InvalidNetwork::BadPrefix)?;
        if prefix > max_prefix(addr) {
            return Err(InvalidNetwork::PrefixTooLong);
        }
        Ok(IpNetwork {
            addr: addr.to_canonical(),
            prefix,
        })
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn prefix_matches(ip: &[u8], network: &[u8], prefix: u8) -> bool {
    let full_bytes = usize::from(prefix / 8);
    let rest_bits = prefix % 8;
    if ip[..full_bytes] != network[..full_bytes] {
        return false;
    }
    if rest_bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest_bits);
    ip[full_bytes] & mask == network[full_bytes] & mask
}

/// The reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed. Empty = none:
/// the connecting address is the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNetwork>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse()
                    .map_err(|e| format!("entry `{entry}`: {e} (an address or CIDR network)"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client behind the proxies: the connecting address unless it is a trusted proxy;
    /// then, walking the forwarded hops (`hops`, nearest last) from the right, the first one
    /// that is not a trusted proxy. A hop that is not an address (`unknown`, an obfuscated
    /// name, garbage) ends the walk at the proxy that reported it: nothing left of it can be
    /// believed.
    pub fn client_address(&self, peer: IpAddr, hops: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        for hop in hops.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match parse_hop(hop) {
                Some(ip) => client = ip.to_canonical(),
                None => break,
            }
        }
        client
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`, possibly quoted.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (ip, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The hops of `Forwarded` (RFC 7239 `for=` parameters) when the request has that header, else
/// of `X-Forwarded-For`, in the order the proxies added them (header lines in order).
pub fn forwarded_hops<'a>(forwarded: &[&'a str], x_forwarded_for: &[&'a str]) -> Vec<&'a str> {
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.split_once('=')?;
                        name.trim().eq_ignore_ascii_case("for").then_some(value)
                    })
                    // An element without `for=` names no client: not an address.
                    .unwrap_or("unknown")
            })
            .collect();
    }
    x_forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .collect()
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_rest() {
        assert_eq!(connection_cap(20_000, 16), 19_728);
        assert_eq!(connection_cap(1_024, 16), 752);
        assert_eq!(connection_cap(100, 16), 64, "never below a floor");
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let limit = raise_open_file_limit().unwrap();
        assert!(limit.now >= limit.before);
        assert_eq!(raise_open_file_limit().unwrap().before, limit.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match_by_prefix() {
        let net: IpNetwork = "10.1.0.0/20".parse().unwrap();
        assert!(net.contains(ip("10.1.15.255")));
        assert!(!net.contains(ip("10.1.16.0")));
        assert!(!net.contains(ip("::1")));
        let one: IpNetwork = "[::1]".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        // IPv4-mapped IPv6 is the same host as its IPv4 form.
        let v4: IpNetwork = "127.0.0.1".parse().unwrap();
        assert!(v4.contains(ip("::ffff:127.0.0.1")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/x", "host", "1.2.3.4/"] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_trusted_proxies_are_believed_and_the_right_most_untrusted_hop_wins() {
        let proxies: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        let proxy = ip("10.0.0.2");
        // Not from a proxy: the header is whatever the client wrote.
        assert_eq!(
            proxies.client_address(ip("198.51.100.7"), &["203.0.113.1"]),
            ip("198.51.100.7")
        );
        // The client spoofed a left-most hop; the proxy appended the real one.
        assert_eq!(
            proxies.client_address(proxy, &["1.2.3.4", "203.0.113.9", "10.0.0.3"]),
            ip("203.0.113.9")
        );
        // Every hop a proxy: the left-most one.
        assert_eq!(
            proxies.client_address(proxy, &["10.9.9.9", "10.0.0.3"]),
            ip("10.9.9.9")
        );
        // No header, or a hop that is no address: the proxy itself.
        assert_eq!(proxies.client_address(proxy, &[]), proxy);
        assert_eq!(
            proxies.client_address(proxy, &["1.2.3.4", "unknown"]),
            proxy
        );
        // Nobody trusted: the peer.
        assert_eq!(
            TrustedProxies::default().client_address(proxy, &["203.0.113.9"]),
            proxy
        );
    }

    #[test]
    fn hops_come_from_forwarded_else_x_forwarded_for() {
        let forwarded = [
            r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https"#,
            "by=10.0.0.1;For=198.51.100.1:80",
            "proto=http",
        ];
        let hops = forwarded_hops(&forwarded, &["203.0.113.1"]);
        let parsed: Vec<_> = hops.iter().map(|h| parse_hop(h)).collect();
        assert_eq!(
            parsed,
            vec![
                Some(ip("192.0.2.43")),
                Some(ip("2001:db8:cafe::17")),
                Some(ip("198.51.100.1")),
                None
            ]
        );
        assert_eq!(
            forwarded_hops(&[], &["203.0.113.1, 10.0.0.1", " 10.0.0.2"]),
            vec!["203.0.113.1", " 10.0.0.1", " 10.0.0.2"]
        );
        assert!(
            "10.0.0.0/8, bad".parse::<TrustedProxies>().is_err(),
            "every entry is checked"
        );
    }
}

/// The open-file limit of the process: what it was, and what it is after [`raise_open_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub before: u64,
    pub now: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit: every connection is a file, and the soft
/// limit many systems start with (1,024) lets a crowd of slow connections starve real clients.
pub fn raise_open_file_limit() -> std::io::Result<OpenFileLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct given, nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(OpenFileLimit {
        before,
        now: limit.rlim_cur,
    })
}

/// Files kept free of client connections: the database pool, outbound calls (ConnectWise, KSC,
/// one connection per virtual server read at once), log and data files.
pub const RESERVED_FILES: u64 = 256;

/// The connections served at once so that `open_files` always leaves room for the rest.
pub fn connection_cap(open_files: u64, db_pool_size: u32) -> usize {
    let reserved = RESERVED_FILES + u64::from(db_pool_size);
    open_files.saturating_sub(reserved).max(64) as usize
}
