//! `cagectl audit tail [-f] [-n N]`: the last records, then (with `-f`) each new one as it is
//! appended, across rotations (the old file is read to its end, then the new one from its
//! start).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read as _, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use crate::args::{Parsed, UsageError};
use crate::audit_show::{files_or_configured, take_flag, write_record, Filter, Read, FILTER_OPTIONS, HEADER};
use crate::exit;
use cage::time::Timestamp;

/// How often `-f` looks for new records (an admin's view: a fraction of a second is enough).
const POLL: Duration = Duration::from_millis(200);

/// Reads the complete lines appended to a file, following it when it is renamed away and
/// replaced (rotation) or truncated.
pub struct Follower {
    path: String,
    file: File,
    offset: u64,
    /// An incomplete last line, kept until its end of line arrives.
    partial: Vec<u8>,
}

impl Follower {
    pub fn open(path: &str) -> io::Result<Follower> {
        Ok(Follower { path: path.to_string(), file: File::open(path)?, offset: 0, partial: Vec::new() })
    }

    /// The complete lines added since the last call (all of them, the first time).
    pub fn new_lines(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let mut lines = self.read_current()?;
        if self.replaced() {
            // The old file is finished (rotation keeps it whole): now the new one, from its start.
            if let Ok(file) = File::open(&self.path) {
                (self.file, self.offset) = (file, 0);
                self.partial.clear();
                lines.extend(self.read_current()?);
            }
        }
        Ok(lines)
    }

    fn read_current(&mut self) -> io::Result<Vec<Vec<u8>>> {
        if self.file.metadata()?.len() < self.offset {
            // Truncated in place: start over.
            (self.offset, self.partial) = (0, Vec::new());
        }
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = std::mem::take(&mut self.partial);
        let read = self.file.read_to_end(&mut bytes)?;
        self.offset += read as u64;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
        self.partial = bytes.split_off(complete);
        Ok(bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect())
    }

    /// Whether the path now names another file than the one being read.
    fn replaced(&self) -> bool {
        let (Ok(named), Ok(held)) = (std::fs::metadata(&self.path), self.file.metadata()) else {
            return false;
        };
        named.ino() != held.ino() || named.dev() != held.dev()
    }
}

/// `-f` and `-n N` (or `-nN`) out of `args`, and the rest.
fn take_tail_options(args: &[OsString]) -> Result<(bool, usize, Vec<OsString>), UsageError> {
    let (mut follow, mut count, mut rest) = (false, 10, Vec::new());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let number = match arg.to_str() {
            Some("-f") => {
                follow = true;
                continue;
            }
            Some("-n") => iter.next().and_then(|n| n.to_str()).unwrap_or(""),
            Some(n) if n.starts_with("-n") => &n[2..],
            _ => {
                rest.push(arg.clone());
                continue;
            }
        };
        count = number
            .parse()
            .map_err(|_| UsageError(format!("-n needs a number of records, not `{number}`")))?;
    }
    Ok((follow, count, rest))
}

pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let (json, args) = take_flag(args, "--json");
    let (follow, count, args) = take_tail_options(&args)?;
    let parsed = Parsed::parse(&args, &FILTER_OPTIONS)?;
    let filter = Filter::from_options(&parsed, Timestamp::now())?;
    let Some(files) = files_or_configured(&parsed.positionals, err) else { return Ok(exit::USAGE) };
    let [file] = files.as_slice() else { return Err(UsageError("audit tail follows one file".into())) };
    let mut follower = match Follower::open(file) {
        Ok(follower) => follower,
        Err(e) => {
            let _ = writeln!(err, "cagectl: audit tail: {file}: {e}");
            return Ok(exit::REFUSED);
        }
    };
    if !json {
        let _ = writeln!(out, "{HEADER}");
    }
    let mut batch = follower.new_lines();
    let mut first = Some(count);
    loop {
        let lines = match batch {
            Ok(lines) => lines,
            Err(e) => {
                let _ = writeln!(err, "cagectl: audit tail: {file}: {e}");
                return Ok(exit::REFUSED);
            }
        };
        let mut matching: Vec<Read> = lines
            .into_iter()
            .filter_map(|line| serde_json::from_slice(&line).ok().map(|record| Read { line, record }))
            .filter(|read| filter.matches(&read.record))
            .collect();
        if let Some(last) = first.take() {
            matching.drain(..matching.len().saturating_sub(last));
        }
        // A reader that went away (`| head`) ends the tail.
        if matching.iter().any(|read| write_record(out, read, json).is_err()) || out.flush().is_err() {
            return Ok(exit::OK);
        }
        if !follow {
            return Ok(exit::OK);
        }
        std::thread::sleep(POLL);
        batch = follower.new_lines();
    }
}
