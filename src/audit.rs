//! The audit trail: one JSON record per line, chained by SHA-256, each written and synced
//! before what it records happens; a record that cannot be written refuses the action.
//! The exact form is in docs/audit.md.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod chain;
mod file;
pub mod record;
mod rotate;
pub mod syslog;

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use chain::{sha256_hex, verify, Break, Head, Verified};
use file::Durability;
pub use record::{EndReason, Entry, SessionFields, Verdict};

use crate::config::AuditConfig;
use crate::time::Timestamp;

/// Why a record could not be written; the action it announced is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError(pub String);

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit unavailable ({})", self.0)
    }
}

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    File(String),
    /// Nowhere: only for measuring what the durable write costs (`make bench`).
    Discard,
}

/// The audit trail of one session.
#[derive(Debug, Clone)]
pub struct Audit {
    target: Target,
    /// The syslog socket each record also goes to, when configured.
    syslog: Option<PathBuf>,
    /// Records of this session that did not reach syslog; every later record says how many.
    unsent: Arc<AtomicU64>,
    pub fields: SessionFields,
}

impl Audit {
    pub fn to_file(config: &AuditConfig, fields: SessionFields) -> Self {
        let syslog = config.syslog.then(|| PathBuf::from(syslog::SOCKET));
        Audit { target: Target::File(config.file.clone()), syslog, unsent: Arc::default(), fields }
    }

    pub fn discard(fields: SessionFields) -> Self {
        Audit { target: Target::Discard, syslog: None, unsent: Arc::default(), fields }
    }

    /// Writes `entry` as the next record of the chain, durably; `Err` means it is not there.
    /// Then it goes to syslog too (still under the file's lock, so in the chain's order), whose
    /// failure changes nothing but a count.
    pub fn record(&self, entry: &Entry) -> Result<Head, AuditError> {
        self.append(entry, Durability::Now)
    }

    /// Writes `entry` as the next record of the chain without waiting for the disk: the
    /// session's next durable record, or [`Audit::sync`] once the prompt is shown, puts it there
    /// before anything further happens. For what announces nothing that has an effect: an
    /// `exit` (the command is over), and the `login` (the session does nothing before its
    /// first command's record or its first prompt).
    pub fn record_deferred(&self, entry: &Entry) -> Result<Head, AuditError> {
        self.append(entry, Durability::Soon)
    }

    /// Puts on disk the records deferred since the last durable one.
    pub fn sync(&self) -> Result<(), AuditError> {
        match &self.target {
            Target::File(path) => file::sync(path).map_err(|e| AuditError(format!("{path}: {e}"))),
            Target::Discard => Ok(()),
        }
    }

    fn append(&self, entry: &Entry, durability: Durability) -> Result<Head, AuditError> {
        let ts = Timestamp::now();
        let entry = self.with_unsent(entry);
        match &self.target {
            Target::File(path) => {
                let build = |seq, prev: &str| record::unsealed(&self.fields, &entry, seq, prev, ts);
                let written =
                    file::append(path, durability, build, |written| self.to_syslog(&entry, ts, written))
                        .map_err(|e| AuditError(format!("{path}: {e}")))?;
                Ok(written.head)
            }
            Target::Discard => {
                let unsealed = record::unsealed(&self.fields, &entry, 1, chain::GENESIS, ts);
                Ok(Head { seq: 1, hash: chain::seal(unsealed).1 })
            }
        }
    }

    /// Renames the file to `FILE.STAMP` and starts a new one with `entry` (a `rotate` record,
    /// given `prev_file`) continuing the chain; returns the old file's new name.
    pub fn rotate(&self, entry: &Entry) -> Result<(String, Head), AuditError> {
        let Target::File(path) = &self.target else {
            return Err(AuditError("no audit file to rotate".into()));
        };
        let ts = Timestamp::now();
        let stamp: String = ts.to_rfc3339().chars().filter(|c| !matches!(c, '-' | ':')).collect();
        let build = |seq, prev: &str, old: &str| {
            record::unsealed(&self.fields, &entry.clone().with("prev_file", old), seq, prev, ts)
        };
        let rotated = rotate::rotate(path, &stamp, build, |written| self.to_syslog(entry, ts, written))
            .map_err(|e| AuditError(format!("{path}: {e}")))?;
        Ok((rotated.old, rotated.written.head))
    }

    /// `entry`, plus how many earlier records of this session syslog missed, if any.
    fn with_unsent<'e>(&self, entry: &'e Entry) -> Cow<'e, Entry> {
        match self.unsent.load(Ordering::Relaxed) {
            0 => Cow::Borrowed(entry),
            n => Cow::Owned(entry.clone().with("syslog_unsent", n)),
        }
    }

    fn to_syslog(&self, entry: &Entry, ts: Timestamp, written: &file::Written) {
        let Some(socket) = &self.syslog else { return };
        let message = syslog::format(&syslog::Message {
            ts,
            host: &self.fields.host,
            pid: self.fields.pid,
            event: entry.event,
            denied: entry.decision == Some(Verdict::Deny),
            req: &self.fields.req_auth_id,
            session: &self.fields.session,
            seq: written.head.seq,
            record: &written.line,
        });
        if syslog::send(socket, message.as_bytes()).is_err() {
            self.unsent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A new session id: 128 random bits in hex.
pub fn new_session_id() -> Result<String, AuditError> {
    let mut bytes = [0u8; 16];
    crate::sys::getrandom(&mut bytes).map_err(|e| AuditError(format!("no session id: {e}")))?;
    Ok(record::hex(&bytes))
}

#[cfg(test)]
mod tests;
