//! Which IP addresses an outbound request may reach.
//!
//! A **public** address is one outside every range of the SSRF list: loopback, private,
//! link-local (cloud metadata lives at 169.254.169.254), CGNAT, "this network", documentation,
//! benchmarking and reserved ranges, multicast and broadcast, and the IPv4-mapped, IPv4-compatible,
//! NAT64 and 6to4 forms of all of them. Only public addresses are called unless the operator
//! **allowed** a range ([`AddressRange`]), as tests allow `127.0.0.1`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address or a CIDR range, such as `127.0.0.1`, `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an IP address or CIDR range (such as 127.0.0.1 or 10.0.0.0/8)")]
pub struct BadRange(String);

impl FromStr for AddressRange {
    type Err = BadRange;
    fn from_str(text: &str) -> Result<AddressRange, BadRange> {
        let bad = || BadRange(text.to_owned());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(bad());
        }
        Ok(AddressRange { network, prefix })
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl AddressRange {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => prefix_match(&network.octets(), &address.octets(), self.prefix),
            (IpAddr::V6(network), IpAddr::V6(address)) => prefix_match(&network.octets(), &address.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_match(network: &[u8], address: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if network[..whole] != address[..whole] {
        return false;
    }
    rest == 0 || (network[whole] ^ address[whole]) >> (8 - rest) == 0
}

/// The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64 or 6to4), or the
/// address itself.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = v6.octets();
    let tail = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    let segments = v6.segments();
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; :: and ::1 are themselves).
    if segments[..5] == [0; 5] && (segments[5] == 0xffff || (segments[5] == 0 && u32::from(tail) > 1)) {
        return Some(tail);
    }
    // 64:ff9b::a.b.c.d (NAT64).
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    // 2002:AABB:CCDD::/48 (6to4) embeds the IPv4 address in its second and third segments.
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// Why an address is not public, or `None` when it is.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match canonical(address) {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = address.octets();
    let class = match (a, b) {
        (0, _) => "the 'this network' range 0.0.0.0/8",
        (10, _) => "a private address (10.0.0.0/8)",
        (100, 64..=127) => "a carrier-grade NAT address (100.64.0.0/10)",
        (127, _) => "a loopback address",
        (169, 254) => "a link-local address (169.254.0.0/16, where cloud metadata lives)",
        (172, 16..=31) => "a private address (172.16.0.0/12)",
        (192, 168) => "a private address (192.168.0.0/16)",
        (192, 0) if c == 0 || c == 2 => "a reserved address (192.0.0.0/24 or 192.0.2.0/24)",
        (198, 18..=19) => "a benchmarking address (198.18.0.0/15)",
        (198, 51) if c == 100 => "a documentation address (198.51.100.0/24)",
        (203, 0) if c == 113 => "a documentation address (203.0.113.0/24)",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved or broadcast address (240.0.0.0/4)",
        _ => return None,
    };
    Some(class)
}

fn non_public_v6(address: Ipv6Addr) -> Option<&'static str> {
    let first = address.segments()[0];
    let class = if address.is_unspecified() {
        "the unspecified address ::"
    } else if address.is_loopback() {
        "a loopback address"
    } else if first & 0xfe00 == 0xfc00 {
        "a unique local address (fc00::/7)"
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        "a link-local or site-local address"
    } else if first & 0xff00 == 0xff00 {
        "a multicast address"
    } else if first == 0x2001 && address.segments()[1] == 0x0db8 {
        "a documentation address (2001:db8::/32)"
    } else if first == 0x0100 && address.segments()[1..4] == [0, 0, 0] {
        "a discard-only address (100::/64)"
    } else {
        return None;
    };
    Some(class)
}
