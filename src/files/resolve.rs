//! Opening a path the decision allowed, on disk, without leaving the rule's directory:
//! openat2 from an fd of the rule's directory with RESOLVE_BENEATH (no `..` or absolute
//! symlink out), RESOLVE_NO_MAGICLINKS (no /proc/*/fd tricks) and RESOLVE_NO_XDEV (no other
//! mount); writes also refuse every symlink. Where the path led is then judged by its real
//! path (from the fd): a relative link beneath the rule into a denied or secret path is
//! refused as the path itself would be. The fd returned is the file that was checked.
//!
//! Every refusal found here is a [`Refusal`] (or one of the errnos [`refused`] names): the
//! file command reports it as a denial, not as a failure.
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

/// A refusal found on disk while acting: where a path led, or what it turned out to be.
#[derive(Debug)]
pub(crate) struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn refusal(why: impl Into<String>) -> io::Error {
    io::Error::other(Refusal(why.into()))
}

/// Whether `error` is a refusal (the rules, on disk) rather than a failure: a link or `..`
/// out of the rule, another mount, a symlink where none may be, a device, a FIFO or socket,
/// a shared inode, a denied or secret path reached.
pub(crate) fn refused(error: &io::Error) -> bool {
    let errno = error.raw_os_error();
    matches!(errno, Some(libc::EXDEV | libc::ELOOP | libc::EPERM | libc::ENXIO))
        || error.get_ref().is_some_and(|inner| inner.is::<Refusal>())
}

/// The real path of an open file on this host (links resolved), from the kernel.
pub(crate) fn real_path(fd: &impl AsRawFd) -> io::Result<String> {
    let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    path.into_os_string().into_string().map_err(|_| refusal("a name that is not UTF-8"))
}

/// Refuses the file open at `fd` when its real path is fenced off by `grant`.
fn refuse_fenced(fd: &OwnedFd, grant: &PathGrant) -> io::Result<()> {
    if grant.rule.is_none() {
        return Ok(());
    }
    let real = real_path(fd)?;
    match grant.fence(&real) {
        Some(why) if real == grant.path => Err(refusal(why[real.len()..].trim_start())),
        Some(why) => Err(refusal(format!("leads to {real}, which {}", why[real.len()..].trim_start()))),
        None => Ok(()),
    }
}

/// Opens the granted path with `flags` (`O_RDONLY`, `O_WRONLY|O_CREAT|O_TRUNC`, ...).
pub(crate) fn open(grant: &PathGrant, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let mut resolve = if grant.access == Access::Write { WRITE_RESOLVE } else { READ_RESOLVE };
    let (base, path) = match open_base(&grant.base) {
        // A rule naming one file (`/etc/hosts`): its directory is the base, and only that
        // name beneath it, with no symlink at all (one could point anywhere in the directory).
        // The file itself may be a mount (containers bind /etc/hosts): root put exactly what
        // the rule names there, and nothing else is reachable through it.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) && grant.path == grant.base => {
            let (parent, name) = grant.base.rsplit_once('/').ok_or(e)?;
            resolve = (resolve | sys::RESOLVE_NO_SYMLINKS) & !sys::RESOLVE_NO_XDEV;
            (open_base(if parent.is_empty() { "/" } else { parent })?, cstring(name)?)
        }
        base => (base?, cstring(relative(grant))?),
    };
    // openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
    let flags = if flags & libc::O_PATH != 0 { flags } else { flags | libc::O_NOCTTY };
    // EAGAIN: a rename raced the walk and the kernel could not prove it stayed beneath; the
    // walk is simply retried (openat2(2) suggests it), a few times at most.
    let mut tries = 0;
    let fd = loop {
        match sys::openat2(base.as_raw_fd(), &path, flags, mode, resolve) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 8 => tries += 1,
            other => break other?,
        }
    };
    refuse_devices(&fd)?;
    refuse_fenced(&fd, grant)?;
    Ok(fd)
}

/// Opens a file whose content is read or written: like [`open`], but a regular file with
/// another name somewhere is refused (see [`refuse_shared_inode`]), and `O_TRUNC` is applied
/// only once that check has passed (a truncating open would act before any check could).
pub(crate) fn open_content(grant: &PathGrant, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let fd = open(grant, flags & !libc::O_TRUNC, mode)?;
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    refuse_shared_inode(&stat, nix::unistd::getuid().as_raw())?;
    if flags & libc::O_TRUNC != 0 && stat.st_mode & libc::S_IFMT == libc::S_IFREG {
        nix::unistd::ftruncate(&fd, 0)?;
    }
    Ok(fd)
}

/// Hard links: `openat2` confines the *name* beneath the rule, but a hard link is the same
/// inode under another name, which may lie anywhere on the same filesystem (`ln /etc/shadow
/// /u01/x`, made by root, by the file's owner, or by anyone where fs.protected_hardlinks is
/// off). Nothing short of scanning the filesystem proves where the other names are, so a
/// regular file with more than one link is neither read nor written through, unless the
/// operator owns it (then the operator's own account could read and write it anyway; cage is
/// setuid, so the real uid of every cage process is the operator's). Listing (`sudols`) and
/// removing a name (`sudorm`) never touch the content and are not affected; `sudocp` and
/// `sudovi` write by rename, which replaces the name and never writes through another one.
pub(crate) fn refuse_shared_inode(stat: &libc::stat, operator: u32) -> io::Result<()> {
    if stat.st_mode & libc::S_IFMT == libc::S_IFREG && stat.st_nlink > 1 && stat.st_uid != operator {
        return Err(refusal(format!(
            "has {} hard links, and another name may lie outside the rules: not opened",
            stat.st_nlink
        )));
    }
    Ok(())
}

/// Opens a regular file only: non-blocking, so a FIFO planted under a rule cannot stall the
/// caller (the monitor opens redirections), then back to blocking for whoever uses it.
pub(crate) fn open_regular(grant: &PathGrant, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let fd = open(grant, (flags | libc::O_NONBLOCK) & !libc::O_TRUNC, mode)?;
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(refusal("not a regular file"));
    }
    refuse_shared_inode(&stat, nix::unistd::getuid().as_raw())?;
    if flags & libc::O_TRUNC != 0 {
        nix::unistd::ftruncate(&fd, 0)?;
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
pub(crate) fn explain(error: &io::Error, grant: &PathGrant) -> String {
    let why = match error.raw_os_error() {
        Some(libc::EXDEV) => "leaves the allowed directory (a symlink, `..` or another mount)".to_string(),
        Some(libc::ELOOP) => "is reached through a symlink, which writes never follow".to_string(),
        Some(libc::EPERM) => "is a device file".to_string(),
        Some(libc::EAGAIN) => "kept changing while it was being opened".to_string(),
        // Opening a FIFO for writing without a reader, or a socket.
        Some(libc::ENXIO) => "not a regular file".to_string(),
        // The system's own words, without Rust's "(os error N)".
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_lowercase(),
        None => error.to_string(),
    };
    format!("{}: {why}", grant.path)
}
