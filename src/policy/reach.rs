//! Where `network = "layer"` may go: a profile names layers and ports (`reach =
//! ["cell:22"]`), the host's cage.toml lists the addresses of each layer of the system
//! (`[system] cell = ["192.0.2.0/28"]`); together they give the targets the egress filter
//! and the decision allow. Pure: parsing and matching only.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::types::Layer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Proto {
    Tcp,
    Udp,
}

/// One `reach` entry: a port of the hosts of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reach {
    pub layer: Layer,
    pub port: u16,
    pub proto: Proto,
}

impl Reach {
    /// `LAYER:PORT` (TCP) or `LAYER:PORT/udp`.
    pub fn parse(text: &str) -> Result<Reach, String> {
        let shape = || format!("`{text}` is not LAYER:PORT or LAYER:PORT/udp (e.g. `cell:22`)");
        let (layer, rest) = text.split_once(':').ok_or_else(shape)?;
        let layer = Layer::parse(layer)
            .ok_or_else(|| format!("unknown layer `{layer}` in `{text}` (cps, host, cell or guest_vm)"))?;
        let (port, proto) = match rest.split_once('/') {
            None => (rest, Proto::Tcp),
            Some((port, "tcp")) => (port, Proto::Tcp),
            Some((port, "udp")) => (port, Proto::Udp),
            Some(_) => return Err(shape()),
        };
        let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(shape)?;
        Ok(Reach { layer, port, proto })
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proto {
            Proto::Tcp => write!(f, "{}:{}", self.layer, self.port),
            Proto::Udp => write!(f, "{}:{}/udp", self.layer, self.port),
        }
    }
}

/// An address block: `192.0.2.0/24`, `2001:db8::/64`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() && p.len() <= 3 => {
                p.parse().ok()?
            }
            Some(_) => return None,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// The address bytes and the mask, each 4 or 16 bytes long.
    pub fn bytes_and_mask(&self) -> (Vec<u8>, Vec<u8>) {
        let bytes = match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mask = (0..bytes.len())
            .map(|i| {
                let bits = (self.prefix as usize).saturating_sub(i * 8).min(8);
                (0xff_u16 << (8 - bits)) as u8
            })
            .collect();
        (bytes, mask)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, mask) = self.bytes_and_mask();
        let bytes = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(a)) => a.octets().to_vec(),
            (IpAddr::V6(_), IpAddr::V6(a)) => a.octets().to_vec(),
            _ => return false,
        };
        bytes.iter().zip(&net).zip(&mask).all(|((b, n), m)| b & m == n & m)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        match self.prefix == full {
            true => write!(f, "{}", self.addr),
            false => write!(f, "{}/{}", self.addr, self.prefix),
        }
    }
}

/// The addresses of the hosts of each layer of the system (cage.toml `[system]`).
pub type SystemHosts = BTreeMap<Layer, Vec<Cidr>>;

/// An address block and a port a `layer` command may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub net: Cidr,
    pub port: u16,
    pub proto: Proto,
}

/// The targets of `reach` on this system, each once, in a stable order.
pub fn targets(reach: &[Reach], system: &SystemHosts) -> Vec<Target> {
    let mut targets: Vec<Target> = reach
        .iter()
        .flat_map(|r| {
            let nets = system.get(&r.layer).map(Vec::as_slice).unwrap_or_default();
            nets.iter().map(|net| Target { net: *net, port: r.port, proto: r.proto })
        })
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

/// Loopback as the egress filter has it: 127/8, ::1 and IPv4-mapped 127/8.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.octets()[0] == 127,
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.octets()[0] == 127),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_entries_name_a_layer_and_a_port() {
        assert_eq!(Reach::parse("cell:22"), Ok(Reach { layer: Layer::Cell, port: 22, proto: Proto::Tcp }));
        assert_eq!(Reach::parse("host:623/udp").map(|r| r.proto), Ok(Proto::Udp));
        assert_eq!(Reach::parse("cell:22").map(|r| r.to_string()), Ok("cell:22".into()));
        for bad in ["cell", "cell:0", "cell:65536", "cel:22", "cell:22/icmp", "cell:x", ":22"] {
            assert!(Reach::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let net = Cidr::parse("192.0.2.16/28").expect("cidr");
        assert!(net.contains("192.0.2.17".parse().expect("ip")));
        assert!(!net.contains("192.0.2.32".parse().expect("ip")));
        assert!(!net.contains("::ffff:192.0.2.17".parse().expect("ip")), "families never mix");
        let one = Cidr::parse("2001:db8::1").expect("cidr");
        assert_eq!(one.prefix, 128);
        assert!(one.contains("2001:db8::1".parse().expect("ip")));
        assert!(!one.contains("2001:db8::2".parse().expect("ip")));
        assert_eq!(Cidr::parse("10.0.0.0/8").map(|c| c.bytes_and_mask().1), Some(vec![255, 0, 0, 0]));
        assert_eq!(Cidr::parse("10.0.0.0/12").map(|c| c.bytes_and_mask().1[1]), Some(0xf0));
        for bad in ["10.0.0.0/33", "10.0.0/8", "host", "10.0.0.0/", "10.0.0.0/+8", "::/129"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn targets_are_reach_times_the_system_addresses() {
        let system = SystemHosts::from([
            (Layer::Cell, vec![Cidr::parse("192.0.2.32/28").expect("cidr")]),
            (Layer::Host, vec![Cidr::parse("192.0.2.1").expect("cidr")]),
        ]);
        let reach = [Reach::parse("cell:22").expect("r"), Reach::parse("cps:22").expect("r")];
        let found = targets(&reach, &system);
        assert_eq!(found.len(), 1, "cps lists no address: it reaches nothing");
        assert_eq!(found[0].net.to_string(), "192.0.2.32/28");
    }

    #[test]
    fn loopback_is_what_the_filter_calls_local() {
        for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["128.0.0.1", "::2", "::ffff:10.0.0.1", "198.18.0.1"] {
            assert!(!is_loopback(ip.parse().expect("ip")), "{ip}");
        }
    }
}
