//! The only unsafe code in cage: one small wrapper per system call that nix does not offer
//! safely. Each takes only pre-built data, so it is usable between `fork` and `execve`.

use std::ffi::{c_char, CStr};
use std::io;
use std::os::fd::RawFd;

use nix::unistd::Pid;

pub mod bpf;
pub mod notify;

pub use bpf::*;

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
