//! sudorm: removing under read-write rules. Every removal is `unlinkat` on a directory fd
//! reached beneath the rule without any symlink: a symlink is removed itself, never followed;
//! `-r` descends with O_NOFOLLOW and never into another mount; a rule's own directory is
//! refused by the decision before this runs.
#![forbid(unsafe_code)]

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::resolve;
use crate::decide::{FilePlan, PathGrant};

/// Deep enough for any log tree, bounded against pathological nesting.
const MAX_DEPTH: usize = 64;

pub fn rm(plan: &FilePlan) -> Result<(), String> {
    let has = |c: char| plan.options.iter().any(|o| o.starts_with('-') && o[1..].contains(c));
    let (recursive, force) = (has('r'), has('f'));
    for grant in &plan.operands {
        match remove(grant, recursive) {
            Err(Errno::ENOENT) if force => {}
            Err(errno) => return Err(format!("{}: {}", grant.path, explain(errno))),
            Ok(()) => {}
        }
    }
    Ok(())
}

fn explain(errno: Errno) -> &'static str {
    match errno {
        Errno::EISDIR => "is a directory (use -r)",
        Errno::EXDEV => "crosses into another mount or out of the rule",
        Errno::ELOOP => "is reached through a symlink",
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

fn remove(grant: &PathGrant, recursive: bool) -> Result<(), Errno> {
    let (parent, name) = parent_of(grant)?;
    remove_at(parent.as_raw_fd(), &name, recursive, 0)
}

/// Removes `name` in the directory open at `parent` (kept open by the caller).
fn remove_at(parent: RawFd, name: &str, recursive: bool, depth: usize) -> Result<(), Errno> {
    let stat = fstatat(Some(parent), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return unlinkat(Some(parent), name, UnlinkatFlags::NoRemoveDir);
    }
    if !recursive {
        return Err(Errno::EISDIR);
    }
    if depth >= MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    if stat.st_dev != fstat(parent)?.st_dev {
        return Err(Errno::EXDEV);
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
        remove_at(dir.as_raw_fd(), &entry, recursive, depth + 1)?;
    }
    drop(dir);
    unlinkat(Some(parent), name, UnlinkatFlags::RemoveDir)
}
