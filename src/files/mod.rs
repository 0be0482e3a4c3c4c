//! The cage file commands: reading and writing files the rules allow, as root, through fds
//! resolved beneath the rule's directory.
//!
//! Terminal safety: when standard output is a terminal, control characters other than
//! newline and tab are shown escaped (`^[`, `\x9b`, like `cat -v`), so no file can drive the
//! operator's terminal; to a pipe or a file the bytes go out exactly as they are.
#![forbid(unsafe_code)]

pub(crate) mod complete;
mod copy;
pub mod edit;
pub(crate) mod events;
mod follow;
mod ls;
mod read;
pub(crate) mod redirect;
mod remove;
pub(crate) mod resolve;
mod walk;

use std::io::{self, Write};

use nix::sys::signal::Signal;

use crate::decide::{FilePlan, PathGrant};
use crate::policy::FileCommand;
use events::{FileEvent, FileEvents, Operation};

/// Why a file command stopped before it was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A refusal found while acting (where a path led, what it turned out to be): a denial,
    /// shown and recorded as one.
    Denied { path: String, why: String },
    /// Anything else (a missing file, a full disk).
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Failed(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Failed(message.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Denied { why, .. } => f.write_str(why),
            Failure::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// An open of `grant` that did not succeed: a denial when the rules on disk refused it.
    pub fn of_open(error: &io::Error, grant: &PathGrant) -> Failure {
        let message = resolve::explain(error, grant);
        match resolve::refused(error) {
            true => Failure::Denied { path: grant.path.clone(), why: message },
            false => Failure::Failed(message),
        }
    }
}

/// What a file command does to its operands, for the record of a refusal.
fn operation_of(command: FileCommand) -> Operation {
    match command {
        FileCommand::Sudols => Operation::List,
        FileCommand::Sudorm => Operation::Remove,
        FileCommand::Sudocp => Operation::Copy,
        FileCommand::Sudovi => Operation::Edit,
        _ => Operation::Read,
    }
}

/// Adds the `file` record of a refusal found while acting; the status of a denial.
pub fn denied(
    command: FileCommand,
    path: &str,
    why: &str,
    events: &mut FileEvents,
    err: &mut dyn Write,
) -> i32 {
    let _ = writeln!(err, "cage: denied: {command}: {why}");
    events.add(FileEvent::refused(operation_of(command), path, why), path);
    DENIED
}

/// The exit status of a refused command (as the session's).
pub const DENIED: i32 = 126;

/// How a file command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Status(i32),
    /// Interrupted (`sudotail -f` by Ctrl-C): the caller records, then ends by the signal.
    Signal(Signal),
}

/// Runs a file command; returns how it ended, and what it did in `events` (also when it
/// failed part way: what was done is there). `out` is this process's standard output
/// (`sudocat` hands unescaped bytes to fd 1 by the kernel's copy, after flushing `out`).
pub fn run(
    plan: &FilePlan,
    events: &mut FileEvents,
    out: &mut dyn Write,
    err: &mut dyn Write,
    out_is_tty: bool,
) -> Ended {
    let mut out = SafeOut { inner: out, escape: out_is_tty };
    let done = |result: Result<(), Failure>| result.map(|()| None);
    let result = match plan.command {
        FileCommand::Sudocat => done(read::cat(plan, &mut out, events)),
        FileCommand::Sudohead => done(read::head(plan, &mut out, events)),
        FileCommand::Sudotail => read::tail(plan, &mut out, err, events),
        FileCommand::Sudols => done(ls::ls(plan, &mut out, err, events)),
        FileCommand::Sudorm => done(remove::rm(plan, events)),
        FileCommand::Sudocp => done(copy::cp(plan, events)),
        other => Err(Failure::Failed(format!("{other} is not available yet"))),
    };
    let _ = out.flush();
    match result {
        Ok(None) => Ended::Status(0),
        Ok(Some(signal)) => Ended::Signal(signal),
        Err(Failure::Denied { path, why }) => Ended::Status(denied(plan.command, &path, &why, events, err)),
        Err(Failure::Failed(message)) => {
            let _ = writeln!(err, "{}: {message}", plan.command);
            Ended::Status(1)
        }
    }
}

/// Escapes terminal control characters when writing to a terminal.
pub struct SafeOut<'a> {
    inner: &'a mut dyn Write,
    pub escape: bool,
}

impl Write for SafeOut<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if !self.escape {
            return self.inner.write(bytes);
        }
        let mut shown = Vec::with_capacity(bytes.len());
        for &b in bytes {
            match b {
                b'\n' | b'\t' | 0x20..=0x7e | 0xa0..=0xff => shown.push(b),
                0x7f => shown.extend_from_slice(b"^?"),
                0x80..=0x9f => shown.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                _ => shown.extend_from_slice(&[b'^', b + 0x40]),
            }
        }
        self.inner.write_all(&shown)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_output_escapes_control_characters() {
        let mut buf = Vec::new();
        let mut out = SafeOut { inner: &mut buf, escape: true };
        out.write_all(b"ok\x1b[31mred\x07\x9b\tend\n").expect("write");
        assert_eq!(buf, b"ok^[[31mred^G\\x9b\tend\n");
    }

    #[test]
    fn pipe_output_is_exact() {
        let mut buf = Vec::new();
        let mut out = SafeOut { inner: &mut buf, escape: false };
        out.write_all(b"\x1b[31m\x00").expect("write");
        assert_eq!(buf, b"\x1b[31m\x00");
    }
}
