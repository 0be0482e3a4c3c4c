//! The only unsafe code in cage: one small wrapper per system call that nix does not offer
//! safely. A wrapper whose safety rests on its caller is an `unsafe fn` with a `# Safety`
//! section (one: the jail's clone, in `process`); every other wrapper is safe to call.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::multiple_unsafe_ops_per_block)]

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;

pub(crate) mod bpf;
mod mount;
pub(crate) mod notify;
mod process;

pub use bpf::*;
pub use mount::*;
pub use process::*;

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
