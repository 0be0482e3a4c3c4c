//! Egress filtering for `network = "local"` and `"layer"`: cgroup-BPF programs on connect and
//! UDP sendmsg that the kernel runs on the address it has already copied (no time-of-check
//! race), attached to a cgroup per session (process) that each jail's init joins before it is
//! released. Cgroups left by processes that died are swept when the next one is created.
//!
//! local: loopback only (127/8, ::1, ::ffff:127/104).
//! layer: loopback, TCP port 22 anywhere (ssh to the hosts of the system), and port 53 to the
//!        name servers of /etc/resolv.conf.
#![forbid(unsafe_code)]

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::unistd::Pid;

use crate::policy::Network;
use crate::sys::{self, BpfInsn};

const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
const INET4_CONNECT: u32 = 10;
const INET6_CONNECT: u32 = 11;
const UDP4_SENDMSG: u32 = 14;
const UDP6_SENDMSG: u32 = 15;

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

/// The four programs, loaded (verified) once per process and mode.
pub struct EgressFilter {
    programs: Vec<(u32, OwnedFd)>,
}

impl EgressFilter {
    pub fn load(rule: &EgressRule) -> io::Result<EgressFilter> {
        let (v4, v6) = (program_v4(rule), program_v6(rule));
        let mut programs = Vec::new();
        for (attach, insns) in
            [(INET4_CONNECT, &v4), (UDP4_SENDMSG, &v4), (INET6_CONNECT, &v6), (UDP6_SENDMSG, &v6)]
        {
            programs.push((attach, sys::bpf_prog_load(PROG_TYPE_CGROUP_SOCK_ADDR, attach, insns)?));
        }
        Ok(EgressFilter { programs })
    }

    /// The filter for `network`, loaded on first use; `Ok(None)` when none applies.
    pub fn for_network(network: Network) -> io::Result<Option<&'static EgressFilter>> {
        static LOCAL: OnceLock<Result<EgressFilter, String>> = OnceLock::new();
        static LAYER: OnceLock<Result<EgressFilter, String>> = OnceLock::new();
        let (cell, rule) = match (network, rule_for(network)) {
            (Network::Local, Some(rule)) => (&LOCAL, rule),
            (Network::Layer, Some(rule)) => (&LAYER, rule),
            _ => return Ok(None),
        };
        let loaded = cell.get_or_init(|| EgressFilter::load(&rule).map_err(|e| e.to_string()));
        loaded.as_ref().map(Some).map_err(|e| io::Error::other(format!("loading the egress filter: {e}")))
    }

    /// Moves `pid` into this process's egress cgroup, created on first use with the programs
    /// attached. A session's network mode never changes, so its commands share one cgroup.
    pub fn confine(&'static self, pid: Pid) -> io::Result<()> {
        static CGROUPS: std::sync::Mutex<Vec<(usize, PathBuf)>> = std::sync::Mutex::new(Vec::new());
        let key = self as *const EgressFilter as usize;
        let mut cgroups = CGROUPS.lock().map_err(|_| io::Error::other("egress cgroup lock poisoned"))?;
        let path = match cgroups.iter().find(|(k, _)| *k == key) {
            Some((_, path)) => path.clone(),
            None => {
                let path = self.create_cgroup(cgroups.len())?;
                cgroups.push((key, path.clone()));
                path
            }
        };
        fs::write(path.join("cgroup.procs"), pid.to_string())
    }

    fn create_cgroup(&self, n: usize) -> io::Result<PathBuf> {
        let root = cgroup2_root()?.join("cage");
        fs::create_dir_all(&root)?;
        sweep_stale(&root);
        let path = root.join(format!("egress-{}-{n}", std::process::id()));
        fs::create_dir(&path)?;
        let dir = fs::File::open(&path)?;
        for (attach, program) in &self.programs {
            sys::bpf_prog_attach(dir.as_raw_fd(), program.as_raw_fd(), *attach)?;
        }
        Ok(path)
    }
}

/// Removes the egress cgroups of processes that no longer exist (rmdir fails on non-empty ones).
fn sweep_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name.strip_prefix("egress-").and_then(|r| r.split('-').next()?.parse::<u32>().ok());
        if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or `.../unified` on hybrids).
fn cgroup2_root() -> io::Result<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
        info.lines().find_map(|line| {
            let (fields, fs_type) = line.split_once(" - ")?;
            let mount_point = fields.split(' ').nth(4)?;
            fs_type.starts_with("cgroup2 ").then(|| PathBuf::from(mount_point))
        })
    });
    root.as_deref().ok_or_else(|| io::Error::other("no cgroup2 hierarchy is mounted"))
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
