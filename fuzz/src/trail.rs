//! A verifier of audit files written from docs/audit-format.md ("Verifying a file"), to be
//! run beside `cage::audit::verify` on the same bytes; and a helper that lets the fuzzer's
//! edits reach the checks behind the hash.

use serde_json::Value;

use crate::canonical;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where a verified file's chain starts and ends: `(records, continues, last)`, each head a
/// `(seq, hash)`; or the 1-based line of the first record that breaks it.
pub type Verdict = Result<(usize, Option<(u64, String)>, (u64, String)), usize>;

pub fn verify(text: &[u8]) -> Verdict {
    if text.is_empty() {
        return Ok((0, None, (0, GENESIS.to_string())));
    }
    let Some(body) = text.strip_suffix(b"\n") else {
        return Err(text.split(|&b| b == b'\n').count());
    };
    let (mut last, mut continues) = (None::<(u64, String)>, None);
    let mut records = 0;
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let (seq, prev, hash, event) = record(raw).ok_or(line)?;
        match &last {
            Some((last_seq, last_hash)) if seq != last_seq + 1 || prev != *last_hash => return Err(line),
            Some(_) => {}
            None if seq == 1 && prev == GENESIS => {}
            None if event == "rotate" && prev != GENESIS => continues = Some((seq - 1, prev)),
            None => return Err(line),
        }
        last = Some((seq, hash));
        records += 1;
    }
    Ok((records, continues, last.unwrap_or_else(|| (0, GENESIS.to_string()))))
}

/// `(seq, prev, hash, event)` of a line that is a canonical record whose `hash` is right.
fn record(raw: &[u8]) -> Option<(u64, String, String, String)> {
    let value: Value = serde_json::from_slice(raw).ok()?;
    let members = value.as_object()?;
    let seq = members.get("seq")?.as_u64().filter(|&s| s > 0)?;
    let hash = members.get("hash")?.as_str()?.to_string();
    let prev = members.get("prev")?.as_str()?.to_string();
    let event = members.get("event").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = canonical::version(&value);
    if canonical::text(&value, version)?.as_bytes() != raw {
        return None;
    }
    let mut without = members.clone();
    without.remove("hash");
    let body = canonical::text(&Value::Object(without), version)?;
    (cage::audit::sha256_hex(body.as_bytes()) == hash).then_some((seq, prev, hash, event))
}

/// `text` with, on each line, `prev` set to the hash the line before ended with and the 64
/// characters after `"hash":"` set to the SHA-256 of the line without that member. For a
/// canonical line that is its right hash, so the fuzzer's edits are judged by the checks of
/// form and order rather than all stopped by the hash.
pub fn reseal(text: &[u8]) -> Vec<u8> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut prev: Option<String> = None;
    for line in text.split(|&b| b == b'\n') {
        let mut line = line.to_vec();
        let prev_at = find(&line, b"\"prev\":\"").filter(|&at| line.get(at + 64) == Some(&b'"'));
        if let (Some(hash), Some(at)) = (&prev, prev_at) {
            line[at..at + 64].copy_from_slice(hash.as_bytes());
        }
        prev = None;
        if let Some(at) = find(&line, b"\"hash\":\"").filter(|&at| line.get(at + 64) == Some(&b'"')) {
            let member = at - 8..at + 65;
            let body = match (line.get(member.start.wrapping_sub(1)), line.get(member.end)) {
                (Some(b','), _) => [&line[..member.start - 1], &line[member.end..]].concat(),
                (_, Some(b',')) => [&line[..member.start], &line[member.end + 1..]].concat(),
                _ => [&line[..member.start], &line[member.end..]].concat(),
            };
            let hash = cage::audit::sha256_hex(&body);
            line[at..at + 64].copy_from_slice(hash.as_bytes());
            prev = Some(hash);
        }
        out.push(line);
    }
    out.join(&b'\n')
}

/// Where the value after `key` starts in `line`.
fn find(line: &[u8], key: &[u8]) -> Option<usize> {
    line.windows(key.len()).position(|w| w == key).map(|at| at + key.len())
}
