//! The hash chain: each record's `hash` is SHA-256 over its canonical form, which names the
//! previous record's hash in `prev`. Sealing and verifying are pure (docs/audit.md).
#![forbid(unsafe_code)]

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::record::hex;

/// `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical form: the record without `hash`, keys in byte order, no whitespace,
/// serde_json's escaping (control characters as `\n`, `\u001b`...), and from version 2 on
/// invisible characters escaped too (`canonical`).
pub fn canonical(record: &Map<String, Value>) -> String {
    let mut without = record.clone();
    without.remove("hash");
    text_of(without, version_of(record))
}

/// The record's format version (`v`); 1 when absent.
fn version_of(record: &Map<String, Value>) -> u64 {
    record.get("v").and_then(Value::as_u64).unwrap_or(1)
}

fn text_of(record: Map<String, Value>, version: u64) -> String {
    super::canonical::to_text(&Value::Object(record), version)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Adds `hash` and returns the line to write (no newline): the record with its hash, in the
/// same canonical key order.
pub fn seal(mut record: Map<String, Value>) -> (String, String) {
    let hash = sha256_hex(canonical(&record).as_bytes());
    record.insert("hash".into(), Value::String(hash.clone()));
    let version = version_of(&record);
    (text_of(record, version), hash)
}

/// The last record of a chain: where the next one continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    pub fn genesis() -> Self {
        Head { seq: 0, hash: GENESIS.into() }
    }
}

/// The first place a file stops proving its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// 1-based line number in the file.
    pub line: usize,
    pub seq: Option<u64>,
    pub what: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "line {} (seq {seq}): {}", self.line, self.what),
            None => write!(f, "line {}: {}", self.line, self.what),
        }
    }
}

/// What a verified file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: usize,
    /// Where the file's chain starts: genesis, or the last record of an earlier file.
    pub continues: Option<Head>,
    pub last: Head,
}

/// Checks every line of `text` in order: each parses, is in canonical form (integers the
/// only numbers), hashes to its `hash`, names the previous record's hash in `prev`, and has `seq` one above the previous.
/// A file starts a chain (seq 1 after [`GENESIS`]) or continues one with a `rotate` record,
/// so a first line removed shows too.
pub fn verify(text: &[u8]) -> Result<Verified, Break> {
    let Some(body) = text.strip_suffix(b"\n") else {
        return match text.is_empty() {
            true => Ok(Verified { records: 0, continues: None, last: Head::genesis() }),
            false => {
                let line = text.split(|&b| b == b'\n').count();
                Err(Break { line, seq: None, what: "the last record is cut short (no end of line)".into() })
            }
        };
    };
    let mut expected: Option<Head> = None;
    let mut continues = None;
    let mut records = 0;
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let (head, record) = check_line(raw, index + 1, expected.as_ref())?;
        if expected.is_none() {
            continues = chain_start(&record, &head, index + 1)?;
        }
        expected = Some(head);
        records += 1;
    }
    Ok(Verified { records, continues, last: expected.unwrap_or_else(Head::genesis) })
}

/// Where the first record of a file says its chain starts.
fn chain_start(record: &Map<String, Value>, head: &Head, line: usize) -> Result<Option<Head>, Break> {
    let prev = record.get("prev").and_then(Value::as_str).unwrap_or_default();
    let event = record.get("event").and_then(Value::as_str).unwrap_or_default();
    match (head.seq, prev == GENESIS, event) {
        (1, true, _) => Ok(None),
        (seq, false, "rotate") => Ok(Some(Head { seq: seq - 1, hash: prev.to_string() })),
        (seq, ..) => Err(Break {
            line,
            seq: Some(seq),
            what: "the file does not start its chain (seq 1) or continue one (rotate): records before it are missing".into(),
        }),
    }
}

/// Whether every number in `value` is an integer: the canonical form has no other number
/// (serde_json writes a fraction such as `4.5` back as it read it, so the text alone passes).
fn integers_only(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::Array(items) => items.iter().all(integers_only),
        Value::Object(members) => members.values().all(integers_only),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}

fn check_line(raw: &[u8], line: usize, expected: Option<&Head>) -> Result<(Head, Map<String, Value>), Break> {
    let broken = |seq, what: &str| Break { line, seq, what: what.to_string() };
    let record: Map<String, Value> =
        serde_json::from_slice(raw).map_err(|e| broken(None, &format!("not a JSON record ({e})")))?;
    let seq = record.get("seq").and_then(Value::as_u64);
    let hash = record.get("hash").and_then(Value::as_str).ok_or_else(|| broken(seq, "no hash"))?;
    let prev = record.get("prev").and_then(Value::as_str).ok_or_else(|| broken(seq, "no prev"))?;
    let seq = seq.filter(|&s| s > 0).ok_or_else(|| broken(None, "no valid seq"))?;
    if text_of(record.clone(), version_of(&record)).as_bytes() != raw {
        return Err(broken(Some(seq), "not in canonical form (edited)"));
    }
    if !record.values().all(integers_only) {
        return Err(broken(Some(seq), "not in canonical form (a number that is not an integer)"));
    }
    if sha256_hex(canonical(&record).as_bytes()) != hash {
        return Err(broken(Some(seq), "the hash does not match the record (edited)"));
    }
    if let Some(expected) = expected {
        if seq != expected.seq + 1 {
            let what = match seq <= expected.seq {
                true => format!("seq goes back after {} (reordered or duplicated)", expected.seq),
                false => format!("records {}..{} are missing", expected.seq + 1, seq - 1),
            };
            return Err(broken(Some(seq), &what));
        }
        if prev != expected.hash {
            return Err(broken(
                Some(seq),
                "prev does not name the previous record's hash (removed or reordered)",
            ));
        }
    }
    let head = Head { seq, hash: hash.to_string() };
    Ok((head, record))
}
