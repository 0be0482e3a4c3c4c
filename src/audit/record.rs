//! Audit records: what every record carries, built as a JSON object whose keys sort
//! themselves (serde_json's map is ordered by key), so the written line is its canonical form.
#![forbid(unsafe_code)]

use serde_json::{Map, Value};

use crate::time::Timestamp;

/// The format version in every record's `v`.
pub const VERSION: u64 = 2;

/// What stays the same for every record of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFields {
    pub session: String,
    pub req_auth_id: String,
    pub loginid: String,
    pub uid: u32,
    pub host: String,
    pub layer: String,
    pub tty: Option<String>,
    pub srchost: Option<String>,
    pub pid: u32,
    /// The service user of a nested `su` session (`uid` is then that user's).
    pub su_user: Option<String>,
}

/// Whether a command was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

/// Why a session ended, in its `logout` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Exit,
    Expired,
    Revoked,
    Killed,
    Error,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Exit => "exit",
            EndReason::Expired => "expired",
            EndReason::Revoked => "revoked",
            EndReason::Killed => "killed",
            EndReason::Error => "error",
        }
    }
}

/// One event before it is sealed into the chain: the per-record fields and the event's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub event: &'static str,
    pub cwd: Option<String>,
    /// The line as typed (or what the event is about), raw bytes.
    pub title: Vec<u8>,
    pub argv: Vec<String>,
    pub decision: Option<Verdict>,
    pub rule: Option<String>,
    /// The event's own members (`reason`, `status`, `duration_ms`, `path`...).
    pub extra: Map<String, Value>,
}

impl Entry {
    pub fn new(event: &'static str) -> Self {
        Entry {
            event,
            cwd: None,
            title: Vec::new(),
            argv: Vec::new(),
            decision: None,
            rule: None,
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}

/// The record of `entry` at `seq` after `prev`, without its `hash` (see `chain::seal`).
pub fn unsealed(
    fields: &SessionFields,
    entry: &Entry,
    seq: u64,
    prev: &str,
    ts: Timestamp,
) -> Map<String, Value> {
    let mut record = entry.extra.clone();
    let text = |s: &str| Value::String(s.to_string());
    let optional = |s: &Option<String>| s.as_deref().map_or(Value::Null, text);
    let title = String::from_utf8_lossy(&entry.title);
    // A title that is not UTF-8 is kept exactly as hex beside its readable form.
    if std::str::from_utf8(&entry.title).is_err() {
        record.insert("title_hex".into(), Value::String(hex(&entry.title)));
    }
    let members = [
        ("v", Value::from(VERSION)),
        ("seq", Value::from(seq)),
        ("ts", text(&ts.to_rfc3339_nanos())),
        ("event", text(entry.event)),
        ("session", text(&fields.session)),
        ("req_auth_id", text(&fields.req_auth_id)),
        ("loginid", text(&fields.loginid)),
        ("uid", Value::from(fields.uid)),
        ("host", text(&fields.host)),
        ("layer", text(&fields.layer)),
        ("tty", optional(&fields.tty)),
        ("srchost", optional(&fields.srchost)),
        ("pid", Value::from(fields.pid)),
        ("su_user", optional(&fields.su_user)),
        ("cwd", optional(&entry.cwd)),
        ("title", text(&title)),
        ("argv", Value::Array(entry.argv.iter().map(|a| text(a)).collect())),
        ("decision", entry.decision.map_or(Value::Null, |d| text(d.as_str()))),
        ("rule", optional(&entry.rule)),
        ("prev", text(prev)),
    ];
    for (key, value) in members {
        record.insert(key.to_string(), value);
    }
    record
}

pub use crate::hex::hex;
