//! sudocp: copying a readable file (with `-r`, a directory tree) into a read-write rule, as
//! root. Nothing is ever written through an existing name: every file is written to a fresh
//! temporary file in the destination directory (`O_CREAT|O_EXCL`, beneath the rule, no
//! symlink on the way) and renamed over the final name, so a symlink or hard link planted at
//! the destination is replaced, never followed. A symlink *as* the destination is refused
//! outright, like one on the way (`RESOLVE_NO_SYMLINKS`).
//!
//! Ownership and mode: with `-p`, the source's owner, group, mode and times; without it, an
//! existing destination keeps its owner and mode (as `cp` keeps the inode it overwrites) and
//! a new file is root's, with the source's mode less group/other write. Setuid and setgid
//! bits are never copied.
//!
//! Each copied file is recorded with the SHA-256 of what it replaced (read from the file at
//! the destination just before) and of what was written (computed while copying).
#![forbid(unsafe_code)]

mod error;
mod tree;

use std::ffi::CString;
use std::fs::{File, FileTimes, Permissions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{renameat, AtFlags};
use nix::sys::stat::{fstat, fstatat, FileStat};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::events::{copy_hashing, sha256_of, FileEvent, FileEvents, Operation};
use super::{resolve, Failure};
use crate::decide::{FilePlan, PathGrant};
use crate::sys;
use error::CopyError;
use tree::{copy_tree, LeftOut, Tree};

/// Every open below a resolved directory: no symlink, no `..` out, no other mount.
const BELOW: u64 =
    sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS | sys::RESOLVE_NO_XDEV;
/// Setuid and setgid are dropped from every copy.
const KEPT_MODE_BITS: u32 = 0o1777;

struct Options {
    preserve: bool,
    recursive: bool,
    /// The operator's uid (the real uid of this setuid process), for the hard-link rule.
    operator: u32,
    /// The tree's new top directory (device, inode), never copied into itself again (a copy
    /// into its own source, perhaps reached through a symlink inside the rule).
    top: std::cell::Cell<Option<(u64, u64)>>,
    /// The source and destination operands, for the records of a tree's files.
    roots: (String, String),
    events: std::cell::RefCell<FileEvents>,
    /// What a tree's walk did not copy.
    left_out: std::cell::RefCell<LeftOut>,
}

pub(super) fn cp(plan: &FilePlan, events: &mut FileEvents) -> Result<(), Failure> {
    let [src, ..] = plan.operands.as_slice() else {
        return Err("usage: sudocp [-p] [-r] SOURCE DESTINATION".into());
    };
    let mut options = Options {
        preserve: false,
        recursive: false,
        operator: nix::unistd::getuid().as_raw(),
        top: std::cell::Cell::new(None),
        roots: (src.path.clone(), String::new()),
        events: std::cell::RefCell::new(std::mem::take(events)),
        left_out: Default::default(),
    };
    let copied = copy(plan, &mut options);
    // What was copied is recorded, also when the command failed part way.
    *events = options.events.into_inner();
    copied
}

fn copy(plan: &FilePlan, options: &mut Options) -> Result<(), Failure> {
    let has = |c: char| plan.options.iter().any(|o| o.starts_with('-') && o[1..].contains(c));
    (options.preserve, options.recursive) = (has('p'), has('r'));
    let [src, dst, into] = plan.operands.as_slice() else {
        return Err("usage: sudocp [-p] [-r] SOURCE DESTINATION".into());
    };
    let source =
        resolve::open(src, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(|e| Failure::of_open(&e, src))?;
    let real = resolve::real_path(&source).map_err(|e| format!("{}: {e}", src.path))?;
    let stat = fstat(source.as_raw_fd()).map_err(|e| format!("{}: {e}", src.path))?;
    let (parent, name, shown) = destination(dst, into, options.recursive)?;
    options.roots.1 = shown.path.clone();
    let options = &*options;
    let at = |e: CopyError| Failure::Failed(format!("{}: {e}", shown.path));
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFDIR if !options.recursive => Err(format!("{}: is a directory (use -r)", src.path).into()),
        libc::S_IFDIR => {
            let tree = Tree { real: &real, shown: &shown.path, depth: 0, src };
            copy_tree(&source, &stat, parent.as_raw_fd(), &name, options, &tree).map_err(at)?;
            let left_out = options.left_out.take();
            let why = format!("not copied: {}", left_out.entries.join(", "));
            match (left_out.entries.is_empty(), left_out.failed) {
                (true, _) => Ok(()),
                // An entry whose copy failed makes the whole copy a failure.
                (false, true) => Err(Failure::Failed(why)),
                // What the walk would not enter or read is refused, and said.
                (false, false) => Err(Failure::Denied { path: src.path.clone(), why }),
            }
        }
        libc::S_IFREG => {
            resolve::refuse_shared_inode(&stat, options.operator)
                .map_err(|e| Failure::Denied { path: src.path.clone(), why: format!("{}: {e}", src.path) })?;
            copy_file(File::from(source), &stat, parent.as_raw_fd(), &name, options, &shown.path).map_err(at)
        }
        _ => Err(Failure::Denied {
            path: src.path.clone(),
            why: format!("{}: not a regular file or directory", src.path),
        }),
    }
}

/// The directory to write in, the name to write, and the grant that allowed that name: an
/// existing directory receives `DST/NAME` (the decision's third operand); anything else is
/// replaced (or created) as `DST`. With `-r` the destination must be an existing directory.
fn destination(
    dst: &PathGrant,
    into: &PathGrant,
    recursive: bool,
) -> Result<(OwnedFd, String, PathGrant), Failure> {
    let target = match resolve::open(dst, libc::O_PATH, 0) {
        Ok(fd) => {
            let stat = fstat(fd.as_raw_fd()).map_err(|e| format!("{}: {e}", dst.path))?;
            match stat.st_mode & libc::S_IFMT {
                libc::S_IFDIR => Some(fd),
                libc::S_IFREG if !recursive => None,
                libc::S_IFREG => {
                    return Err(format!("{}: -r copies into an existing directory", dst.path).into())
                }
                _ => {
                    let why = format!("{}: not a regular file or directory", dst.path);
                    return Err(Failure::Denied { path: dst.path.clone(), why });
                }
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !recursive => None,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Err(
                format!("{}: -r copies into an existing directory, and there is none", dst.path).into()
            )
        }
        Err(e) => return Err(Failure::of_open(&e, dst)),
    };
    let (parent, shown) = match target {
        Some(dir) => (dir, into.clone()),
        None => (open_parent(dst, libc::O_PATH)?, dst.clone()),
    };
    let name = shown.path.rsplit('/').next().unwrap_or_default().to_string();
    refuse_existing(parent.as_raw_fd(), &name, recursive)
        .map_err(|e| Failure::Failed(format!("{}: {e}", shown.path)))?;
    Ok((parent, name, shown))
}

/// The directory holding `grant`, opened beneath the rule without any symlink.
pub(super) fn open_parent(grant: &PathGrant, flags: libc::c_int) -> Result<OwnedFd, Failure> {
    let parent = match grant.path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((parent, _)) => parent,
        None => return Err(format!("{}: not an absolute path", grant.path).into()),
    };
    let dir = PathGrant { path: parent.to_string(), ..grant.clone() };
    resolve::open(&dir, flags | libc::O_DIRECTORY, 0).map_err(|e| Failure::of_open(&e, &dir))
}

/// What may already stand at the final name: nothing, or (not for `-r`) a regular file.
fn refuse_existing(parent: RawFd, name: &str, recursive: bool) -> Result<(), CopyError> {
    match fstatat(Some(parent), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(CopyError::Stat(e)),
        Ok(_) if recursive => Err(CopyError::Exists),
        Ok(stat) => match stat.st_mode & libc::S_IFMT {
            libc::S_IFREG => Ok(()),
            libc::S_IFLNK => Err(CopyError::DestinationSymlink),
            libc::S_IFDIR => Err(CopyError::DestinationDirectory),
            _ => Err(CopyError::DestinationNotRegular),
        },
    }
}

fn cstring(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Opens `name` right below the directory `dir`.
pub(super) fn open_below(dir: RawFd, name: &str, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    sys::openat2(dir, &cstring(name)?, flags | libc::O_NOFOLLOW | libc::O_NOCTTY, mode, BELOW)
}

/// A fresh, exclusive temporary file in `dir`: (its name, the file).
pub(super) fn temporary(dir: RawFd) -> io::Result<(String, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
    loop {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(".cage-tmp.{}.{nanos:x}.{n}", std::process::id());
        match open_below(dir, &name, flags, 0o600) {
            Ok(fd) => return Ok((name, File::from(fd))),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && n < 100 => continue,
            Err(e) => return Err(e),
        }
    }
}

fn time(seconds: i64, nanos: i64) -> SystemTime {
    let at = Duration::new(seconds.unsigned_abs(), nanos.clamp(0, 999_999_999) as u32);
    if seconds >= 0 {
        UNIX_EPOCH + at
    } else {
        UNIX_EPOCH - at
    }
}

/// Owner, mode and (with `-p`) times of a copy, from the source or what it replaces.
fn finish_metadata(
    file: &File,
    source: &FileStat,
    replaced: Option<&FileStat>,
    options: &Options,
) -> io::Result<()> {
    let (owner, mode) = match (options.preserve, replaced) {
        (true, _) => ((source.st_uid, source.st_gid), source.st_mode),
        (false, Some(old)) => ((old.st_uid, old.st_gid), old.st_mode),
        // Root's, as `cp` run by root makes it (this process's group is the operator's).
        (false, None) => ((0, 0), source.st_mode & 0o777 & !0o022),
    };
    std::os::unix::fs::fchown(file, Some(owner.0), Some(owner.1))?;
    file.set_permissions(Permissions::from_mode(mode & KEPT_MODE_BITS))?;
    if options.preserve {
        let times = FileTimes::new()
            .set_accessed(time(source.st_atime, source.st_atime_nsec))
            .set_modified(time(source.st_mtime, source.st_mtime_nsec));
        file.set_times(times)?;
    }
    Ok(())
}

/// Copies the open regular file `source` to `name` in `dir`: temporary file, then rename;
/// records it as the copy at `path`.
fn copy_file(
    mut source: File,
    stat: &FileStat,
    dir: RawFd,
    name: &str,
    options: &Options,
    path: &str,
) -> Result<(), CopyError> {
    let replaced = fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW).ok();
    let before = match &replaced {
        Some(old) if old.st_mode & libc::S_IFMT == libc::S_IFREG => Some(hash_of(dir, name, old)?),
        _ => None,
    };
    let (temp, mut file) = temporary(dir).map_err(CopyError::Temporary)?;
    let written = copy_hashing(&mut source, &mut file)
        .and_then(|done| finish_metadata(&file, stat, replaced.as_ref(), options).map(|()| done))
        .map_err(CopyError::Write)
        .and_then(|done| {
            renameat(Some(dir), temp.as_str(), Some(dir), name).map(|()| done).map_err(CopyError::Rename)
        });
    let (bytes, after) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = unlinkat(Some(dir), temp.as_str(), UnlinkatFlags::NoRemoveDir);
            return Err(e);
        }
    };
    let mut event = FileEvent::new(Operation::Copy, path, Some(bytes)).hashes(before, Some(after));
    let (src_root, dst_root) = &options.roots;
    event.source = Some(format!("{src_root}{}", path.strip_prefix(dst_root.as_str()).unwrap_or_default()));
    options.events.borrow_mut().add(event, dst_root);
    Ok(())
}

/// The content a copy replaces: the regular file `name` in `dir`, the one `old` describes.
fn hash_of(dir: RawFd, name: &str, old: &FileStat) -> Result<String, CopyError> {
    let fd =
        open_below(dir, name, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(CopyError::ReplacedUnreadable)?;
    let opened = fstat(fd.as_raw_fd()).map_err(CopyError::ReplacedStat)?;
    if (opened.st_dev, opened.st_ino) != (old.st_dev, old.st_ino) {
        return Err(CopyError::ReplacedChanged);
    }
    sha256_of(&mut File::from(fd)).map(|(_, hash)| hash).map_err(CopyError::ReplacedUnreadable)
}
