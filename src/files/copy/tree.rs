//! `sudocp -r`: copying a directory tree entry by entry, leaving out what the rules on disk
//! refuse and saying so.
#![forbid(unsafe_code)]

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode};

use super::error::CopyError;
use super::{copy_file, finish_metadata, open_below, Options};
use crate::decide::PathGrant;
use crate::files::resolve;

/// A place in the source tree of `sudocp -r`: its real path, its path as the operator is
/// shown it, how deep below the top it lies, and the grant the tree is walked under.
pub(super) struct Tree<'t> {
    pub(super) real: &'t str,
    pub(super) shown: &'t str,
    pub(super) depth: usize,
    pub(super) src: &'t PathGrant,
}

/// The entries of a tree that were not copied, each as `PATH (why)`, and whether any of them
/// failed (rather than being refused).
#[derive(Default)]
pub(super) struct LeftOut {
    pub(super) entries: Vec<String>,
    pub(super) failed: bool,
}

/// Copies the directory open at `source` to a new directory `name` in `dir`. Entries are
/// reached from directory fds with no symlink and no other mount; symlinks, devices, FIFOs,
/// sockets, shared inodes and other mounts are left out and reported, as is an entry whose
/// copy failed (then the whole copy failed).
pub(super) fn copy_tree(
    source: &OwnedFd,
    stat: &FileStat,
    dir: RawFd,
    name: &str,
    options: &Options,
    tree: &Tree,
) -> Result<(), CopyError> {
    if tree.depth >= crate::files::walk::MAX_DEPTH {
        return Err(CopyError::TooDeep);
    }
    mkdirat(Some(dir), name, Mode::from_bits_truncate(0o700)).map_err(CopyError::Mkdir)?;
    let made = open_below(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(CopyError::Open)?;
    if tree.depth == 0 {
        let made = fstat(made.as_raw_fd()).map_err(CopyError::Fstat)?;
        options.top.set(Some((made.st_dev, made.st_ino)));
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut listing =
        Dir::openat(Some(source.as_raw_fd()), ".", flags, Mode::empty()).map_err(CopyError::List)?;
    let mut names: Vec<String> = listing
        .iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    for entry in names {
        let path = format!("{}/{entry}", tree.shown);
        let real = crate::files::walk::join(tree.real, &entry);
        let below = Tree { real: &real, shown: &path, depth: tree.depth + 1, src: tree.src };
        if let Err(why) = copy_entry(source.as_raw_fd(), stat, made.as_raw_fd(), &entry, options, &below) {
            let mut left_out = options.left_out.borrow_mut();
            left_out.failed |= !why.is_refusal();
            left_out.entries.push(format!("{path} ({why})"));
        }
    }
    let made = File::from(made);
    finish_metadata(&made, stat, None, options).map_err(CopyError::Metadata)
}

fn copy_entry(
    source: RawFd,
    parent: &FileStat,
    made: RawFd,
    entry: &str,
    options: &Options,
    tree: &Tree,
) -> Result<(), CopyError> {
    let stat = fstatat(Some(source), entry, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(CopyError::Stat)?;
    // The tree's own rule on disk: no other mount, nothing denied or secret (files included;
    // only directories are compared by device: overlayfs gives files their layer's).
    let refused = match stat.st_mode & libc::S_IFMT {
        libc::S_IFDIR => crate::files::walk::refusal(tree.src, parent, &stat, tree.real),
        _ => tree.src.fence(tree.real).map(|why| why[tree.real.len()..].trim_start().to_string()),
    };
    if let Some(why) = refused {
        return Err(CopyError::Refused(why));
    }
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFDIR if options.top.get() == Some((stat.st_dev, stat.st_ino)) => {
            Err(CopyError::TheCopyItself)
        }
        libc::S_IFDIR => {
            let fd =
                open_below(source, entry, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(CopyError::Open)?;
            copy_tree(&fd, &stat, made, entry, options, tree)
        }
        libc::S_IFREG => {
            let fd =
                open_below(source, entry, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(CopyError::Open)?;
            // The checked name may have been swapped since: the checks are on what was opened.
            let opened = fstat(fd.as_raw_fd()).map_err(CopyError::Fstat)?;
            if opened.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(CopyError::NotRegular);
            }
            resolve::refuse_shared_inode(&opened, options.operator).map_err(CopyError::SharedInode)?;
            copy_file(File::from(fd), &opened, made, entry, options, tree.shown)
        }
        libc::S_IFLNK => Err(CopyError::Symlink),
        _ => Err(CopyError::NotRegularOrDirectory),
    }
}
