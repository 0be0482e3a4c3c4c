//! Unit tests of the seccomp program: the rules, the dispatch and the guard.

use super::*;

fn spec() -> SeccompSpec {
    SeccompSpec { deny_inet: true, deny_packet: true, allow_reboot: false, deny_ipc_removal: true }
}

#[test]
fn one_program_guard_first_fits_the_kernel_limit() {
    let programs = compile(&spec()).expect("compiles");
    assert_eq!(programs.len(), 1);
    let program = &programs[0];
    assert!(program.len() < 4096);
    assert_eq!(program[..7], guard_program()[..], "the guard comes first");
}

#[test]
fn the_guard_jumps_land_on_the_right_returns() {
    let g = guard_program();
    // arch mismatch (insn 1, jf) and x32 (insn 3, jt) both reach the kill at index 6.
    assert_eq!(2 + g[1].jf as usize, 6);
    assert_eq!(4 + g[3].jt as usize, 6);
    assert_eq!(g[6].k, libc::SECCOMP_RET_KILL_PROCESS);
    // clone3 reaches ENOSYS at 5; anything else goes on to index 7, past the guard.
    assert_eq!(5 + g[4].jf as usize, 7);
    assert_eq!(g.len(), 7);
    assert_eq!(g[5].k, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
}

#[test]
fn every_jump_of_the_joined_program_stays_inside_it() {
    let program = &compile(&spec()).expect("compiles")[0];
    for (i, insn) in program.iter().enumerate() {
        let is_jump = insn.code & 0x07 == 0x05;
        let offset = if insn.code == 0x05 { insn.k as usize } else { insn.jt.max(insn.jf) as usize };
        let reach = i + 1 + offset;
        assert!(!is_jump || reach < program.len(), "insn {i} jumps past the end");
    }
    let last = program.last().expect("not empty");
    assert_eq!(last.code & 0x07, 0x06, "it ends in a return");
}

/// A classic BPF interpreter for the opcodes these programs use, over `struct seccomp_data`.
fn run(program: &[sock_filter], data: &[u32; 16]) -> u32 {
    let (mut pc, mut acc) = (0usize, 0u32);
    loop {
        let insn = program.get(pc).unwrap_or_else(|| panic!("ran off the end at {pc}"));
        pc += 1;
        match insn.code {
            BPF_LD_W_ABS => acc = data[insn.k as usize / 4],
            0x54 => acc &= insn.k,
            BPF_JA => pc += insn.k as usize,
            BPF_JEQ_K => pc += if acc == insn.k { insn.jt } else { insn.jf } as usize,
            BPF_JGE_K => pc += if acc >= insn.k { insn.jt } else { insn.jf } as usize,
            BPF_RET_K => return insn.k,
            other => panic!("opcode {other:#x} not interpreted"),
        }
    }
}

/// `struct seccomp_data` as 32-bit words: nr, arch, ip (2), six 64-bit args (low, high).
fn data(nr: u32, arch: u32, args: [u64; 6]) -> [u32; 16] {
    let mut d = [0u32; 16];
    d[0] = nr;
    d[1] = arch;
    for (i, arg) in args.iter().enumerate() {
        d[4 + 2 * i] = *arg as u32;
        d[5 + 2 * i] = (*arg >> 32) as u32;
    }
    d
}

#[test]
fn the_dispatch_changes_no_decision_of_the_guard_and_the_deny_rules() {
    for spec in [
        spec(),
        SeccompSpec { deny_inet: false, deny_packet: false, allow_reboot: true, deny_ipc_removal: false },
    ] {
        let joined = &compile(&spec).expect("compiles")[0];
        let filter = SeccompFilter::new(
            deny_rules(&spec).expect("rules"),
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EPERM as u32),
            target_arch().expect("arch"),
        )
        .expect("filter");
        let deny: BpfProgram = filter.try_into().expect("deny program");
        let mut guard = guard_program();
        guard.push(op(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
        let mut args: Vec<[u64; 6]> = vec![[0; 6], [u64::MAX; 6]];
        for flag in NAMESPACE_FLAGS {
            args.push([*flag as u64 | libc::SIGCHLD as u64, 0, 0, 0, 0, 0]);
        }
        for cmd in TERMINAL_INJECTION {
            args.push([0, *cmd, 0, 0, 0, 0]);
        }
        for family in [libc::AF_INET, libc::AF_INET6, libc::AF_PACKET, libc::AF_UNIX] {
            args.push([family as u64, 0, 0, 0, 0, 0]);
            args.push([family as u64, SOCK_PACKET as u64 | libc::SOCK_CLOEXEC as u64, 0, 0, 0, 0]);
        }
        args.push([0, 0x100, 0x100, 0, 0, 0]); // IPC_RMID | IPC_64
        let arch = native_audit_arch();
        for nr in (0..480).chain((0..480).map(|n| n | X32_SYSCALL_BIT)) {
            for arch in [arch, 0x4000_0003] {
                for a in &args {
                    let d = data(nr, arch, *a);
                    let expected = match run(&guard, &d) {
                        libc::SECCOMP_RET_ALLOW => run(&deny, &d),
                        other => other,
                    };
                    assert_eq!(run(joined, &d), expected, "nr {nr:#x} arch {arch:#x} args {a:x?}");
                }
            }
        }
    }
}

#[test]
fn reboot_is_denied_unless_the_alias_may_reboot() {
    let denied = deny_rules(&spec()).expect("rules");
    assert!(denied.contains_key(&libc::SYS_reboot));
    let allowed = deny_rules(&SeccompSpec { allow_reboot: true, ..spec() }).expect("rules");
    assert!(!allowed.contains_key(&libc::SYS_reboot));
}

#[test]
fn sockets_are_filtered_only_as_the_network_mode_says() {
    let open = SeccompSpec { deny_inet: false, deny_packet: false, ..spec() };
    assert!(!deny_rules(&open).expect("rules").contains_key(&libc::SYS_socket));
    assert_eq!(deny_rules(&spec()).expect("rules")[&libc::SYS_socket].len(), 3);
    let shared = SeccompSpec { deny_inet: false, deny_packet: true, ..spec() };
    assert_eq!(deny_rules(&shared).expect("rules")[&libc::SYS_socket].len(), 3, "AF_PACKET, SOCK_PACKET x2");
}

#[test]
fn errors_say_which_step_failed_as_before() {
    assert_eq!(SeccompError::DispatchJumpsBack.to_string(), "seccomp dispatch jumps back");
    assert_eq!(SeccompError::DispatchJumpTooFar.to_string(), "seccomp dispatch jump too far");
    let text = TargetArch::try_from("sparc").expect_err("unknown").to_string();
    let arch = TargetArch::try_from("sparc").expect_err("unknown");
    assert_eq!(SeccompError::Architecture(arch).to_string(), text);
}
