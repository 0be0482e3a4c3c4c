//! Destinations a line names (`<host>` and `<url>` arguments: ssh HOST, curl URL,
//! traceroute HOST, ipmitool -H HOST) judged against the session's network mode, so a line
//! that could only fail in the jail is refused with its reason instead. What a line does not
//! name (redirects, names resolved later) is left to the egress filter.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use super::denial::DenyReason;
use crate::policy::reach::{is_loopback, Proto};
use crate::policy::{Network, Profile};

/// A host as written, its address when it is one, and the port when the word says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Destination {
    pub host: String,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
}

impl Destination {
    /// Reads a `<host>` word or an `http(s)://` URL.
    pub(super) fn parse(word: &str) -> Destination {
        let lower = word.to_ascii_lowercase();
        let (authority, default_port) = if let Some(rest) = lower.strip_prefix("http://") {
            (&word[7..7 + authority_len(rest)], Some(80))
        } else if let Some(rest) = lower.strip_prefix("https://") {
            (&word[8..8 + authority_len(rest)], Some(443))
        } else {
            (word, None)
        };
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_port(host_port, default_port.is_some());
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.split('%').next().and_then(|h| h.parse::<IpAddr>().ok());
        Destination { host: host.to_string(), ip, port: port.or(default_port) }
    }

    fn is_local(&self) -> bool {
        self.ip.map_or_else(|| self.host.eq_ignore_ascii_case("localhost"), is_loopback)
    }
}

fn authority_len(rest: &str) -> usize {
    rest.find(['/', '?', '#']).unwrap_or(rest.len())
}

/// `host:port`, `[v6]:port`; a bare IPv6 address has no port (unless the word is a URL's).
fn split_port(text: &str, in_url: bool) -> (&str, Option<u16>) {
    if let Some(end) = text.strip_prefix('[').and_then(|t| t.find(']')) {
        let port = text[end + 2..].strip_prefix(':').and_then(|p| p.parse().ok());
        return (&text[..end + 2], port);
    }
    match text.rsplit_once(':') {
        Some((host, port)) if in_url || !host.contains(':') => (host, port.parse().ok()),
        _ => (text, None),
    }
}

/// Whether the session's network mode lets a command reach `word`.
pub(super) fn judge(profile: &Profile, word: &str) -> Result<(), DenyReason> {
    let dest = Destination::parse(word);
    let refuse = |why: &str| {
        Err(DenyReason::Unreachable {
            destination: word.to_string(),
            network: profile.network,
            why: why.into(),
        })
    };
    match profile.network {
        Network::Any => Ok(()),
        Network::None => refuse("reaches no host"),
        Network::Local if dest.is_local() => Ok(()),
        Network::Local => refuse("reaches only this host's loopback"),
        Network::Layer if dest.is_local() => Ok(()),
        // A name is resolved only when the command runs: the egress filter decides it then.
        Network::Layer => match dest.ip {
            None => Ok(()),
            Some(ip) => {
                let reached = profile.targets.iter().any(|t| {
                    t.net.contains(ip) && dest.port.is_none_or(|p| p == t.port && t.proto == Proto::Tcp)
                });
                if reached {
                    Ok(())
                } else if profile.targets.iter().any(|t| t.net.contains(ip)) {
                    refuse("reaches other ports of this host")
                } else {
                    refuse("reaches only the hosts of the system it lists")
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::reach::{Cidr, Target};
    use crate::policy::{Layer, PolicySet};

    fn profile(network: &str) -> Profile {
        let text = format!("network = \"{network}\"\n[layer.cps]\nfile_commands = [\"sudocat\"]\n");
        let set = PolicySet::from_sources(&[("P.toml".into(), text)]).expect("valid");
        let mut profile = set.profile(&["P".to_string()], Layer::Cps).expect("profile");
        let net = Cidr::parse("192.0.2.32/28").expect("cidr");
        profile.targets = vec![Target { net, port: 22, proto: Proto::Tcp }];
        profile
    }

    #[test]
    fn urls_and_hosts_give_their_host_and_port() {
        let d = Destination::parse("https://user@[2001:db8::1]:8443/x?y");
        assert_eq!((d.host.as_str(), d.port), ("[2001:db8::1]", Some(8443)));
        assert_eq!(d.ip, "2001:db8::1".parse().ok());
        let d = Destination::parse("HTTP://198.18.0.1/a");
        assert_eq!((d.ip, d.port), ("198.18.0.1".parse().ok(), Some(80)));
        let d = Destination::parse("2001:db8::5");
        assert_eq!((d.ip, d.port), ("2001:db8::5".parse().ok(), None));
        let d = Destination::parse("fe80::1%eth0");
        assert_eq!(d.ip, "fe80::1".parse().ok());
        let d = Destination::parse("cell01");
        assert_eq!((d.ip, d.port), (None, None));
    }

    #[test]
    fn each_mode_reaches_what_it_says() {
        let none = profile("none");
        assert!(judge(&none, "127.0.0.1").is_err(), "none reaches nothing, not even loopback");
        let local = profile("local");
        assert_eq!(judge(&local, "http://localhost:8080/"), Ok(()));
        assert_eq!(judge(&local, "::1"), Ok(()));
        let err = judge(&local, "http://198.18.0.1/").expect_err("remote");
        assert_eq!(
            err.to_string(),
            "`http://198.18.0.1/` is not reachable: the network policy (local) reaches only this host's loopback"
        );
        assert!(judge(&local, "cell01").is_err(), "a name other than localhost is not loopback");
        let layer = profile("layer");
        assert_eq!(judge(&layer, "192.0.2.33"), Ok(()));
        assert!(judge(&layer, "https://192.0.2.33/").is_err(), "port 443 is not listed");
        assert!(judge(&layer, "198.18.0.1").is_err());
        assert_eq!(judge(&layer, "cell01"), Ok(()), "a name is left to the egress filter");
        assert_eq!(judge(&profile("any"), "198.18.0.1"), Ok(()));
    }
}
