//! Rotation: the live file gets a dated name and a new file continues its chain with a
//! `rotate` record, under the writers' lock so that no record lands in between.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use serde_json::{Map, Value};

use super::chain::{seal, Head};
use super::file::{last_record, open_locked, Written};

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rotated {
    /// The old file's new name (`PATH.STAMP`).
    pub old: String,
    /// The first record of the new file.
    pub written: Written,
}

/// Rotates `path` to `PATH.STAMP`; `build(seq, prev, old_name)` makes the new file's first
/// record. At every instant `path` names a whole file whose chain is intact: the old file
/// first gets its dated name as a second link, then the new file, complete and synced,
/// replaces `path` in one rename. (Renaming the old file away first would leave a moment with
/// no file, in which a writer would create an empty one and start a fresh chain.) Writers
/// blocked on the old file's lock notice it is no longer `path` and reopen. `then` sees the
/// new record before the lock is released (as in `file::append`).
pub(super) fn rotate(
    path: &str,
    stamp: &str,
    build: impl FnOnce(u64, &str, &str) -> Map<String, Value>,
    then: impl FnOnce(&Written),
) -> io::Result<Rotated> {
    let locked = open_locked(path)?;
    let head = last_record(&locked)?;
    if head.seq == 0 {
        return Err(io::Error::other(format!("{path} is empty: nothing to rotate")));
    }
    let old = format!("{path}.{stamp}");
    std::fs::hard_link(path, &old).map_err(|e| io::Error::new(e.kind(), format!("{old}: {e}")))?;
    let swapped = old_is_locked(&old, &locked).and_then(|()| {
        let name = Path::new(&old).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (line, hash) = seal(build(head.seq + 1, &head.hash, &name));
        let next = format!("{path}.next");
        write_new(&next, &line).and_then(|()| std::fs::rename(&next, path)).inspect_err(|_| {
            let _ = std::fs::remove_file(&next);
        })?;
        Ok(Written { head: Head { seq: head.seq + 1, hash }, line })
    });
    let written = match swapped {
        Ok(written) => written,
        Err(e) => {
            // `path` is still the old file: its dated second name goes again.
            let _ = std::fs::remove_file(&old);
            return Err(e);
        }
    };
    sync_parent(path)?;
    then(&written);
    drop(locked);
    Ok(Rotated { old, written })
}

/// The dated link names the file we hold locked (nothing swapped `path` under us).
fn old_is_locked(old: &str, locked: &File) -> io::Result<()> {
    let (linked, held) = (std::fs::symlink_metadata(old)?, locked.metadata()?);
    match linked.ino() == held.ino() && linked.dev() == held.dev() {
        true => Ok(()),
        false => Err(io::Error::other(format!("{old} is not the file being rotated"))),
    }
}

/// Writes the new file's first line and syncs it. A `.next` file left by an interrupted
/// rotation was never live, so it is replaced.
fn write_new(next: &str, line: &str) -> io::Result<()> {
    match std::fs::remove_file(next) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(next)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}

/// Makes both names durable: after a crash the directory shows the rotation whole or not at all.
fn sync_parent(path: &str) -> io::Result<()> {
    let parent = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(parent)?.sync_all()
}
