//! Opening a path the decision allowed, on disk, without leaving the rule's directory:
//! openat2 from an fd of the rule's directory with RESOLVE_BENEATH (no `..` or absolute
//! symlink out), RESOLVE_NO_MAGICLINKS (no /proc/*/fd tricks) and RESOLVE_NO_XDEV (no other
//! mount); writes also refuse every symlink. The fd returned is the file that was checked.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::decide::{Access, PathGrant};
use crate::sys;

const READ_RESOLVE: u64 = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_MAGICLINKS | sys::RESOLVE_NO_XDEV;
const WRITE_RESOLVE: u64 = READ_RESOLVE | sys::RESOLVE_NO_SYMLINKS;

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The rule's own directory, reached without following any symlink.
fn open_base(base: &str) -> io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    sys::openat2(
        libc::AT_FDCWD,
        &cstring(base)?,
        flags,
        0,
        sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
    )
}

/// The path below the rule's directory (`.` for the directory itself).
fn relative(grant: &PathGrant) -> &str {
    let rest = grant.path.strip_prefix(&grant.base).unwrap_or(&grant.path).trim_start_matches('/');
    if rest.is_empty() {
        "."
    } else {
        rest
    }
}

/// Opens the granted path with `flags` (`O_RDONLY`, `O_WRONLY|O_CREAT|O_TRUNC`, ...).
pub fn open(grant: &PathGrant, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let base = open_base(&grant.base)?;
    let resolve = if grant.access == Access::Write { WRITE_RESOLVE } else { READ_RESOLVE };
    let fd =
        sys::openat2(base.as_raw_fd(), &cstring(relative(grant))?, flags | libc::O_NOCTTY, mode, resolve)?;
    refuse_devices(&fd)?;
    Ok(fd)
}

/// Opens a regular file only: non-blocking, so a FIFO planted under a rule cannot stall the
/// caller (the monitor opens redirections), then back to blocking for whoever uses it.
pub fn open_regular(grant: &PathGrant, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let fd = open(grant, flags | libc::O_NONBLOCK, mode)?;
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::other("not a regular file"));
    }
    let flags =
        nix::fcntl::OFlag::from_bits_truncate(flags & !libc::O_NONBLOCK & !libc::O_CREAT & !libc::O_TRUNC);
    nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags))?;
    Ok(fd)
}

/// Device files are never read or written through a rule (a tty, /dev/mem through a bind).
fn refuse_devices(fd: &OwnedFd) -> io::Result<()> {
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    let kind = stat.st_mode & libc::S_IFMT;
    if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    Ok(())
}

/// Explains an open failure in the words an operator needs.
pub fn explain(error: &io::Error, grant: &PathGrant) -> String {
    let why = match error.raw_os_error() {
        Some(libc::EXDEV) => "leaves the allowed directory (a symlink, `..` or another mount)".to_string(),
        Some(libc::ELOOP) => "is reached through a symlink, which writes never follow".to_string(),
        Some(libc::EPERM) => "is a device file".to_string(),
        // Opening a FIFO for writing without a reader, or a socket.
        Some(libc::ENXIO) => "not a regular file".to_string(),
        _ => error.to_string(),
    };
    format!("{}: {why}", grant.path)
}
