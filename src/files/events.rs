//! What the file commands did to which file, collected while they run and written as `file`
//! audit records by whoever runs them (the file-command child, the sudovi supervisor, the
//! monitor for redirections): this module builds the records, it never writes them.
#![forbid(unsafe_code)]

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::audit::Entry;

/// One command records at most this many files one by one (a `sudorm -r` or `sudocp -r` of
/// a large tree); the rest of each operand's tree is one summary record.
pub(crate) const MAX_RECORDS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Write,
    Append,
    Copy,
    Remove,
    Edit,
    List,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Append => "append",
            Operation::Copy => "copy",
            Operation::Remove => "remove",
            Operation::Edit => "edit",
            Operation::List => "list",
        }
    }

    /// Writes say what content they replaced and wrote.
    fn writes(self) -> bool {
        !matches!(self, Operation::Read | Operation::List)
    }
}

/// One `file` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    pub operation: Operation,
    /// The path as granted (resolved beneath its rule).
    pub path: String,
    /// Bytes read or written; `None` when not known yet (a redirection, before the command).
    pub bytes: Option<u64>,
    /// For writes, SHA-256 in hex of the content replaced or removed (`None`: there was none).
    pub sha256_before: Option<String>,
    /// For writes, SHA-256 in hex of the content written (`None`: nothing, or not known yet).
    pub sha256_after: Option<String>,
    /// What a copy was made from.
    pub source: Option<String>,
    /// A removed entry that was not a regular file: `directory`, `symlink` or `other`.
    pub kind: Option<&'static str>,
    /// A summary record: how many entries it stands for.
    pub summarized: Option<u64>,
    /// Refused while acting: why (the record is a denial).
    pub refused: Option<String>,
}

impl FileEvent {
    pub fn new(operation: Operation, path: &str, bytes: Option<u64>) -> Self {
        FileEvent {
            operation,
            path: path.to_string(),
            bytes,
            sha256_before: None,
            sha256_after: None,
            source: None,
            kind: None,
            summarized: None,
            refused: None,
        }
    }

    /// The record of a refusal found while acting on `path`.
    pub fn refused(operation: Operation, path: &str, why: &str) -> Self {
        FileEvent { refused: Some(why.to_string()), ..FileEvent::new(operation, path, None) }
    }

    pub fn hashes(mut self, before: Option<String>, after: Option<String>) -> Self {
        (self.sha256_before, self.sha256_after) = (before, after);
        self
    }

    /// The `file` record (cwd, title and argv are the caller's to fill in).
    pub fn entry(&self) -> Entry {
        let optional = |v: &Option<String>| v.clone().map_or(serde_json::Value::Null, Into::into);
        let mut entry = Entry::new("file")
            .with("operation", self.operation.as_str())
            .with("path", self.path.clone())
            .with("bytes", self.bytes.map_or(serde_json::Value::Null, Into::into));
        if self.operation.writes() {
            entry = entry
                .with("sha256_before", optional(&self.sha256_before))
                .with("sha256_after", optional(&self.sha256_after));
        }
        if let Some(source) = &self.source {
            entry = entry.with("source", source.clone());
        }
        if let Some(kind) = self.kind {
            entry = entry.with("kind", kind);
        }
        if let Some(n) = self.summarized {
            entry = entry.with("summarized", n);
        }
        if let Some(why) = &self.refused {
            entry = entry.with("reason", why.clone());
            entry.decision = Some(crate::audit::Verdict::Deny);
        }
        entry
    }
}

/// The records of one command, bounded by [`MAX_RECORDS`].
#[derive(Debug, Default)]
pub struct FileEvents {
    events: Vec<FileEvent>,
    /// Past the bound: one record per operation and operand, counting what it stands for.
    summaries: Vec<FileEvent>,
}

impl FileEvents {
    /// Whether the next event is recorded by itself (else only counted): hashing what will
    /// only be counted is skipped.
    pub fn has_room(&self) -> bool {
        self.events.len() < MAX_RECORDS
    }

    /// Adds `event`, which belongs to the operand `operand` (the top of its tree).
    pub fn add(&mut self, event: FileEvent, operand: &str) {
        if self.has_room() {
            self.events.push(event);
            return;
        }
        let at = self.summaries.iter().position(|s| s.operation == event.operation && s.path == operand);
        let summary = match at {
            Some(at) => &mut self.summaries[at],
            None => {
                let mut summary = FileEvent::new(event.operation, operand, Some(0));
                summary.summarized = Some(0);
                self.summaries.push(summary);
                self.summaries.last_mut().expect("just pushed")
            }
        };
        summary.summarized = summary.summarized.map(|n| n + 1);
        summary.bytes = Some(summary.bytes.unwrap_or(0) + event.bytes.unwrap_or(0));
    }

    /// Every record, in order, summaries last.
    pub fn into_vec(self) -> Vec<FileEvent> {
        let mut all = self.events;
        all.extend(self.summaries);
        all
    }
}

/// SHA-256 of `bytes`, lowercase hex (the audit chain's own hash function).
pub(crate) use crate::audit::chain::sha256_hex;

/// Reads `reader` to its end: (bytes, SHA-256 in hex).
pub(crate) fn sha256_of(reader: &mut dyn Read) -> io::Result<(u64, String)> {
    copy_hashing(reader, &mut io::sink())
}

/// Copies `reader` to `writer`, hashing what passes: (bytes, SHA-256 in hex of them).
pub(crate) fn copy_hashing(reader: &mut dyn Read, writer: &mut dyn io::Write) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 17];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok((total, crate::audit::record::hex(&hasher.finalize()))),
            Ok(n) => {
                writer.write_all(&buffer[..n])?;
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Counts the bytes a writer accepts (for a read's `bytes`: what the command sent).
pub(crate) struct Counted<'a> {
    pub inner: &'a mut dyn io::Write,
    pub bytes: u64,
}

impl io::Write for Counted<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// sha256 of "hello\n", as `sha256sum` prints it.
    const HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn hashes_match_sha256sum_whichever_way_they_are_computed() {
        assert_eq!(sha256_hex(b"hello\n"), HELLO);
        assert_eq!(sha256_of(&mut &b"hello\n"[..]).expect("read"), (6, HELLO.to_string()));
        let mut copy = Vec::new();
        assert_eq!(copy_hashing(&mut &b"hello\n"[..], &mut copy).expect("copy"), (6, HELLO.to_string()));
        assert_eq!(copy, b"hello\n");
        let big = vec![7u8; (1 << 17) * 3 + 5];
        assert_eq!(sha256_of(&mut &big[..]).expect("read").1, sha256_hex(&big), "across buffers");
    }

    #[test]
    fn a_write_has_both_hashes_even_when_null_and_a_read_has_none() {
        let write = FileEvent::new(Operation::Write, "/u01/x", Some(6)).hashes(None, Some(HELLO.into()));
        let entry = write.entry();
        assert_eq!(entry.event, "file");
        assert_eq!(
            serde_json::Value::Object(entry.extra),
            json!({"operation": "write", "path": "/u01/x", "bytes": 6, "sha256_before": null, "sha256_after": HELLO})
        );
        let read = FileEvent::new(Operation::Read, "/var/log/x", Some(10)).entry();
        assert_eq!(
            serde_json::Value::Object(read.extra),
            json!({"operation": "read", "path": "/var/log/x", "bytes": 10})
        );
        let mut copy = FileEvent::new(Operation::Copy, "/u01/y", None);
        copy.source = Some("/var/log/y".into());
        let extra = copy.entry().extra;
        assert_eq!((extra["source"].as_str(), extra["bytes"].is_null()), (Some("/var/log/y"), true));
    }

    #[test]
    fn past_the_bound_a_tree_is_one_summary_per_operand() {
        let mut events = FileEvents::default();
        for i in 0..MAX_RECORDS + 5 {
            assert_eq!(events.has_room(), i < MAX_RECORDS);
            events.add(FileEvent::new(Operation::Remove, &format!("/u01/t/{i}"), Some(2)), "/u01/t");
        }
        events.add(FileEvent::new(Operation::Remove, "/u01/u/a", Some(3)), "/u01/u");
        let all = events.into_vec();
        assert_eq!(all.len(), MAX_RECORDS + 2);
        assert_eq!(all[MAX_RECORDS - 1].path, format!("/u01/t/{}", MAX_RECORDS - 1));
        let summary = &all[MAX_RECORDS];
        assert_eq!((summary.path.as_str(), summary.summarized, summary.bytes), ("/u01/t", Some(5), Some(10)));
        let extra = summary.entry().extra;
        assert!(extra["sha256_before"].is_null() && extra["summarized"] == 5, "{extra:?}");
        assert_eq!(
            (all[MAX_RECORDS + 1].path.as_str(), all[MAX_RECORDS + 1].summarized),
            ("/u01/u", Some(1))
        );
    }
}
