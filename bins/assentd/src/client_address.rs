//! The address of the client a request comes from, when `assentd` may sit behind proxies.
//!
//! Per-client limits and the DAuth host list need the client's address. Without configured
//! proxies it is the TCP peer, and `X-Forwarded-For` is ignored (anyone can send it). When the
//! peer is a trusted proxy, the header is read from the right, skipping trusted proxies: the
//! first address that is not one is the client. Entries left of it were written by the client
//! itself and are never believed.

use ipnet::IpNet;
use std::net::IpAddr;

/// The proxies whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

/// A `trusted_proxies` entry that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (CIDR)")]
pub struct InvalidProxy(pub String);

impl TrustedProxies {
    /// Reads addresses (`10.0.0.7`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidProxy> {
        let networks = entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidProxy(entry.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|n| n.contains(&address))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` entry that is not a trusted proxy. `forwarded_for` holds
    /// every `X-Forwarded-For` header value, raw and in order: entries are split before they
    /// are decoded, so a client's undecodable bytes spoil only its own entry, never the one a
    /// proxy appended to the same line. An entry that is not an address where a trusted proxy
    /// should have written one means the chain cannot be followed: `None` (unknown). With
    /// every entry a trusted proxy, the request began at the leftmost; with none, at the peer.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let entries: Vec<&[u8]> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(|&b| b == b','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            client = parse_entry(entry)?;
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 address it carries.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// `192.0.2.7`, `2001:db8::1`, and the forms with a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry).ok()?.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|socket| canonical(socket.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn lines<'a>(values: &'a [&'a str]) -> Vec<&'a [u8]> {
        values.iter().map(|v| v.as_bytes()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(Some(ip("198.51.100.9")), lines(&["203.0.113.5"])),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(none.client(None, lines(&["203.0.113.5"])), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "2001:db8:ff::1"]).unwrap();
        let peer = Some(ip("10.1.2.3"));
        let client = |values: &[&str]| proxies.client(peer, lines(values));
        // The client wrote a fake first entry; the proxies appended what they saw.
        assert_eq!(
            client(&["1.1.1.1, 203.0.113.5, 10.9.9.9"]),
            Some(ip("203.0.113.5"))
        );
        // Several header lines read as one list.
        assert_eq!(
            client(&["1.1.1.1", "203.0.113.5:4711, 10.9.9.9"]),
            Some(ip("203.0.113.5"))
        );
        // No header: the request began at the proxy.
        assert_eq!(client(&[]), Some(ip("10.1.2.3")));
        // Every entry trusted: it began at the leftmost of them.
        assert_eq!(client(&["10.4.4.4, 10.5.5.5"]), Some(ip("10.4.4.4")));
        // Garbage where a proxy would have written an address: unknown, never a proxy's.
        assert_eq!(client(&["203.0.113.5, unknown, 10.9.9.9"]), None);
        assert_eq!(client(&["10.9.9.9, "]), None);
        // IPv6, bracketed with a port, and a v4-mapped peer.
        assert_eq!(
            proxies.client(
                Some(ip("::ffff:10.0.0.1")),
                lines(&["[2001:db8::42]:443, 2001:db8:ff::1"])
            ),
            Some(ip("2001:db8::42"))
        );
        // A peer that is not a proxy is believed over any header.
        assert_eq!(
            proxies.client(Some(ip("192.0.2.1")), lines(&["203.0.113.5"])),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn undecodable_bytes_spoil_only_the_clients_own_entry() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        // The client sent a byte that is not UTF-8; the proxy appended the real address to
        // the same line.
        let line: &[u8] = b"\xff\xfe, 203.0.113.5";
        assert_eq!(
            proxies.client(Some(ip("10.0.0.1")), [line]),
            Some(ip("203.0.113.5"))
        );
        let forged_last: &[u8] = b"203.0.113.5, \xff";
        assert_eq!(proxies.client(Some(ip("10.0.0.1")), [forged_last]), None);
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        assert!(TrustedProxies::parse(&["127.0.0.1", "::1", "172.16.0.0/12"]).is_ok());
        assert_eq!(
            TrustedProxies::parse(&["proxy.internal"]).unwrap_err(),
            InvalidProxy("proxy.internal".into())
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
