//! The audit file: records appended under an exclusive lock, each synced to disk before the
//! caller goes on. The lock makes the chain's `seq`/`prev` of concurrent sessions one order.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value};

use super::chain::{seal, Head};

/// A record as it now stands in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Written {
    pub head: Head,
    /// The line, without its end of line.
    pub line: String,
}

/// When a record must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// Synced before `append` returns: a record that announces an action.
    Now,
    /// Written now, synced by the next `Now` record of the file or by [`sync`]: a record that
    /// reports what already happened (an `exit`).
    Soon,
}

/// Appends one record: `build(seq, prev)` makes it once the lock is held and the chain's head
/// is known. With [`Durability::Now`] the record is on disk when this returns `Ok`; on any
/// error nothing of it stays in the file. `then` sees the record still under the lock, so what
/// it passes on (syslog) goes out in the chain's order.
pub(super) fn append(
    path: &str,
    durability: Durability,
    build: impl FnOnce(u64, &str) -> Map<String, Value>,
    then: impl FnOnce(&Written),
) -> io::Result<Written> {
    let locked = open_locked(path)?;
    let head = last_record(&locked)?;
    let (line, hash) = seal(build(head.seq + 1, &head.hash));
    let size = locked.metadata()?.len();
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let written = (&*locked).write_all(&bytes).and_then(|()| match durability {
        Durability::Now => locked.sync_data(),
        Durability::Soon => Ok(()),
    });
    if let Err(e) = written {
        // A torn or unsynced record must not stay: the command it announces will not run.
        let _ = locked.set_len(size);
        let _ = locked.sync_data();
        return Err(e);
    }
    let written = Written { head: Head { seq: head.seq + 1, hash }, line };
    then(&written);
    Ok(written)
}

/// Puts on disk whatever was written to `path` and not yet synced (`Durability::Soon`).
pub(super) fn sync(path: &str) -> io::Result<()> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    file.sync_data()
}

/// Opens `path` for appending (created 0600 when missing, never through a symlink) and locks
/// it; retries when the file was renamed (rotated) while we waited for the lock.
pub(super) fn open_locked(path: &str) -> io::Result<Flock<File>> {
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)?;
        check_trusted(&file, path)?;
        let locked =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))?;
        let (held, named) = (locked.metadata()?, std::fs::symlink_metadata(path));
        if named.is_ok_and(|n| n.ino() == held.ino() && n.dev() == held.dev()) {
            return Ok(locked);
        }
    }
    Err(io::Error::other(format!("{path} keeps being replaced")))
}

fn check_trusted(file: &File, path: &str) -> io::Result<()> {
    let meta = file.metadata()?;
    let problem = match () {
        _ if !meta.file_type().is_file() => "is not a regular file",
        _ if meta.uid() != nix::unistd::geteuid().as_raw() => "is not owned by cage's user (root)",
        _ if meta.mode() & 0o022 != 0 => "is writable by group or others",
        _ => return Ok(()),
    };
    Err(io::Error::other(format!("{path} {problem}")))
}

/// The head of the chain in `file`: its last record's seq and hash, read backwards from the
/// end (records can be long: the scan goes back until it finds the line's start).
pub(super) fn last_record(file: &File) -> io::Result<Head> {
    let size = file.metadata()?.len();
    if size == 0 {
        return Ok(Head::genesis());
    }
    let mut tail: Vec<u8> = Vec::new();
    let mut end = size;
    // A record is usually well under 4 KiB; a long one is found by reading further back.
    let mut chunk = 4096u64;
    loop {
        let start = end.saturating_sub(chunk);
        chunk = (chunk * 2).min(1 << 20);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.read_exact_at(&mut chunk, start)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        if tail.last() != Some(&b'\n') {
            return Err(io::Error::other(
                "the audit file ends in a cut-short record: run `cagectl audit verify`",
            ));
        }
        let body = &tail[..tail.len() - 1];
        if let Some(newline) = body.iter().rposition(|&b| b == b'\n') {
            return parse_head(&body[newline + 1..]);
        }
        if start == 0 {
            return parse_head(body);
        }
        end = start;
    }
}

fn parse_head(line: &[u8]) -> io::Result<Head> {
    let bad = || io::Error::other("the audit file's last record is not valid: run `cagectl audit verify`");
    // Only the chain's two fields are kept: the rest of the record is checked as JSON and
    // skipped, not built into a map.
    #[derive(serde::Deserialize)]
    struct Chained {
        seq: u64,
        hash: String,
    }
    let Chained { seq, hash } = serde_json::from_slice(line).map_err(|_| bad())?;
    Ok(Head { seq, hash })
}
