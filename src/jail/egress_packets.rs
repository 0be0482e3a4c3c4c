//! The packet program (cgroup inet egress): every IP packet a socket of the jail sends, of
//! any kind (TCP, UDP, raw IP as traceroute and tcptraceroute send, ICMP ping sockets), is
//! checked against the mode's rule by its IP header, and dropped (the send fails with EPERM)
//! when it leaves the mode. Packet (AF_PACKET) sockets send below IP, where no cgroup program
//! sees them: docs/jail.md says who may hold one.
#![forbid(unsafe_code)]

use super::bpf_asm::*;
use super::egress_rules::{
    copy_addr, count_and_refuse, loopback4, rules_v4, rules_v6, set_port_from_r1, start_value, EgressRule,
    HELPER_LOAD_BYTES, PROTOCOL_OFFSET, STACK,
};
use crate::sys::BpfInsn;

/// `skb->protocol` (network order) as a little-endian u32 read sees it.
const ETH_P_IP: i32 = 0x0008;
const ETH_P_IPV6: i32 = 0xdd86;

pub(super) fn program(rule: &EgressRule, map_fd: i32) -> Vec<BpfInsn> {
    let (header, ports, packets) = STACK;
    let mut a = Asm::default();
    let (allow, drop, v4, v6) = (a.label(), a.label(), a.label(), a.label());
    a.mov(R6, R1);
    a.load(Size::W, R2, R6, PROTOCOL_OFFSET);
    a.jeq32(R2, ETH_P_IP, v4);
    a.jeq32(R2, ETH_P_IPV6, v6);
    a.goto(drop);

    a.place(v4);
    load_bytes(&mut a, 0, header, 20, drop);
    a.load(Size::W, R2, FP, header + 16);
    loopback4(&mut a, allow);
    a.load(Size::B, R7, FP, header);
    a.and32(R7, 0x0f);
    a.lsh(R7, 2); // the IPv4 header's length: where the ports are
    load_ports(&mut a, R7, ports);
    a.load(Size::W, R2, FP, header + 16);
    a.load(Size::B, R5, FP, header + 9);
    rules_v4(&mut a, rule, true, allow);
    start_value(&mut a, 4);
    port_of(&mut a, ports, R5);
    copy_addr(&mut a, FP, header + 16, 1);
    count_and_refuse(&mut a, map_fd, packets, true);

    a.place(v6);
    load_bytes(&mut a, 0, header, 40, drop);
    // ::1
    let native = a.label();
    for (i, expected) in [0, 0, 0, i32::from_le_bytes([0, 0, 0, 1])].into_iter().enumerate() {
        a.load(Size::W, R2, FP, header + 24 + 4 * i as i16);
        a.jne32(R2, expected, native);
    }
    a.goto(allow);
    a.place(native);
    a.mov_imm(R7, 40); // extension headers are not followed: the next header must be the L4 one
    load_ports(&mut a, R7, ports);
    a.load(Size::B, R5, FP, header + 6);
    rules_v6(&mut a, rule, true, FP, header + 24, allow);
    start_value(&mut a, 6);
    port_of(&mut a, ports, R5);
    copy_addr(&mut a, FP, header + 24, 4);
    count_and_refuse(&mut a, map_fd, packets, true);

    a.place(allow);
    a.ret(1);
    // Nothing but IP leaves an inet socket, and a header too short to read is not a packet
    // cage can judge: refused, without a destination to count.
    a.place(drop);
    a.ret(0);
    a.finish()
}

/// Copies `len` bytes of the packet from `offset` to the stack at `to`; a short packet is
/// dropped.
fn load_bytes(a: &mut Asm, offset: i32, to: i16, len: i32, drop: Label) {
    a.mov(R1, R6);
    a.mov_imm(R2, offset);
    a.mov(R3, FP);
    a.add_imm(R3, i32::from(to));
    a.mov_imm(R4, len);
    a.call(HELPER_LOAD_BYTES);
    a.jne(R0, 0, drop);
}

/// The destination port (network order, as a socket address holds it) in r4, read from the
/// four bytes at offset `at` (a register) of the packet; 0 when the packet is shorter.
fn load_ports(a: &mut Asm, at: u8, to: i16) {
    a.store_imm(Size::W, FP, to, 0);
    a.mov(R1, R6);
    a.mov(R2, at);
    a.mov(R3, FP);
    a.add_imm(R3, i32::from(to));
    a.mov_imm(R4, 4);
    a.call(HELPER_LOAD_BYTES);
    a.load(Size::W, R4, FP, to);
    a.rsh32(R4, 16);
}

/// The value's port: the destination port of a TCP or UDP packet, else none.
fn port_of(a: &mut Asm, ports: i16, proto: u8) {
    let (set, done) = (a.label(), a.label());
    a.jeq32(proto, 6, set);
    a.jeq32(proto, 17, set);
    a.goto(done);
    a.place(set);
    a.load(Size::W, R1, FP, ports);
    a.rsh32(R1, 16);
    set_port_from_r1(a);
    a.place(done);
}
