//! `cagectl audit verify [FILE...]`: proves the hash chain of audit files (several files are
//! checked in order, each continuing the last) and that each session recording they name is
//! still the file its `logout` record hashed.
#![forbid(unsafe_code)]

use std::io::Write;

use clap::Args;

use crate::{exit, UsageError};
use cage::audit::{self, Head};
use cage::config;

#[derive(Debug, Args)]
pub struct VerifyOptions {
    /// The files, oldest first, as one chain (default: the configured trail)
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

pub fn verify(options: &VerifyOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let files = match options.files.is_empty() {
        false => options.files.clone(),
        true => match config::load() {
            Ok(config) => vec![config.audit.file],
            Err(e) => {
                let _ = writeln!(err, "cagectl: audit verify: {e}");
                return Ok(exit::USAGE);
            }
        },
    };
    let mut previous: Option<(String, Head)> = None;
    for file in &files {
        let text = match std::fs::read(file) {
            Ok(text) => text,
            Err(e) => {
                let _ = writeln!(err, "cagectl: audit verify: {file}: {e}");
                return Ok(exit::REFUSED);
            }
        };
        let verified = match audit::verify(&text) {
            Ok(verified) => verified,
            Err(broken) => {
                let _ = writeln!(out, "{file}: BROKEN at {broken}");
                return Ok(exit::REFUSED);
            }
        };
        if let Some((before, head)) = &previous {
            if verified.continues.as_ref() != Some(head) {
                let _ =
                    writeln!(out, "{file}: BROKEN at line 1: does not continue {before} (seq {})", head.seq);
                return Ok(exit::REFUSED);
            }
        }
        if !recordings_match(&text, file, out) {
            return Ok(exit::REFUSED);
        }
        let start = match &verified.continues {
            None => "starts the chain".to_string(),
            Some(head) => {
                format!("continues seq {} ({}...)", head.seq, &head.hash[..12.min(head.hash.len())])
            }
        };
        let _ = writeln!(
            out,
            "{file}: ok, {} records, {start}, last seq {} hash {}",
            verified.records, verified.last.seq, verified.last.hash
        );
        let records: Vec<serde_json::Map<String, serde_json::Value>> =
            text.split(|&b| b == b'\n').filter_map(|l| serde_json::from_slice(l).ok()).collect();
        if let Some(missed) = crate::unsent::summary(&records) {
            let _ = writeln!(err, "cagectl: audit verify: {file}: {missed}");
        }
        previous = Some((file.clone(), verified.last));
    }
    Ok(exit::OK)
}

/// Every cast a `logout` record of `text` hashed still has that SHA-256; each one that does
/// not (edited, cut short, removed) is reported. True when all match.
fn recordings_match(text: &[u8], file: &str, out: &mut dyn Write) -> bool {
    let mut all = true;
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let Ok(record) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let recording = &record["recording"];
        let (Some(path), Some(expected)) = (recording["path"].as_str(), recording["sha256"].as_str()) else {
            continue;
        };
        let problem = match std::fs::read(path) {
            Ok(bytes) if audit::sha256_hex(&bytes) == expected => continue,
            Ok(_) => "does not match the digest of its logout record (edited)".to_string(),
            Err(e) => format!("cannot be read ({e})"),
        };
        let _ = writeln!(out, "{file}: BROKEN at line {}: the recording {path} {problem}", index + 1);
        all = false;
    }
    all
}
