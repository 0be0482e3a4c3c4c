//! Opening a redirection target (the monitor does, before the stage starts) and the `file`
//! record saying what the command is about to do to it. A target written with `>` is
//! truncated only by [`Target::ready`], after its record is written: if it cannot be
//! recorded, the file is left as it was (a target the redirection had to create stays, empty).
#![forbid(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::events::{sha256_of, FileEvent, Operation};
use super::{resolve, Failure};
use crate::decide::PathGrant;

/// An opened target and its record.
pub(crate) struct Target {
    fd: OwnedFd,
    truncate: bool,
    pub event: FileEvent,
}

impl Target {
    /// The fd for the stage, once its record is written.
    pub(crate) fn ready(self) -> Result<OwnedFd, Failure> {
        if self.truncate {
            nix::unistd::ftruncate(&self.fd, 0)
                .map_err(|e| Failure::Failed(format!("{}: {e}", self.event.path)))?;
        }
        Ok(self.fd)
    }
}

/// Opens `grant` for `operation` (read, write or append). A write's record carries the
/// SHA-256 of the content it replaces or appends to (none when the file is new); what the
/// command then writes is not known yet (`bytes` and `sha256_after` are null).
pub(crate) fn open(grant: &PathGrant, operation: Operation) -> Result<Target, Failure> {
    let explain = |e: io::Error| Failure::of_open(&e, grant);
    if operation == Operation::Read {
        let fd = resolve::open_regular(grant, libc::O_RDONLY, 0).map_err(explain)?;
        return Ok(Target { fd, truncate: false, event: FileEvent::new(operation, &grant.path, None) });
    }
    let flags = match operation {
        Operation::Append => libc::O_WRONLY | libc::O_APPEND,
        _ => libc::O_WRONLY,
    };
    // openat2 refuses a mode without O_CREAT.
    let (fd, before) = match resolve::open_regular(grant, flags, 0) {
        Ok(fd) => {
            let before = content_hash(grant, &fd)?;
            (fd, Some(before))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let fd = resolve::open_regular(grant, flags | libc::O_CREAT | libc::O_EXCL, 0o640).map_err(
                |e| match e.raw_os_error() {
                    Some(libc::EEXIST) => {
                        format!("{}: kept changing while it was being opened", grant.path).into()
                    }
                    Some(libc::ENOENT) => {
                        let dir = grant
                            .path
                            .rsplit_once('/')
                            .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
                        format!("{}: cannot be created: the directory {dir} does not exist", grant.path)
                            .into()
                    }
                    _ => explain(e),
                },
            )?;
            (fd, None)
        }
        Err(e) => return Err(explain(e)),
    };
    let event = FileEvent::new(operation, &grant.path, None).hashes(before, None);
    Ok(Target { fd, truncate: operation == Operation::Write, event })
}

/// SHA-256 of the file open for writing at `fd`, read through a second, read-only open of
/// the same path that must reach the same inode.
fn content_hash(grant: &PathGrant, fd: &OwnedFd) -> Result<String, Failure> {
    let fail =
        |e: io::Error| Failure::Failed(format!("{}: cannot be read for the audit record: {e}", grant.path));
    let reader = resolve::open_regular(grant, libc::O_RDONLY, 0).map_err(fail)?;
    let ino = |fd: &OwnedFd| nix::sys::stat::fstat(fd.as_raw_fd()).map(|s| (s.st_dev, s.st_ino));
    if ino(fd).map_err(|e| fail(e.into()))? != ino(&reader).map_err(|e| fail(e.into()))? {
        return Err(format!("{}: kept changing while it was being opened", grant.path).into());
    }
    sha256_of(&mut File::from(reader)).map(|(_, hash)| hash).map_err(fail)
}
