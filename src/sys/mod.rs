//! The only unsafe code in cage: one small wrapper per system call that nix does not offer
//! safely. Each takes only pre-built data, so it is usable between `fork` and `execve`.

use std::ffi::{c_char, CStr};
use std::io;
use std::os::fd::RawFd;

use nix::unistd::Pid;

pub mod notify;

/// Like `fork`, but the child starts in new namespaces (`CLONE_NEW*` flags). Returns `None`
/// in the child. Raw `clone` with a null stack behaves as fork (this is what bubblewrap does),
/// and unlike `unshare(CLONE_NEWPID)` the child itself is PID 1 of the new PID namespace.
pub fn fork_into_namespaces(namespace_flags: libc::c_int) -> io::Result<Option<Pid>> {
    let flags = (namespace_flags | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: with a null stack pointer clone(2) duplicates the calling thread like fork(2);
    // the child gets a copy of this address space and returns here with 0. The null pointers
    // for parent_tid, child_tid and tls are valid because no CLONE_*SETTID/SETTLS flag is set.
    let ret = unsafe {
        libc::syscall(libc::SYS_clone, flags, std::ptr::null_mut::<libc::c_void>(), 0usize, 0usize, 0usize)
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as libc::pid_t))),
    }
}

/// `struct clone_args` of clone3(2), up to `cgroup` (Linux 5.7).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like [`fork_into_namespaces`], but the child is born in the cgroup v2 directory open at
/// `cgroup` (clone3 with `CLONE_INTO_CGROUP`): it never runs outside it, and no migration of
/// a running process (which waits for an RCU grace period) is needed.
pub fn fork_into_cgroup(namespace_flags: libc::c_int, cgroup: RawFd) -> io::Result<Option<Pid>> {
    let args = CloneArgs {
        flags: namespace_flags as u32 as u64 | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup as u32 as u64,
    };
    // SAFETY: `args` is a properly laid out struct clone_args that outlives the call, and the
    // kernel reads `size_of` bytes of it. With no stack given, clone3 duplicates the calling
    // thread like fork(2) (the child returns here with 0 on a copy of this address space); no
    // flag asks the kernel to write through a pointer (pidfd, child_tid, parent_tid are 0).
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>())
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as libc::pid_t))),
    }
}

/// Plain fork. The caller must only make async-signal-safe calls in the child.
pub fn fork() -> io::Result<Option<Pid>> {
    // SAFETY: fork(2) has no memory-safety preconditions; the child continues with a copy of
    // the address space. Callers keep the child to async-signal-safe calls on pre-built data.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid))),
    }
}

/// `close_range(2)` flag: mark the range close-on-exec instead of closing it.
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// Closes (or with [`CLOSE_RANGE_CLOEXEC`], marks close-on-exec) every fd in `first..=last`.
pub fn close_range(first: u32, last: u32, flags: u32) -> io::Result<()> {
    // SAFETY: close_range only closes or flags descriptors of this process; no memory is passed.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Fills `buf` from the kernel's random pool (getrandom, blocking until it is seeded).
pub fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: the pointer and length describe `rest`, a live, writable part of `buf`.
        let ret = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match ret {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => return Err(io::Error::last_os_error()),
            n => filled += n as usize,
        }
    }
    Ok(())
}

/// execve(2) with pre-built, null-terminated argument and environment arrays.
/// Returns only on failure.
pub fn execve(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> io::Error {
    if argv.last() != Some(&std::ptr::null()) || envp.last() != Some(&std::ptr::null()) {
        return io::Error::from_raw_os_error(libc::EINVAL);
    }
    // SAFETY: `path` is a valid C string; `argv` and `envp` end with a null pointer (checked
    // above) and every other element points into CStrings the caller keeps alive.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// posix_spawn(3) of `path` with pre-built, null-terminated argument and environment arrays,
/// every signal unblocked in the new process. glibc starts it with CLONE_VM|CLONE_VFORK on a
/// stack of its own, so no copy of this process's page tables is made (a fork of cage's
/// jail init costs ~0.1 ms), and a failed exec comes back as the error.
pub fn spawn_program(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> io::Result<Pid> {
    if argv.last() != Some(&std::ptr::null()) || envp.last() != Some(&std::ptr::null()) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut every = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr`, `empty` and `every` are initialised by posix_spawnattr_init,
    // sigemptyset and sigfillset before any other use, and `attr` is destroyed once; `path`
    // is a valid C string; `argv` and `envp` end with a null pointer (checked above) and every
    // other element points into CStrings the caller keeps alive; posix_spawn writes the pid to `pid` and does not keep
    // any of these pointers.
    let ret = unsafe {
        let init = libc::posix_spawnattr_init(attr.as_mut_ptr());
        if init != 0 {
            return Err(io::Error::from_raw_os_error(init));
        }
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigfillset(every.as_mut_ptr());
        let mut ret = libc::posix_spawnattr_setsigmask(attr.as_mut_ptr(), empty.as_ptr());
        if ret == 0 {
            // Every disposition back to its default: what cage ignores (SIGPIPE, as every
            // Rust program does) is not the command's to inherit.
            ret = libc::posix_spawnattr_setsigdefault(attr.as_mut_ptr(), every.as_ptr());
        }
        if ret == 0 {
            ret = libc::posix_spawnattr_setflags(
                attr.as_mut_ptr(),
                (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
            );
        }
        if ret == 0 {
            ret = libc::posix_spawn(
                &mut pid,
                path.as_ptr(),
                std::ptr::null(),
                attr.as_ptr(),
                argv.as_ptr() as *const *mut c_char,
                envp.as_ptr() as *const *mut c_char,
            );
        }
        libc::posix_spawnattr_destroy(attr.as_mut_ptr());
        ret
    };
    match ret {
        0 => Ok(Pid::from_raw(pid)),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Ends the process at once, without running destructors or atexit handlers (safe after fork).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Sets the securebits (prctl PR_SET_SECUREBITS).
pub fn set_securebits(bits: libc::c_ulong) -> io::Result<()> {
    // SAFETY: prctl with PR_SET_SECUREBITS takes an integer and touches no memory of ours.
    let ret = unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes all of `bytes` to `fd` with write(2), retrying on EINTR (async-signal-safe).
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe the live slice `bytes`.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match n {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => return Err(io::Error::last_os_error()),
            n => bytes = &bytes[n as usize..],
        }
    }
    Ok(())
}

/// Opens `path` with O_PATH (a handle for Landlock rules; no read or write access).
pub fn open_path(path: &CStr) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: `path` is a valid C string; open(2) with O_PATH reads nothing through it.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by open(2) and is owned by nothing else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// One eBPF instruction (`struct bpf_insn`); `regs` is dst in the low nibble, src in the high.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr`.
#[repr(C)]
struct BpfProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
struct BpfProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;

/// Loads an eBPF program (bpf(BPF_PROG_LOAD)); the verifier's log is not collected.
pub fn bpf_prog_load(
    prog_type: u32,
    expected_attach_type: u32,
    insns: &[BpfInsn],
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let license = c"GPL";
    let attr = BpfProgLoad {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: *b"cage_egress\0\0\0\0\0",
        prog_ifindex: 0,
        expected_attach_type,
    };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr; its pointers refer to
    // `insns` and `license`, which outlive the call; the kernel reads `size_of` bytes.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const BpfProgLoad,
            std::mem::size_of::<BpfProgLoad>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new program fd that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C)]
struct BpfProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` part of `union bpf_attr`.
#[repr(C)]
struct BpfGetFdById {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The `BPF_OBJ_GET_INFO_BY_FD` part of `union bpf_attr`.
#[repr(C)]
struct BpfObjInfo {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The start of `struct bpf_prog_info`: all cage asks the kernel for.
#[repr(C)]
#[derive(Default)]
struct BpfProgInfoHead {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
}

const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;

/// The programs attached directly to the cgroup open at `cgroup` for `attach_type`
/// (bpf(BPF_PROG_QUERY)): their attach flags and ids (at most 8; more is an error).
pub fn bpf_prog_query(cgroup: RawFd, attach_type: u32) -> io::Result<(u32, Vec<u32>)> {
    let mut ids = [0u32; 8];
    let mut attr = BpfProgQuery {
        target_fd: cgroup as u32,
        attach_type,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr; the kernel writes
    // `attach_flags` and `prog_cnt` into it and at most `prog_cnt` (8) ids to `ids`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_QUERY,
            &mut attr as *mut BpfProgQuery,
            std::mem::size_of::<BpfProgQuery>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let count = (attr.prog_cnt as usize).min(ids.len());
    Ok((attr.attach_flags, ids[..count].to_vec()))
}

/// A new fd for the loaded program with id `id` (bpf(BPF_PROG_GET_FD_BY_ID)).
pub fn bpf_prog_get_fd_by_id(id: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let attr = BpfGetFdById { prog_id: id, next_id: 0, open_flags: 0 };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr with no pointers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_GET_FD_BY_ID,
            &attr as *const BpfGetFdById,
            std::mem::size_of::<BpfGetFdById>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new program fd that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The type and tag (the kernel's hash of the instructions) of the program open at `prog`
/// (bpf(BPF_OBJ_GET_INFO_BY_FD)).
pub fn bpf_prog_type_and_tag(prog: RawFd) -> io::Result<(u32, [u8; 8])> {
    let mut info = BpfProgInfoHead::default();
    let attr = BpfObjInfo {
        bpf_fd: prog as u32,
        info_len: std::mem::size_of::<BpfProgInfoHead>() as u32,
        info: &mut info as *mut BpfProgInfoHead as u64,
    };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr; the kernel writes at
    // most `info_len` bytes (the size of `info`) to `info`, which outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &attr as *const BpfObjInfo,
            std::mem::size_of::<BpfObjInfo>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((info.prog_type, info.tag))
}

/// Detaches program `prog` from the cgroup open at `cgroup` (bpf(BPF_PROG_DETACH)).
pub fn bpf_prog_detach(cgroup: RawFd, prog: RawFd, attach_type: u32) -> io::Result<()> {
    let attr =
        BpfProgAttach { target_fd: cgroup as u32, attach_bpf_fd: prog as u32, attach_type, attach_flags: 0 };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr with no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_DETACH,
            &attr as *const BpfProgAttach,
            std::mem::size_of::<BpfProgAttach>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Attaches program `prog` to the cgroup open at `cgroup` (bpf(BPF_PROG_ATTACH)).
pub fn bpf_prog_attach(cgroup: RawFd, prog: RawFd, attach_type: u32) -> io::Result<()> {
    let attr =
        BpfProgAttach { target_fd: cgroup as u32, attach_bpf_fd: prog as u32, attach_type, attach_flags: 0 };
    // SAFETY: `attr` is a properly laid out prefix of union bpf_attr with no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const BpfProgAttach,
            std::mem::size_of::<BpfProgAttach>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;

/// openat2(2): opens `path` relative to `dir` under the `resolve` restrictions.
pub fn openat2(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: u64::from(mode), resolve };
    // SAFETY: `path` is a valid C string and `how` a properly laid out struct open_how; the
    // kernel reads `size_of::<OpenHow>()` bytes of it and writes nothing.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The window size of the terminal at `fd` (TIOCGWINSZ).
pub fn window_size(fd: RawFd) -> io::Result<libc::winsize> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one struct winsize to the pointer, which points to `size`.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size as *mut libc::winsize) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(size)
}

/// Sets the window size of the terminal at `fd` (TIOCSWINSZ); its foreground group gets SIGWINCH.
pub fn set_window_size(fd: RawFd, size: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one struct winsize from the pointer, which points to `size`.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, size as *const libc::winsize) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the terminal at `fd` the controlling terminal of this session (TIOCSCTTY, no steal).
pub fn set_controlling_tty(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: never steal another session's tty).
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
