//! The pieces both kinds of egress program are built from: the layout of the map's value
//! and of the stack, the rule (what may be reached besides loopback), the IPv4 and IPv6 rule
//! checks, and the refusal that counts what it refused.
#![forbid(unsafe_code)]

use super::bpf_asm::*;
use crate::policy::reach::{Proto, Target};

/// The map's value: refused connections, refused packets, then the last destination.
pub const VALUE_SIZE: usize = 32;
pub const KEY_SIZE: usize = 8;
pub(super) const CONNECTIONS: i16 = 0;
pub(super) const PACKETS: i16 = 4;
pub(super) const FAMILY: i16 = 8;
pub(super) const PORT: i16 = 12;
pub(super) const ADDR: i16 = 16;

// struct bpf_sock_addr and struct __sk_buff offsets.
pub(super) const USER_IP4: i16 = 4;
pub(super) const USER_IP6: i16 = 8;
pub(super) const USER_PORT: i16 = 24;
pub(super) const SOCK_TYPE: i16 = 32;
pub(super) const SKB_PROTOCOL: i16 = 16;

// Helpers.
pub(super) const MAP_LOOKUP: i32 = 1;
pub(super) const MAP_UPDATE: i32 = 2;
pub(super) const SKB_LOAD_BYTES: i32 = 26;
pub(super) const SKB_CGROUP_ID: i32 = 79;
pub(super) const CURRENT_CGROUP_ID: i32 = 80;

// The stack: the key, the value being built, the packet's IP header and its ports.
pub(super) const KEY_AT: i16 = -8;
pub(super) const VALUE_AT: i16 = -48;
pub(super) const HEADER_AT: i16 = -88;
pub(super) const PORTS_AT: i16 = -96;

/// A 16-bit port as the kernel keeps it (network order), read as a little-endian u32.
pub(super) fn port_be(port: u16) -> i32 {
    i32::from(port.swap_bytes())
}

/// Four address bytes as a little-endian u32 read sees them.
pub(super) fn word(bytes: &[u8]) -> i32 {
    i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// What may be reached besides loopback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EgressRule {
    pub targets: Vec<Target>,
    /// IPv4 name servers, reachable on port 53.
    pub dns: Vec<[u8; 4]>,
}

impl EgressRule {
    fn targets_v4(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(|t| t.net.addr.is_ipv4())
    }
}

/// Jumps to `allow` when the address word in r2 (first octet in the low byte) is 127/8.
pub(super) fn loopback4(a: &mut Asm, allow: Label) {
    a.mov(R3, R2);
    a.and32(R3, 0xff);
    a.jeq32(R3, 127, allow);
}

/// The IPv4 targets and name servers, for the address in r2, the port in r4 (as stored) and
/// the protocol in r5 (`Some`: a packet's IP protocol, ICMP allowed to a target; `None`: the
/// socket type of a connect or sendmsg). Falls through when nothing matches.
pub(super) fn rules_v4(a: &mut Asm, rule: &EgressRule, packet: bool, allow: Label) {
    let (tcp, udp) = if packet { (6, 17) } else { (libc::SOCK_STREAM, libc::SOCK_DGRAM) };
    for target in rule.targets_v4() {
        let next = a.label();
        let (net, mask) = target.net.bytes_and_mask();
        a.mov(R3, R2);
        a.and32(R3, word(&mask));
        a.jne32(R3, word(&net) & word(&mask), next);
        if packet {
            a.jeq32(R5, 1, allow); // ICMP
        }
        a.jne32(R5, if target.proto == Proto::Tcp { tcp } else { udp }, next);
        a.jeq32(R4, port_be(target.port), allow);
        a.place(next);
    }
    if !rule.dns.is_empty() {
        let (not_dns, l4) = (a.label(), a.label());
        if packet {
            // Only a TCP or UDP header has a port where r4 was read from.
            a.jeq32(R5, 6, l4);
            a.jne32(R5, 17, not_dns);
            a.place(l4);
        }
        a.jne32(R4, port_be(53), not_dns);
        for server in &rule.dns {
            a.jeq32(R2, i32::from_le_bytes(*server), allow);
        }
        a.place(not_dns);
    }
}

/// The IPv6 targets for the address at `*(src + at)`, port in r4, protocol or type in r5.
pub(super) fn rules_v6(a: &mut Asm, rule: &EgressRule, packet: bool, src: u8, at: i16, allow: Label) {
    let (tcp, udp) = if packet { (6, 17) } else { (libc::SOCK_STREAM, libc::SOCK_DGRAM) };
    for target in rule.targets.iter().filter(|t| !t.net.addr.is_ipv4()) {
        let next = a.label();
        let (net, mask) = target.net.bytes_and_mask();
        for i in 0..4 {
            let m = word(&mask[4 * i..]);
            if m != 0 {
                a.load(Size::W, R3, src, at + 4 * i as i16);
                a.and32(R3, m);
                a.jne32(R3, word(&net[4 * i..]) & m, next);
            }
        }
        if packet {
            a.jeq32(R5, 58, allow); // ICMPv6
        }
        a.jne32(R5, if target.proto == Proto::Tcp { tcp } else { udp }, next);
        a.jeq32(R4, port_be(target.port), allow);
        a.place(next);
    }
}

/// The refusal: the value at VALUE_AT (already holding the destination) counted under the
/// cgroup id (`skb`: the socket's, else the current task's) at `counter`; returns 0.
pub(super) fn count_and_refuse(a: &mut Asm, map_fd: i32, counter: i16, skb: bool) {
    let create = a.label();
    let out = a.label();
    if skb {
        a.mov(R1, R6);
        a.call(SKB_CGROUP_ID);
    } else {
        a.call(CURRENT_CGROUP_ID);
    }
    a.store(Size::Dw, FP, KEY_AT, R0);
    a.load_map(R1, map_fd);
    a.mov(R2, FP);
    a.add_imm(R2, i32::from(KEY_AT));
    a.call(MAP_LOOKUP);
    a.jeq(R0, 0, create);
    a.mov_imm(R1, 1);
    a.atomic_add32(R0, counter, R1);
    for off in (FAMILY..VALUE_SIZE as i16).step_by(4) {
        a.load(Size::W, R1, FP, VALUE_AT + off);
        a.store(Size::W, R0, off, R1);
    }
    a.goto(out);
    a.place(create);
    a.store_imm(Size::W, FP, VALUE_AT + counter, 1);
    a.load_map(R1, map_fd);
    a.mov(R2, FP);
    a.add_imm(R2, i32::from(KEY_AT));
    a.mov(R3, FP);
    a.add_imm(R3, i32::from(VALUE_AT));
    a.mov_imm(R4, 1); // BPF_NOEXIST: a racing first refusal keeps its own
    a.call(MAP_UPDATE);
    a.place(out);
    a.ret(0);
}

/// Zeroes the value at VALUE_AT and sets its family.
pub(super) fn start_value(a: &mut Asm, family: i32) {
    for off in (0..VALUE_SIZE as i16).step_by(8) {
        a.store_imm(Size::Dw, FP, VALUE_AT + off, 0);
    }
    a.store_imm(Size::W, FP, VALUE_AT + FAMILY, family);
}

/// Copies `words` u32s from `*(src + from)` into the value's address.
pub(super) fn copy_addr(a: &mut Asm, src: u8, from: i16, words: i16) {
    for i in 0..words {
        a.load(Size::W, R1, src, from + 4 * i);
        a.store(Size::W, FP, VALUE_AT + ADDR + 4 * i, R1);
    }
}

/// Sets the value's port from r1.
pub(super) fn set_port_from_r1(a: &mut Asm) {
    a.store(Size::W, FP, VALUE_AT + PORT, R1);
}

pub(super) const STACK: (i16, i16, i16) = (HEADER_AT, PORTS_AT, PACKETS);
pub(super) const HELPER_LOAD_BYTES: i32 = SKB_LOAD_BYTES;
pub(super) const PROTOCOL_OFFSET: i16 = SKB_PROTOCOL;
