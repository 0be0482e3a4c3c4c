//! `cagectl audit tail [-f] [-n N]`: the last records, then (with `-f`) each new one as it is
//! appended, across rotations (the old file is read to its end, then the new one from its
//! start).
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read as _, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use clap::Args;

use crate::audit_show::{files_or_configured, write_record, Filter, FilterOptions, Read, HEADER};
use crate::{exit, UsageError};
use cage::time::Timestamp;

#[derive(Debug, Args)]
pub struct TailOptions {
    /// Go on with the records appended, across rotations
    #[arg(short = 'f')]
    pub follow: bool,
    /// How many of the last records to show first (default 10)
    #[arg(short = 'n', value_name = "N")]
    pub count: Option<String>,
    #[command(flatten)]
    pub filter: FilterOptions,
    /// The matching lines themselves, not a table
    #[arg(long)]
    pub json: bool,
    /// The file to read (default: the configured trail)
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
}

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

pub fn run(options: &TailOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let (json, follow) = (options.json, options.follow);
    let count = match options.count.as_deref() {
        None => 10,
        Some(number) => {
            number.parse().map_err(|_| UsageError(format!("-n needs a number of records, not `{number}`")))?
        }
    };
    let filter = Filter::from_options(&options.filter, Timestamp::now())?;
    let Some(files) = files_or_configured(options.file.as_slice(), err) else { return Ok(exit::USAGE) };
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
