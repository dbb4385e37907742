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

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|n| n.contains(&address))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` entry that is not a trusted proxy. `forwarded_for` holds
    /// every `X-Forwarded-For` header value, in order. An entry that is not an address stops
    /// the walk at the proxy that wrote it.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(address) = parse_entry(entry) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
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
fn parse_entry(entry: &str) -> Option<IpAddr> {
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

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(Some(ip("198.51.100.9")), ["203.0.113.5"]),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(none.client(None, ["203.0.113.5"]), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "2001:db8:ff::1"]).unwrap();
        let peer = Some(ip("10.1.2.3"));
        // The client wrote a fake first entry; the proxies appended what they saw.
        assert_eq!(
            proxies.client(peer, ["1.1.1.1, 203.0.113.5, 10.9.9.9"]),
            Some(ip("203.0.113.5"))
        );
        // Several header lines read as one list.
        assert_eq!(
            proxies.client(peer, ["1.1.1.1", "203.0.113.5:4711, 10.9.9.9"]),
            Some(ip("203.0.113.5"))
        );
        // No header: the proxy itself.
        assert_eq!(proxies.client(peer, []), Some(ip("10.1.2.3")));
        // Everything trusted: the leftmost trusted hop.
        assert_eq!(
            proxies.client(peer, ["10.4.4.4, 10.5.5.5"]),
            Some(ip("10.4.4.4"))
        );
        // Garbage stops the walk at the proxy that passed it on.
        assert_eq!(
            proxies.client(peer, ["203.0.113.5, unknown, 10.9.9.9"]),
            Some(ip("10.9.9.9"))
        );
        // IPv6, bracketed with a port, and a v4-mapped peer.
        assert_eq!(
            proxies.client(
                Some(ip("::ffff:10.0.0.1")),
                ["[2001:db8::42]:443, 2001:db8:ff::1"]
            ),
            Some(ip("2001:db8::42"))
        );
        // A peer that is not a proxy is believed over any header.
        assert_eq!(
            proxies.client(Some(ip("192.0.2.1")), ["203.0.113.5"]),
            Some(ip("192.0.2.1"))
        );
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
