//! The audit trail: one JSON record per line, chained by SHA-256, each written and synced
//! before what it records happens; a record that cannot be written refuses the action.
//! The exact form is in docs/audit.md.
#![forbid(unsafe_code)]

pub mod chain;
mod file;
pub mod record;

use std::fmt;

pub use chain::{verify, Break, Head, Verified};
pub use record::{EndReason, Entry, SessionFields, Verdict};

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
    pub fields: SessionFields,
}

impl Audit {
    pub fn to_file(path: &str, fields: SessionFields) -> Self {
        Audit { target: Target::File(path.to_string()), fields }
    }

    pub fn discard(fields: SessionFields) -> Self {
        Audit { target: Target::Discard, fields }
    }

    /// Writes `entry` as the next record of the chain, durably; `Err` means it is not there.
    pub fn record(&self, entry: &Entry) -> Result<Head, AuditError> {
        let ts = Timestamp::now();
        match &self.target {
            Target::File(path) => {
                file::append(path, |seq, prev| record::unsealed(&self.fields, entry, seq, prev, ts))
                    .map_err(|e| AuditError(format!("{path}: {e}")))
            }
            Target::Discard => {
                let unsealed = record::unsealed(&self.fields, entry, 1, chain::GENESIS, ts);
                Ok(Head { seq: 1, hash: chain::seal(unsealed).1 })
            }
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
