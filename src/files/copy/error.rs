//! Why sudocp could not copy a file or an entry of a tree: a refusal (what the rules on disk
//! or the destination forbid) or a failure (cage's own, or the system's).
#![forbid(unsafe_code)]

use std::fmt;
use std::io;

use nix::errno::Errno;

use super::super::resolve;

#[derive(Debug)]
pub(super) enum CopyError {
    /// What stands at the destination name could not be examined.
    Stat(Errno),
    /// `-r` and the destination name is taken.
    Exists,
    /// The destination name is a symlink.
    DestinationSymlink,
    /// The destination name is a directory (and not the one to copy into).
    DestinationDirectory,
    /// The destination name is a device, FIFO or socket.
    DestinationNotRegular,
    /// The file a copy replaces could not be examined for the audit record.
    ReplacedStat(Errno),
    /// The file a copy replaces could not be read for the audit record.
    ReplacedUnreadable(io::Error),
    /// The file a copy replaces changed while it was being hashed.
    ReplacedChanged,
    /// No temporary file could be made in the destination directory.
    Temporary(io::Error),
    /// Writing the copy (content, owner, mode, times) failed.
    Write(io::Error),
    /// The copy could not be renamed over its final name.
    Rename(Errno),
    /// A tree deeper than [`crate::files::walk::MAX_DEPTH`] (a bound cage sets: a refusal).
    TooDeep,
    /// A directory of the copy could not be made.
    Mkdir(Errno),
    /// An entry of the tree, or a directory made for it, could not be opened.
    Open(io::Error),
    /// A directory made for the copy could not be examined.
    Fstat(Errno),
    /// A directory of the tree could not be listed.
    List(Errno),
    /// A directory of the copy could not be given its owner, mode or times.
    Metadata(io::Error),
    /// Left out by the rules on disk (another mount, a denied or secret path).
    Refused(String),
    /// The directory being made by this very copy, reached again.
    TheCopyItself,
    /// A symlink in the tree (never followed).
    Symlink,
    /// An entry that turned out not to be a regular file once opened.
    NotRegular,
    /// A device, FIFO or socket in the tree.
    NotRegularOrDirectory,
    /// A file with hard links outside the rules.
    SharedInode(io::Error),
}

impl CopyError {
    /// Whether an entry of a tree was left out by a refusal (a denial) rather than a failure.
    pub(super) fn is_refusal(&self) -> bool {
        match self {
            CopyError::Refused(_)
            | CopyError::TooDeep
            | CopyError::TheCopyItself
            | CopyError::Symlink
            | CopyError::NotRegular
            | CopyError::NotRegularOrDirectory
            | CopyError::SharedInode(_) => true,
            // A symlink or another mount met by the open itself (the name swapped meanwhile).
            CopyError::Open(e) => resolve::refused(e),
            _ => false,
        }
    }
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let replaced = "the file it replaces cannot be read for the audit record";
        match self {
            CopyError::Stat(e) | CopyError::Rename(e) | CopyError::Mkdir(e) => f.write_str(e.desc()),
            CopyError::Exists => f.write_str("already exists (a tree is copied to a new name only)"),
            CopyError::DestinationSymlink => f.write_str("is a symlink, which is never written through"),
            CopyError::DestinationDirectory => f.write_str("is a directory"),
            CopyError::DestinationNotRegular | CopyError::NotRegular => f.write_str("not a regular file"),
            CopyError::ReplacedStat(e) => write!(f, "{replaced}: {e}"),
            CopyError::ReplacedUnreadable(e) => write!(f, "{replaced}: {e}"),
            CopyError::ReplacedChanged => write!(f, "{replaced}: it changed meanwhile"),
            CopyError::Temporary(e) => write!(f, "cannot create a temporary file: {e}"),
            CopyError::Write(e) | CopyError::Open(e) | CopyError::Metadata(e) | CopyError::SharedInode(e) => {
                write!(f, "{e}")
            }
            CopyError::TooDeep => f.write_str("nested too deeply"),
            CopyError::Fstat(e) | CopyError::List(e) => write!(f, "{e}"),
            CopyError::Refused(why) => f.write_str(why),
            CopyError::TheCopyItself => f.write_str("the copy itself"),
            CopyError::Symlink => f.write_str("a symlink"),
            CopyError::NotRegularOrDirectory => f.write_str("not a regular file or directory"),
        }
    }
}

impl std::error::Error for CopyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_rules_refuse_is_left_out_as_a_refusal() {
        let refused = [
            CopyError::Refused("another mount".into()),
            CopyError::Symlink,
            CopyError::TheCopyItself,
            CopyError::Open(io::Error::from_raw_os_error(libc::EXDEV)),
        ];
        assert!(refused.iter().all(CopyError::is_refusal));
        let failed = [
            CopyError::Write(io::Error::from_raw_os_error(libc::ENOSPC)),
            CopyError::Stat(Errno::ENOENT),
            CopyError::Open(io::Error::from_raw_os_error(libc::EACCES)),
            CopyError::Mkdir(Errno::EROFS),
        ];
        assert!(!failed.iter().any(CopyError::is_refusal));
    }

    #[test]
    fn messages_read_as_before() {
        assert_eq!(CopyError::Stat(Errno::ENOENT).to_string(), "No such file or directory");
        assert_eq!(CopyError::Symlink.to_string(), "a symlink");
        assert_eq!(
            CopyError::ReplacedChanged.to_string(),
            "the file it replaces cannot be read for the audit record: it changed meanwhile"
        );
    }
}
