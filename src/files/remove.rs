//! sudorm: removing under read-write rules. Every removal is `unlinkat` on a directory fd
//! reached beneath the rule without any symlink: a symlink is removed itself, never followed;
//! `-r` descends with O_NOFOLLOW and never into another mount; a rule's own directory is
//! refused by the decision before this runs.
//!
//! Each removed entry is recorded: a regular file with the SHA-256 of its content, read from
//! the inode that is then unlinked (one that cannot be read is not removed).
#![forbid(unsafe_code)]

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::copy::open_below;
use super::events::{sha256_of, FileEvent, FileEvents, Operation};
use super::{resolve, walk, Failure};
use crate::decide::{FilePlan, PathGrant};

pub(super) fn rm(plan: &FilePlan, events: &mut FileEvents) -> Result<(), Failure> {
    let has = |c: char| plan.options.iter().any(|o| o.starts_with('-') && o[1..].contains(c));
    let (recursive, force) = (has('r'), has('f'));
    for grant in &plan.operands {
        let denied = |why: String| Failure::Denied { path: grant.path.clone(), why };
        let as_directory = plan.as_directory.contains(&grant.path);
        match remove(grant, recursive, as_directory, events) {
            Err(Refused::Errno(Errno::ENOENT)) if force => {}
            Err(Refused::Fenced(at, why)) => return Err(denied(format!("{at}: not removed: {why}"))),
            // Out of the rule, through a link, or into another mount: refused on disk.
            Err(Refused::Errno(errno @ (Errno::EXDEV | Errno::ELOOP))) => {
                return Err(denied(format!("{}: {}", grant.path, explain(errno))))
            }
            Err(Refused::Errno(errno)) => return Err(format!("{}: {}", grant.path, explain(errno)).into()),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Why a removal stopped: an error of the system, or an entry of the tree that the rules
/// fence off (where, and why).
enum Refused {
    Errno(Errno),
    Fenced(String, String),
}

impl From<Errno> for Refused {
    fn from(errno: Errno) -> Self {
        Refused::Errno(errno)
    }
}

fn explain(errno: Errno) -> &'static str {
    match errno {
        Errno::EISDIR => "is a directory (use -r)",
        Errno::EXDEV => "crosses into another mount or out of the rule",
        Errno::ELOOP => "is reached through a symlink",
        Errno::ESTALE => "changed while it was being removed",
        other => other.desc(),
    }
}

/// The parent directory of the operand, opened beneath the rule; and the operand's name.
fn parent_of(grant: &PathGrant) -> Result<(OwnedFd, String), Errno> {
    let (parent, name) = grant.path.rsplit_once('/').ok_or(Errno::EINVAL)?;
    if name.is_empty() || name == "." || name == ".." {
        return Err(Errno::EINVAL);
    }
    let parent = if parent.is_empty() { "/" } else { parent };
    let dir = PathGrant { path: parent.to_string(), ..grant.clone() };
    let fd = resolve::open(&dir, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(|e| errno_of(&e))?;
    Ok((fd, name.to_string()))
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Where a removal is, for its record: its path and the operand whose tree it is in; its
/// real path, and the grant whose fences it must respect.
struct At<'a> {
    path: &'a str,
    operand: &'a str,
    real: &'a str,
    grant: &'a PathGrant,
}

fn remove(
    grant: &PathGrant,
    recursive: bool,
    as_directory: bool,
    events: &mut FileEvents,
) -> Result<(), Refused> {
    let (parent, name) = parent_of(grant)?;
    let stat = fstatat(Some(parent.as_raw_fd()), name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if as_directory && stat.st_mode & libc::S_IFMT == libc::S_IFLNK {
        // `link/` names the directory the link leads to; sudorm never follows a link.
        return Err(Refused::Errno(Errno::ELOOP));
    }
    let parent_real = resolve::real_path(&parent).map_err(|e| errno_of(&e))?;
    let real = walk::join(&parent_real, &name);
    let at = At { path: &grant.path, operand: &grant.path, real: &real, grant };
    remove_at(parent.as_raw_fd(), &name, recursive, 0, &at, events)
}

/// Removes `name` in the directory open at `parent` (kept open by the caller).
fn remove_at(
    parent: RawFd,
    name: &str,
    recursive: bool,
    depth: usize,
    at: &At,
    events: &mut FileEvents,
) -> Result<(), Refused> {
    let stat = fstatat(Some(parent), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if let Some(why) = at.grant.fence(at.real) {
        return Err(Refused::Fenced(at.path.to_string(), why[at.real.len()..].trim_start().to_string()));
    }
    if stat.st_mode & libc::S_IFMT != libc::S_IFDIR {
        let event = removal(parent, name, &stat, at.path, events.has_room())?;
        unlinkat(Some(parent), name, UnlinkatFlags::NoRemoveDir)?;
        events.add(event, at.operand);
        return Ok(());
    }
    if !recursive {
        return Err(Errno::EISDIR.into());
    }
    if depth >= walk::MAX_DEPTH {
        return Err(Errno::ELOOP.into());
    }
    if stat.st_dev != fstat(parent)?.st_dev {
        return Err(Errno::EXDEV.into());
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir = Dir::openat(Some(parent), name, flags, Mode::empty())?;
    let names: Vec<String> = dir
        .iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| n != "." && n != "..")
        .collect();
    for entry in names {
        let (path, real) = (format!("{}/{entry}", at.path), walk::join(at.real, &entry));
        let below = At { path: &path, real: &real, ..*at };
        remove_at(dir.as_raw_fd(), &entry, recursive, depth + 1, &below, events)?;
    }
    drop(dir);
    unlinkat(Some(parent), name, UnlinkatFlags::RemoveDir)?;
    let mut event = FileEvent::new(Operation::Remove, at.path, Some(0));
    event.kind = Some("directory");
    events.add(event, at.operand);
    Ok(())
}

/// The record of removing the non-directory `name`: a regular file's size and content hash
/// (when it will be recorded by itself), read from the very inode found.
fn removal(parent: RawFd, name: &str, stat: &FileStat, path: &str, hashed: bool) -> Result<FileEvent, Errno> {
    let event = FileEvent::new(Operation::Remove, path, Some(stat.st_size as u64));
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFREG if hashed => {
            let fd =
                open_below(parent, name, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(|e| errno_of(&e))?;
            let mut file = std::fs::File::from(fd);
            let opened = fstat(file.as_raw_fd())?;
            if (opened.st_dev, opened.st_ino) != (stat.st_dev, stat.st_ino) {
                return Err(Errno::ESTALE);
            }
            let (bytes, hash) = sha256_of(&mut file).map_err(|e| errno_of(&e))?;
            Ok(FileEvent { bytes: Some(bytes), ..event.hashes(Some(hash), None) })
        }
        libc::S_IFREG => Ok(event),
        kind => {
            let kind = if kind == libc::S_IFLNK { "symlink" } else { "other" };
            Ok(FileEvent { kind: Some(kind), bytes: Some(0), ..event })
        }
    }
}
