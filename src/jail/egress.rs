//! Egress filtering for `network = "local"` and `"layer"`: cgroup-BPF programs that the
//! kernel runs on the destination it has already copied (no time-of-check race). This file
//! builds the programs; `egress_cgroup.rs` keeps the cgroup they are attached to, which every
//! jail of that mode is born in.
//!
//! Two walls. The socket-address programs (connect4/6, UDP sendmsg4/6) refuse a connection
//! or datagram at once with EPERM. The packet program (cgroup inet egress) sees every IP
//! packet any socket of the jail sends, raw and ICMP ping sockets included, and drops what
//! leaves the mode. Both allow:
//! - local: loopback only (127/8, ::1, ::ffff:127/104);
//! - layer: loopback, the targets (`reach` on cage.toml's `[system]` addresses: TCP or UDP to
//!   the port, ICMP echo and errors to the host), and port 53 to the IPv4 name servers of
//!   /etc/resolv.conf.
//!
//! Each refusal is counted in a map keyed by the jail's cgroup id (connections and packets,
//! and the last destination), which the monitor reads after each line.
#![forbid(unsafe_code)]

use std::fs;
use std::net::IpAddr;

use super::bpf_asm::*;
use super::egress_rules::*;
pub use super::egress_rules::{EgressRule, KEY_SIZE, VALUE_SIZE};
use crate::policy::reach::Target;
use crate::policy::Network;
use crate::sys::BpfInsn;

pub const PROG_TYPE_CGROUP_SKB: u32 = 8;
pub const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
pub const INET_EGRESS: u32 = 1;
pub const INET4_CONNECT: u32 = 10;
pub const INET6_CONNECT: u32 = 11;
pub const UDP4_SENDMSG: u32 = 14;
pub const UDP6_SENDMSG: u32 = 15;
pub const MAP_TYPE_LRU_HASH: u32 = 9;

/// The three programs of a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SockV4,
    SockV6,
    Packets,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::SockV4, Kind::SockV6, Kind::Packets];

    pub fn prog_type(self) -> u32 {
        match self {
            Kind::Packets => PROG_TYPE_CGROUP_SKB,
            _ => PROG_TYPE_CGROUP_SOCK_ADDR,
        }
    }
}

/// Where each program is attached.
pub const ATTACH_POINTS: [(u32, Kind); 5] = [
    (INET4_CONNECT, Kind::SockV4),
    (UDP4_SENDMSG, Kind::SockV4),
    (INET6_CONNECT, Kind::SockV6),
    (UDP6_SENDMSG, Kind::SockV6),
    (INET_EGRESS, Kind::Packets),
];

/// The rule for a network mode and its targets; `None` where no filter applies.
pub fn rule_for(network: Network, targets: &[Target]) -> Option<EgressRule> {
    match network {
        Network::Local => Some(EgressRule::default()),
        Network::Layer => Some(EgressRule { targets: targets.to_vec(), dns: name_servers() }),
        Network::None | Network::Any => None,
    }
}

fn name_servers() -> Vec<[u8; 4]> {
    let text = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let servers = text.lines().filter_map(|l| l.strip_prefix("nameserver")).map(str::trim);
    servers.filter_map(|s| s.parse::<std::net::Ipv4Addr>().ok()).map(|ip| ip.octets()).collect()
}

/// The program of `kind` for `rule`, counting into the map open at `map_fd` (0 to hash it).
pub fn program(kind: Kind, rule: &EgressRule, map_fd: i32) -> Vec<BpfInsn> {
    match kind {
        Kind::SockV4 => sock_v4(rule, map_fd),
        Kind::SockV6 => sock_v6(rule, map_fd),
        Kind::Packets => super::egress_packets::program(rule, map_fd),
    }
}

/// connect4 and sendmsg4.
fn sock_v4(rule: &EgressRule, map_fd: i32) -> Vec<BpfInsn> {
    let mut a = Asm::default();
    let allow = a.label();
    a.mov(R6, R1);
    a.load(Size::W, R2, R6, USER_IP4);
    loopback4(&mut a, allow);
    a.load(Size::W, R4, R6, USER_PORT);
    a.load(Size::W, R5, R6, SOCK_TYPE);
    rules_v4(&mut a, rule, false, allow);
    refuse_sock(&mut a, map_fd, 4, USER_IP4, 1);
    a.place(allow);
    a.ret(1);
    a.finish()
}

/// connect6 and sendmsg6: ::1 and IPv4-mapped loopback are local; other IPv4-mapped
/// addresses meet the IPv4 rules.
fn sock_v6(rule: &EgressRule, map_fd: i32) -> Vec<BpfInsn> {
    let mut a = Asm::default();
    let (allow, native, maybe_lo) = (a.label(), a.label(), a.label());
    a.mov(R6, R1);
    a.load(Size::W, R4, R6, USER_PORT);
    a.load(Size::W, R5, R6, SOCK_TYPE);
    a.load(Size::W, R2, R6, USER_IP6);
    a.jne32(R2, 0, native);
    a.load(Size::W, R2, R6, USER_IP6 + 4);
    a.jne32(R2, 0, native);
    a.load(Size::W, R2, R6, USER_IP6 + 8);
    a.jeq32(R2, 0, maybe_lo);
    a.jne32(R2, word(&[0, 0, 0xff, 0xff]), native);
    a.load(Size::W, R2, R6, USER_IP6 + 12);
    loopback4(&mut a, allow);
    rules_v4(&mut a, rule, false, allow);
    a.goto(native);
    a.place(maybe_lo);
    a.load(Size::W, R2, R6, USER_IP6 + 12);
    a.jeq32(R2, word(&[0, 0, 0, 1]), allow);
    a.place(native);
    rules_v6(&mut a, rule, false, R6, USER_IP6, allow);
    refuse_sock(&mut a, map_fd, 6, USER_IP6, 4);
    a.place(allow);
    a.ret(1);
    a.finish()
}

fn refuse_sock(a: &mut Asm, map_fd: i32, family: i32, addr_at: i16, words: i16) {
    start_value(a, family);
    a.load(Size::W, R1, R6, USER_PORT);
    set_port_from_r1(a);
    copy_addr(a, R6, addr_at, words);
    count_and_refuse(a, map_fd, CONNECTIONS, false);
}

/// A refusal as the map records it: how many, and the last destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub connections: u32,
    pub packets: u32,
    pub destination: String,
}

impl Refused {
    /// Reads a map value (`None` when it counts nothing).
    pub fn from_value(value: &[u8; VALUE_SIZE]) -> Option<Refused> {
        let u32_at = |at: usize| u32::from_le_bytes([value[at], value[at + 1], value[at + 2], value[at + 3]]);
        let (connections, packets) = (u32_at(0), u32_at(4));
        if connections == 0 && packets == 0 {
            return None;
        }
        let port = u16::from_be_bytes([value[12], value[13]]);
        let addr: Option<IpAddr> = match u32_at(8) {
            4 => Some(IpAddr::from([value[16], value[17], value[18], value[19]])),
            6 => <[u8; 16]>::try_from(&value[16..32]).ok().map(IpAddr::from),
            _ => None,
        };
        let destination = match (addr, port) {
            (None, _) => "an unknown destination".to_string(),
            (Some(ip), 0) => ip.to_string(),
            (Some(IpAddr::V6(ip)), port) => format!("[{ip}]:{port}"),
            (Some(ip), port) => format!("{ip}:{port}"),
        };
        Some(Refused { connections, packets, destination })
    }
}

#[cfg(test)]
#[path = "egress_tests.rs"]
mod tests;
