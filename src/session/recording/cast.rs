//! An asciicast v2 stream (what `asciinema play` reads): a JSON header line, then one JSON
//! array `[seconds, kind, text]` per event. Bytes are hashed as they are written, so the
//! SHA-256 that goes into the `logout` record is that of the file exactly as it stands.
#![forbid(unsafe_code)]

use crate::hex::hex;
use std::io::{self, Write};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What an event carries: asciicast's `i`, `o` and `r` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Input,
    Output,
    Resize,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Input => "i",
            Kind::Output => "o",
            Kind::Resize => "r",
        }
    }
}

/// What the header says of the session.
pub struct Header<'a> {
    pub width: u16,
    pub height: u16,
    /// Seconds since the epoch at the start of the session.
    pub timestamp: i64,
    pub term: Option<&'a str>,
    pub title: &'a str,
}

/// The digest and size of a finished stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sha256: String,
    pub bytes: u64,
}

/// A stream being written. Text split across reads (a UTF-8 sequence cut in two) is held back
/// per direction until it is whole; what is not UTF-8 at all is written as U+FFFD.
pub struct Cast<W: Write> {
    out: W,
    sha: Sha256,
    bytes: u64,
    held: [Vec<u8>; 2],
}

impl<W: Write> Cast<W> {
    pub fn start(out: W, header: &Header) -> io::Result<Cast<W>> {
        let mut env = serde_json::Map::new();
        if let Some(term) = header.term {
            env.insert("TERM".into(), term.into());
        }
        env.insert("SHELL".into(), "cage".into());
        let head = json!({
            "version": 2,
            "width": header.width,
            "height": header.height,
            "timestamp": header.timestamp,
            "title": header.title,
            "env": env,
        });
        let mut cast = Cast { out, sha: Sha256::new(), bytes: 0, held: [Vec::new(), Vec::new()] };
        cast.line(&head)?;
        Ok(cast)
    }

    /// Records `data` at `seconds` into the session.
    pub fn event(&mut self, seconds: f64, kind: Kind, data: &[u8]) -> io::Result<()> {
        let text = match kind {
            Kind::Resize => String::from_utf8_lossy(data).into_owned(),
            Kind::Input => take_text(&mut self.held[0], data),
            Kind::Output => take_text(&mut self.held[1], data),
        };
        if text.is_empty() {
            return Ok(());
        }
        // Microseconds, as asciinema writes them; serde_json prints the float exactly.
        let at = (seconds * 1e6).round() / 1e6;
        self.line(&json!([at, kind.code(), text]))
    }

    /// Writes what is buffered and returns the digest of everything written.
    pub fn finish(mut self) -> io::Result<(W, Summary)> {
        self.out.flush()?;
        let summary = Summary { sha256: hex(&self.sha.finalize()), bytes: self.bytes };
        Ok((self.out, summary))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn line(&mut self, value: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.sha.update(&line);
        self.bytes += line.len() as u64;
        Ok(())
    }
}

/// The text of `held` + `data` up to the last whole character; an unfinished sequence at the
/// end waits in `held` for the next read (never more than 3 bytes).
fn take_text(held: &mut Vec<u8>, data: &[u8]) -> String {
    held.extend_from_slice(data);
    let keep = unfinished_tail(held);
    let whole = held.len() - keep;
    let text = String::from_utf8_lossy(&held[..whole]).into_owned();
    held.drain(..whole);
    text
}

/// How many bytes at the end of `bytes` start a UTF-8 sequence that may yet be completed.
fn unfinished_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back for the lead
        }
        let needs = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return 0,
        };
        return if needs > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header<'static> {
        Header { width: 100, height: 30, timestamp: 1_700_000_000, term: Some("xterm"), title: "t" }
    }

    fn lines(bytes: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(bytes).expect("utf-8");
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
    }

    #[test]
    fn a_stream_is_a_header_then_one_array_per_event() {
        let mut cast = Cast::start(Vec::new(), &header()).expect("header");
        cast.event(0.25, Kind::Input, b"ls\r").expect("event");
        cast.event(0.5, Kind::Output, b"\x1b[1mhi\x1b[0m\n").expect("event");
        cast.event(1.0000004, Kind::Resize, b"120x40").expect("event");
        let (bytes, summary) = cast.finish().expect("finish");
        let lines = lines(&bytes);
        assert_eq!(lines[0]["version"], 2);
        assert_eq!((lines[0]["width"].as_u64(), lines[0]["height"].as_u64()), (Some(100), Some(30)));
        assert_eq!(lines[0]["env"]["TERM"], "xterm");
        assert_eq!(lines[1], json!([0.25, "i", "ls\r"]));
        assert_eq!(lines[2], json!([0.5, "o", "\u{1b}[1mhi\u{1b}[0m\n"]));
        assert_eq!(lines[3], json!([1.0, "r", "120x40"]));
        assert_eq!(summary.bytes, bytes.len() as u64);
        assert_eq!(summary.sha256, hex(&Sha256::digest(&bytes)));
    }

    #[test]
    fn a_character_cut_between_reads_is_written_whole() {
        let mut cast = Cast::start(Vec::new(), &header()).expect("header");
        let euro = "€".as_bytes();
        cast.event(0.1, Kind::Output, &euro[..1]).expect("event");
        cast.event(0.2, Kind::Output, &euro[1..]).expect("event");
        let (bytes, _) = cast.finish().expect("finish");
        let lines = lines(&bytes);
        assert_eq!(lines.len(), 2, "the first read alone held back: {lines:?}");
        assert_eq!(lines[1], json!([0.2, "o", "€"]));
    }

    #[test]
    fn bytes_that_are_not_text_become_replacement_characters_and_forge_nothing() {
        let mut cast = Cast::start(Vec::new(), &header()).expect("header");
        cast.event(0.1, Kind::Input, b"\xff\"]\n[9, \"o\", \"forged\"]\n\x00").expect("event");
        let (bytes, _) = cast.finish().expect("finish");
        let lines = lines(&bytes);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1][2], "\u{fffd}\"]\n[9, \"o\", \"forged\"]\n\u{0}");
    }

    #[test]
    fn an_unfinished_tail_is_at_most_the_start_of_one_character() {
        assert_eq!(unfinished_tail(b"abc"), 0);
        assert_eq!(unfinished_tail(&"é".as_bytes()[..1]), 1);
        assert_eq!(unfinished_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(unfinished_tail("€".as_bytes()), 0);
        assert_eq!(unfinished_tail(b"\x80\x80\x80"), 0);
        assert_eq!(unfinished_tail(b"a\xf0\x9f\x98"), 3);
    }
}
