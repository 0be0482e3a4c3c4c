//! Egress filtering for `network = "local"` and `"layer"`: cgroup-BPF programs on connect and
//! UDP sendmsg that the kernel runs on the address it has already copied (no time-of-check
//! race). This file builds the programs; `egress_cgroup.rs` keeps the cgroup they are
//! attached to, which every jail of that mode is born in.
//!
//! local: loopback only (127/8, ::1, ::ffff:127/104).
//! layer: loopback, TCP port 22 anywhere (ssh to the hosts of the system), and port 53 to the
//!        name servers of /etc/resolv.conf.
#![forbid(unsafe_code)]

use std::fs;

use crate::policy::Network;
use crate::sys::BpfInsn;

pub const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
pub const INET4_CONNECT: u32 = 10;
pub const INET6_CONNECT: u32 = 11;
pub const UDP4_SENDMSG: u32 = 14;
pub const UDP6_SENDMSG: u32 = 15;

/// Where each program is attached: (attach type, the IPv6 program rather than the IPv4 one).
pub const ATTACH_POINTS: [(u32, bool); 4] =
    [(INET4_CONNECT, false), (UDP4_SENDMSG, false), (INET6_CONNECT, true), (UDP6_SENDMSG, true)];

// Offsets in struct bpf_sock_addr.
const USER_IP4: i16 = 4;
const USER_IP6: i16 = 8;
const USER_PORT: i16 = 24;
const SOCK_TYPE: i16 = 32;

/// Ports as the kernel stores them (network order in the low 16 bits, read little-endian).
const PORT_SSH: i32 = 22 << 8;
const PORT_DNS: i32 = 53 << 8;

/// What may be reached besides loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRule {
    pub ssh_anywhere: bool,
    /// IPv4 name servers, reachable on port 53.
    pub dns: Vec<[u8; 4]>,
}

/// Instructions with symbolic jump targets, resolved when finished.
#[derive(Default)]
struct Asm {
    insns: Vec<BpfInsn>,
    jumps: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    fn emit(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(BpfInsn { code, regs: dst | (src << 4), off, imm });
    }
    fn load_u32(&mut self, dst: u8, off: i16) {
        self.emit(0x61, dst, 1, off, 0); // dst = *(u32 *)(r1 + off)
    }
    fn low_byte(&mut self, dst: u8, src: u8) {
        self.emit(0xbf, dst, src, 0, 0); // dst = src
        self.emit(0x57, dst, 0, 0, 0xff); // dst &= 0xff
    }
    fn jump_if(&mut self, equal: bool, reg: u8, imm: i32, label: &'static str) {
        self.jumps.push((self.insns.len(), label));
        self.emit(if equal { 0x16 } else { 0x56 }, reg, 0, 0, imm); // JMP32 JEQ/JNE K
    }
    fn goto(&mut self, label: &'static str) {
        self.jumps.push((self.insns.len(), label));
        self.emit(0x05, 0, 0, 0, 0);
    }
    fn label(&mut self, name: &'static str) {
        self.labels.push((name, self.insns.len()));
    }
    fn ret(&mut self, value: i32) {
        self.emit(0xb7, 0, 0, 0, value); // r0 = value
        self.emit(0x95, 0, 0, 0, 0); // exit
    }
    fn finish(mut self) -> Vec<BpfInsn> {
        for (at, label) in &self.jumps {
            let target = self.labels.iter().find(|(n, _)| n == label).map_or(at + 1, |(_, i)| *i);
            self.insns[*at].off = (target as i64 - *at as i64 - 1) as i16;
        }
        self.insns
    }
}

/// The decision after loopback was ruled out: ssh anywhere, DNS to the name servers.
fn remote_rules(a: &mut Asm, rule: &EgressRule, ip4: bool) {
    a.load_u32(4, USER_PORT);
    if rule.ssh_anywhere {
        a.load_u32(5, SOCK_TYPE);
        a.jump_if(false, 4, PORT_SSH, "dns");
        a.jump_if(true, 5, libc::SOCK_STREAM, "allow");
    }
    a.label("dns");
    if ip4 && !rule.dns.is_empty() {
        a.jump_if(false, 4, PORT_DNS, "deny");
        for server in &rule.dns {
            a.jump_if(true, 2, i32::from_le_bytes(*server), "allow");
        }
    }
    a.label("deny");
    a.ret(0);
    a.label("allow");
    a.ret(1);
}

/// The IPv4 program (connect4 and sendmsg4).
pub fn program_v4(rule: &EgressRule) -> Vec<BpfInsn> {
    let mut a = Asm::default();
    a.load_u32(2, USER_IP4);
    a.low_byte(3, 2);
    a.jump_if(true, 3, 127, "allow");
    remote_rules(&mut a, rule, true);
    a.finish()
}

/// The IPv6 program (connect6 and sendmsg6): ::1 and IPv4-mapped loopback are local.
pub fn program_v6(rule: &EgressRule) -> Vec<BpfInsn> {
    let mut a = Asm::default();
    a.load_u32(2, USER_IP6);
    a.jump_if(false, 2, 0, "remote");
    a.load_u32(2, USER_IP6 + 4);
    a.jump_if(false, 2, 0, "remote");
    a.load_u32(2, USER_IP6 + 8);
    a.jump_if(true, 2, 0, "loopback6");
    a.jump_if(false, 2, 0xffff_0000_u32 as i32, "remote");
    a.load_u32(2, USER_IP6 + 12);
    a.low_byte(3, 2);
    a.jump_if(true, 3, 127, "allow");
    a.goto("remote");
    a.label("loopback6");
    a.load_u32(2, USER_IP6 + 12);
    a.jump_if(true, 2, 0x0100_0000, "allow");
    a.label("remote");
    remote_rules(&mut a, rule, false);
    a.finish()
}

/// The rule for a network mode; `None` where no filter applies.
pub fn rule_for(network: Network) -> Option<EgressRule> {
    match network {
        Network::Local => Some(EgressRule { ssh_anywhere: false, dns: Vec::new() }),
        Network::Layer => Some(EgressRule { ssh_anywhere: true, dns: name_servers() }),
        Network::None | Network::Any => None,
    }
}

fn name_servers() -> Vec<[u8; 4]> {
    let text = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let servers = text.lines().filter_map(|l| l.strip_prefix("nameserver")).map(str::trim);
    servers.filter_map(|s| s.parse::<std::net::Ipv4Addr>().ok()).map(|ip| ip.octets()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets_in_range(program: &[BpfInsn]) -> bool {
        program.iter().enumerate().all(|(i, insn)| {
            let is_jump = matches!(insn.code, 0x05 | 0x16 | 0x56);
            !is_jump || (insn.off >= 0 && i + 1 + (insn.off as usize) < program.len())
        })
    }

    #[test]
    fn every_jump_lands_inside_the_program_and_it_ends_in_exit() {
        let layer = EgressRule { ssh_anywhere: true, dns: vec![[10, 0, 0, 2]] };
        let local = EgressRule { ssh_anywhere: false, dns: vec![] };
        for rule in [layer, local] {
            for program in [program_v4(&rule), program_v6(&rule)] {
                assert!(targets_in_range(&program), "{program:?}");
                assert_eq!(program.last().map(|i| i.code), Some(0x95));
            }
        }
    }

    #[test]
    fn local_allows_only_loopback_and_layer_adds_ssh_and_dns() {
        let local = program_v4(&EgressRule { ssh_anywhere: false, dns: vec![] });
        assert!(!local.iter().any(|i| i.imm == PORT_SSH), "local has no ssh rule");
        let layer = program_v4(&EgressRule { ssh_anywhere: true, dns: vec![[10, 0, 0, 2]] });
        assert!(layer.iter().any(|i| i.imm == PORT_SSH));
        assert!(layer.iter().any(|i| i.imm == i32::from_le_bytes([10, 0, 0, 2])));
    }

    #[test]
    fn none_and_any_have_no_filter() {
        assert_eq!(rule_for(Network::None), None);
        assert_eq!(rule_for(Network::Any), None);
    }
}
