//! The seccomp programs, compiled before fork and loaded as the jail's last step.
//!
//! Choice of action, deliberately: listed system calls fail with `EPERM`, so a tool that
//! probes (`mount`, `unshare`) reports "operation not permitted" instead of dying mid-output;
//! a foreign architecture or an x32 system call kills the process, because no legitimate
//! program on this host makes one and they are the classic way around a syscall filter.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;

use seccompiler::{
    sock_filter, BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
    SeccompCondition as Cond, SeccompFilter, SeccompRule, TargetArch,
};

use super::plan::SeccompSpec;

/// Denied whatever the command: ways to change the jail, the kernel or other processes.
const ALWAYS_DENIED: &[libc::c_long] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_quotactl,
    libc::SYS_pidfd_getfd,
    libc::SYS_process_madvise,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_vhangup,
    libc::SYS_uselib,
    libc::SYS_lookup_dcookie,
];

/// Namespace flags refused in clone(2): a new namespace is a way out of this one.
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
    0x80, // CLONE_NEWTIME
];

/// TIOCSTI pushes keystrokes into the operator's terminal; TIOCLINUX can do the same on a VT.
const TERMINAL_INJECTION: &[u64] = &[libc::TIOCSTI, 0x541C];

const IPC_RMID: u64 = 0;

/// Why the seccomp programs could not be built or installed: each is cage's own failure,
/// never a refusal of what the operator asked.
#[derive(Debug)]
pub enum SeccompError {
    /// This build's architecture is not one seccompiler knows.
    Architecture(BackendError),
    /// A condition on a system call's argument.
    Condition(BackendError),
    /// A rule made of conditions.
    Rule(BackendError),
    /// The filter made of the rules.
    Filter(BackendError),
    /// Compiling the filter to BPF.
    Compile(BackendError),
    /// The dispatch code would jump backwards (a bug in [`dispatch`]).
    DispatchJumpsBack,
    /// The dispatch code would jump further than a conditional jump reaches.
    DispatchJumpTooFar,
    /// The kernel refused to install a program.
    Install(seccompiler::Error),
}

impl fmt::Display for SeccompError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeccompError::Architecture(e)
            | SeccompError::Condition(e)
            | SeccompError::Rule(e)
            | SeccompError::Filter(e)
            | SeccompError::Compile(e) => write!(f, "{e}"),
            SeccompError::DispatchJumpsBack => f.write_str("seccomp dispatch jumps back"),
            SeccompError::DispatchJumpTooFar => f.write_str("seccomp dispatch jump too far"),
            SeccompError::Install(e) => write!(f, "seccomp: {e}"),
        }
    }
}

impl std::error::Error for SeccompError {}

/// One program: the guard, the dispatch, then the deny rules with conditions. (Each filter
/// the kernel installs costs its own JIT and page-protection round, ~50 us, whatever its
/// length; within one, the kernel translates and JITs every instruction.)
pub(crate) fn compile(spec: &SeccompSpec) -> Result<Vec<BpfProgram>, SeccompError> {
    let arch = target_arch()?;
    // A system call denied whatever its arguments is refused by the dispatch itself: in
    // seccompiler's code each would take a few instructions more, on every install.
    let (always, conditional): (BTreeMap<_, _>, BTreeMap<_, _>) =
        deny_rules(spec)?.into_iter().partition(|(_, rules)| rules.is_empty());
    let ruled: Vec<u32> = conditional.keys().map(|nr| *nr as u32).collect();
    let refused: Vec<u32> = always.keys().map(|nr| *nr as u32).collect();
    let filter =
        SeccompFilter::new(conditional, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
            .map_err(SeccompError::Filter)?;
    let deny: BpfProgram = filter.try_into().map_err(SeccompError::Compile)?;
    // Classic BPF jumps are relative and forward only, and the deny rules load what they
    // test themselves: appended, they run exactly as they would as a filter of their own.
    let mut program = guard_program();
    program.extend(dispatch(&ruled, &refused)?);
    program.extend(deny);
    Ok(vec![program])
}

/// A jump target inside [`dispatch`]'s code, resolved once every block is placed.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Next,
    Label(usize),
}

/// What the dispatch does with a system call number it finds.
#[derive(Clone, Copy, PartialEq)]
enum Found {
    /// On to the deny rules (the instruction after the dispatch), which judge its arguments.
    Ruled,
    /// Refused with EPERM, whatever its arguments.
    Refused,
}

/// Allows at once every system call number that has no rule, by a binary search over the
/// numbers that have one; `refused` ones fail with EPERM there, `ruled` ones go on to the
/// deny rules (the instruction after this code), which allow every number they have no rule
/// for. So the decisions are the deny rules' alone, in a handful of comparisons instead of
/// one per rule. That matters most when the filter is installed: the kernel runs it for
/// every system call number, to find the ones always allowed (~0.15 ms per command for the
/// linear rules alone).
fn dispatch(ruled: &[u32], refused: &[u32]) -> Result<Vec<sock_filter>, SeccompError> {
    let mut sorted: Vec<(u32, Found)> = ruled.iter().map(|nr| (*nr, Found::Ruled)).collect();
    sorted.extend(refused.iter().map(|nr| (*nr, Found::Refused)));
    sorted.sort_unstable_by_key(|(nr, _)| *nr);
    sorted.dedup_by_key(|(nr, _)| *nr);
    let mut code: Vec<(u16, u32, To, To)> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let go_on = new_label(&mut labels);
    code.push((BPF_LD_W_ABS, 0, To::Next, To::Next));
    search(&sorted, go_on, &mut code, &mut labels);
    labels[go_on] = code.len();
    let mut out = Vec::with_capacity(code.len());
    for (at, (op_code, k, jt, jf)) in code.iter().enumerate() {
        let offset = |to: &To| -> Result<u32, SeccompError> {
            let target = match to {
                To::Next => at + 1,
                To::Label(l) => labels[*l],
            };
            target.checked_sub(at + 1).map(|d| d as u32).ok_or(SeccompError::DispatchJumpsBack)
        };
        let small = |d: u32| u8::try_from(d).map_err(|_| SeccompError::DispatchJumpTooFar);
        out.push(match *op_code {
            BPF_JA => op(BPF_JA, 0, 0, offset(jt)?),
            c => op(c, small(offset(jt)?)?, small(offset(jf)?)?, *k),
        });
    }
    Ok(out)
}

fn new_label(labels: &mut Vec<usize>) -> usize {
    labels.push(usize::MAX);
    labels.len() - 1
}

/// Code that allows `nrs`' complement within its range, refuses the refused ones and jumps
/// to `go_on` for the ruled ones.
fn search(nrs: &[(u32, Found)], go_on: usize, code: &mut Vec<(u16, u32, To, To)>, labels: &mut Vec<usize>) {
    if nrs.len() <= 4 {
        let (ruled, refused) = (new_label(labels), new_label(labels));
        for (nr, found) in nrs {
            let to = if *found == Found::Ruled { ruled } else { refused };
            code.push((BPF_JEQ_K, *nr, To::Label(to), To::Next));
        }
        code.push((BPF_RET_K, libc::SECCOMP_RET_ALLOW, To::Next, To::Next));
        labels[ruled] = code.len();
        code.push((BPF_JA, 0, To::Label(go_on), To::Next));
        labels[refused] = code.len();
        code.push((BPF_RET_K, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32, To::Next, To::Next));
        return;
    }
    let (low, high) = nrs.split_at(nrs.len() / 2);
    let upper = new_label(labels);
    code.push((BPF_JGE_K, high[0].0, To::Label(upper), To::Next));
    search(low, go_on, code, labels);
    labels[upper] = code.len();
    search(high, go_on, code, labels);
}

fn target_arch() -> Result<TargetArch, SeccompError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(SeccompError::Architecture)
}

fn deny_rules(spec: &SeccompSpec) -> Result<BTreeMap<i64, Vec<SeccompRule>>, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut deny_always = ALWAYS_DENIED.to_vec();
    if !spec.allow_reboot {
        deny_always.push(libc::SYS_reboot);
    }
    for nr in deny_always {
        rules.insert(nr, Vec::new());
    }
    let clone = NAMESPACE_FLAGS.iter().map(|f| masked(0, *f as u64));
    rules.insert(libc::SYS_clone, clone.collect::<Result<_, _>>()?);
    let ioctl = TERMINAL_INJECTION.iter().map(|cmd| arg_eq(1, Len::Dword, *cmd));
    rules.insert(libc::SYS_ioctl, ioctl.collect::<Result<_, _>>()?);
    let mut families = Vec::new();
    if spec.deny_inet {
        families.extend([libc::AF_INET, libc::AF_INET6]);
    }
    if spec.deny_packet {
        families.push(libc::AF_PACKET);
    }
    let mut socket =
        families.iter().map(|f| arg_eq(0, Len::Dword, *f as u64)).collect::<Result<Vec<_>, _>>()?;
    if spec.deny_packet && !spec.deny_inet {
        // The obsolete spelling of a packet socket: AF_INET or AF_INET6 with SOCK_PACKET.
        for family in [libc::AF_INET, libc::AF_INET6] {
            socket.push(family_and_type(family, SOCK_PACKET)?);
        }
    }
    if !socket.is_empty() {
        rules.insert(libc::SYS_socket, socket);
    }
    if spec.deny_ipc_removal {
        rules.insert(libc::SYS_shmctl, vec![ipc_rmid(1)?]);
        rules.insert(libc::SYS_msgctl, vec![ipc_rmid(1)?]);
        rules.insert(libc::SYS_semctl, vec![ipc_rmid(2)?]);
    }
    Ok(rules)
}

fn arg_eq(index: u8, len: Len, value: u64) -> Result<SeccompRule, SeccompError> {
    let cond = Cond::new(index, len, Op::Eq, value).map_err(SeccompError::Condition)?;
    SeccompRule::new(vec![cond]).map_err(SeccompError::Rule)
}

fn masked(index: u8, flag: u64) -> Result<SeccompRule, SeccompError> {
    let cond = Cond::new(index, Len::Qword, Op::MaskedEq(flag), flag).map_err(SeccompError::Condition)?;
    SeccompRule::new(vec![cond]).map_err(SeccompError::Rule)
}

/// `socket(family, type)` whatever the type's flags (SOCK_CLOEXEC, SOCK_NONBLOCK).
/// SOCK_PACKET (libc marks it deprecated: the very reason to refuse it).
const SOCK_PACKET: i32 = 10;

fn family_and_type(family: i32, kind: i32) -> Result<SeccompRule, SeccompError> {
    let family = Cond::new(0, Len::Dword, Op::Eq, family as u64).map_err(SeccompError::Condition)?;
    let kind = Cond::new(1, Len::Dword, Op::MaskedEq(0xf), kind as u64).map_err(SeccompError::Condition)?;
    SeccompRule::new(vec![family, kind]).map_err(SeccompError::Rule)
}

/// `cmd & 0xff == IPC_RMID`, ignoring the IPC_64 flag some libcs add.
fn ipc_rmid(index: u8) -> Result<SeccompRule, SeccompError> {
    let cond = Cond::new(index, Len::Dword, Op::MaskedEq(0xff), IPC_RMID).map_err(SeccompError::Condition)?;
    SeccompRule::new(vec![cond]).map_err(SeccompError::Rule)
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
const BPF_JA: u16 = 0x05;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn op(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Kills on a foreign architecture or an x32 call (which shares x86_64's audit arch and
/// would bypass every rule keyed on x86_64 numbers); answers clone3 with ENOSYS, since its
/// flags sit behind a pointer seccomp cannot read, and libc then falls back to clone.
/// Anything else goes on to the instruction after the guard (index 7).
fn guard_program() -> BpfProgram {
    let arch = native_audit_arch();
    vec![
        op(BPF_LD_W_ABS, 0, 0, 4),
        op(BPF_JEQ_K, 0, 4, arch),
        op(BPF_LD_W_ABS, 0, 0, 0),
        op(BPF_JGE_K, 2, 0, X32_SYSCALL_BIT),
        op(BPF_JEQ_K, 0, 2, libc::SYS_clone3 as u32),
        op(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        op(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

/// For the REPL: everything the jail refuses, plus any exec at all. The REPL only edits
/// lines; a bug in it must not be able to start a program.
pub(crate) fn compile_no_exec() -> Result<Vec<BpfProgram>, SeccompError> {
    let spec =
        SeccompSpec { deny_inet: true, deny_packet: true, allow_reboot: false, deny_ipc_removal: true };
    let mut programs = compile(&spec)?;
    programs.push(vec![
        op(BPF_LD_W_ABS, 0, 0, 0),
        op(BPF_JEQ_K, 2, 0, libc::SYS_execve as u32),
        op(BPF_JEQ_K, 1, 0, libc::SYS_execveat as u32),
        op(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        op(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
    ]);
    Ok(programs)
}

/// Installs [`compile_no_exec`]'s programs on the calling process (no_new_privs must hold).
pub(crate) fn apply_no_exec() -> Result<(), SeccompError> {
    for program in compile_no_exec()? {
        seccompiler::apply_filter(&program).map_err(SeccompError::Install)?;
    }
    Ok(())
}

fn native_audit_arch() -> u32 {
    const LE_64: u32 = 0x8000_0000 | 0x4000_0000;
    if cfg!(target_arch = "aarch64") {
        183 | LE_64
    } else {
        62 | LE_64
    }
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
