//! sudocat, sudohead, sudotail: reading granted files as root.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

use nix::sys::signal::Signal;

use super::events::{Counted, FileEvent, FileEvents, Operation};
use super::{resolve, Failure, SafeOut};
use crate::decide::{FilePlan, PathGrant};

fn open(grant: &PathGrant) -> Result<File, Failure> {
    let fd = resolve::open_content(grant, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .map_err(|e| Failure::of_open(&e, grant))?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| format!("{}: {e}", grant.path))?;
    if meta.is_dir() {
        return Err(Failure::Failed(format!("{}: is a directory", grant.path)));
    }
    if !meta.is_file() {
        let why = format!("{}: not a regular file (FIFOs and sockets are not read)", grant.path);
        return Err(Failure::Denied { path: grant.path.clone(), why });
    }
    Ok(file)
}

fn io_err(grant: &PathGrant) -> impl Fn(io::Error) -> Failure + '_ {
    move |e| Failure::Failed(format!("{}: {e}", grant.path))
}

/// The value of `-n N` / `-c N` (already checked as digits by the decision).
fn count(plan: &FilePlan, flag: &str) -> Option<u64> {
    let at = plan.options.iter().position(|o| o == flag || (o.starts_with(flag) && o.len() > flag.len()))?;
    let text = plan.options[at]
        .strip_prefix(flag)
        .filter(|v| !v.is_empty())
        .or(plan.options.get(at + 1).map(String::as_str))?;
    text.trim_start_matches('+').parse().ok()
}

/// To a file (or /dev/null) the bytes go to standard output through the kernel's copy
/// (copy_file_range or sendfile: no copy through this process); to a pipe in 128 KiB reads
/// and writes, as `cat` does (splicing page-cache pages into the pipe measured slower, the
/// reader then copying from cold pages); to a terminal escaped. A 1 GiB file goes at least at
/// `cat`'s pace (`make bench`).
pub(super) fn cat(plan: &FilePlan, out: &mut SafeOut, events: &mut FileEvents) -> Result<(), Failure> {
    let kernel_copy =
        !out.escape && !nix::sys::stat::fstat(1).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFIFO);
    let mut buffer = vec![0u8; 1 << 17];
    for grant in &plan.operands {
        let mut file = open(grant)?;
        let mut sent = 0;
        let result = send(&mut file, out, kernel_copy, &mut buffer, &mut sent);
        // What was sent was read, also when sending stopped part way.
        events.add(FileEvent::new(Operation::Read, &grant.path, Some(sent)), &grant.path);
        result.map_err(io_err(grant))?;
    }
    Ok(())
}

/// Sends the whole of `file`, counting in `sent` what went out.
fn send(
    file: &mut File,
    out: &mut SafeOut,
    kernel_copy: bool,
    buffer: &mut [u8],
    sent: &mut u64,
) -> io::Result<()> {
    out.flush()?;
    if kernel_copy {
        let copied = io::copy(file, &mut io::stdout().lock());
        // The kernel's copy moved the file's offset by what it sent.
        *sent = file.stream_position()?;
        return copied.map(drop);
    }
    loop {
        let n = match file.read(buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match out.escape {
            true => out.write_all(&buffer[..n]),
            // Straight to fd 1 (`out` was flushed): no line buffering splitting writes.
            false => crate::sys::write_all(1, &buffer[..n]),
        }?;
        *sent += n as u64;
    }
}

pub(super) fn head(plan: &FilePlan, out: &mut dyn Write, events: &mut FileEvents) -> Result<(), Failure> {
    let Some(grant) = plan.operands.first() else {
        return head_of(plan, piped_input()?, out)
            .map_err(|e| Failure::Failed(format!("standard input: {e}")));
    };
    let file = open(grant)?;
    let mut out = Counted { inner: out, bytes: 0 };
    let result = head_of(plan, file, &mut out);
    events.add(FileEvent::new(Operation::Read, &grant.path, Some(out.bytes)), &grant.path);
    result.map_err(io_err(grant))
}

/// Standard input, for `head` and `tail` without a path: a pipe or a file, never the
/// session's terminal (which the prompt reads).
fn piped_input() -> Result<io::StdinLock<'static>, Failure> {
    if nix::unistd::isatty(0).unwrap_or(false) {
        return Err(Failure::Failed(
            "no file named, and standard input is the terminal: name a file or pipe into it (`... | tail -n 5`)".into(),
        ));
    }
    Ok(io::stdin().lock())
}

fn head_of(plan: &FilePlan, file: impl Read, out: &mut dyn Write) -> io::Result<()> {
    if let Some(bytes) = count(plan, "-c") {
        io::copy(&mut file.take(bytes), out)?;
        return Ok(());
    }
    let lines = count(plan, "-n").unwrap_or(10);
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    for _ in 0..lines {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        out.write_all(&line)?;
    }
    Ok(())
}

/// `Ok(Some(signal))`: following ended by Ctrl-C (or Ctrl-\\), after everything sent was
/// recorded in `events`; the caller ends by that signal.
pub(super) fn tail(
    plan: &FilePlan,
    out: &mut dyn Write,
    err: &mut dyn Write,
    events: &mut FileEvents,
) -> Result<Option<Signal>, Failure> {
    let flag = |c: char| {
        plan.options.iter().any(|o| o.starts_with('-') && !o.starts_with("--") && o[1..].contains(c))
    };
    let (follow, by_name) = (flag('f') || flag('F'), flag('F'));
    let Some(grant) = plan.operands.first() else {
        return tail_of_stream(plan, piped_input()?, out).map(|()| None);
    };
    // Interruptions are taken from here on, so that the record of what was sent is written.
    let interruptions = match follow {
        true => Some(super::follow::interruptions().map_err(io_err(grant))?),
        false => None,
    };
    let mut file = open(grant)?;
    let mut out = Counted { inner: out, bytes: 0 };
    let result = tail_of(plan, grant, &mut file, &mut out).and_then(|()| match interruptions {
        Some(signals) => super::follow::follow(grant, file, by_name, &signals, &mut out, err).map(Some),
        None => Ok(None),
    });
    events.add(FileEvent::new(Operation::Read, &grant.path, Some(out.bytes)), &grant.path);
    result
}

fn tail_of(plan: &FilePlan, grant: &PathGrant, file: &mut File, out: &mut dyn Write) -> Result<(), Failure> {
    let size = file.metadata().map_err(io_err(grant))?.len();
    let start = match count(plan, "-c") {
        Some(bytes) => size.saturating_sub(bytes),
        None => start_of_last_lines(file, size, count(plan, "-n").unwrap_or(10)).map_err(io_err(grant))?,
    };
    file.seek(SeekFrom::Start(start)).map_err(io_err(grant))?;
    io::copy(&mut Read::take(&mut *file, size - start), out).map_err(io_err(grant))?;
    out.flush().map_err(io_err(grant))
}

/// The most of a stream `tail` keeps to print its end.
const MAX_KEPT: usize = 16 << 20;

/// The end of a stream (a pipe cannot be read backwards): the last lines or bytes, kept as
/// they pass, within [`MAX_KEPT`].
fn tail_of_stream(plan: &FilePlan, input: impl Read, out: &mut dyn Write) -> Result<(), Failure> {
    let failed = |e: io::Error| Failure::Failed(format!("standard input: {e}"));
    let too_long =
        || Failure::Failed(format!("standard input: its end is longer than {} MiB", MAX_KEPT >> 20));
    let mut reader = BufReader::with_capacity(1 << 16, input);
    if let Some(bytes) = count(plan, "-c") {
        let keep = usize::try_from(bytes).unwrap_or(usize::MAX);
        if keep > MAX_KEPT {
            return Err(too_long());
        }
        let mut kept: VecDeque<u8> = VecDeque::with_capacity(keep.min(1 << 16));
        let mut chunk = [0u8; 1 << 16];
        loop {
            let n = reader.read(&mut chunk).map_err(failed)?;
            if n == 0 {
                break;
            }
            kept.extend(&chunk[..n]);
            let extra = kept.len().saturating_sub(keep);
            kept.drain(..extra);
        }
        let (a, b) = kept.as_slices();
        return out.write_all(a).and_then(|()| out.write_all(b)).and_then(|()| out.flush()).map_err(failed);
    }
    let keep = usize::try_from(count(plan, "-n").unwrap_or(10)).unwrap_or(usize::MAX);
    let mut lines: VecDeque<Vec<u8>> = VecDeque::new();
    let mut held = 0;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).map_err(failed)? == 0 {
            break;
        }
        held += line.len();
        lines.push_back(line);
        while lines.len() > keep {
            held -= lines.pop_front().map_or(0, |l| l.len());
        }
        if held > MAX_KEPT {
            return Err(too_long());
        }
    }
    lines.iter().try_for_each(|l| out.write_all(l)).and_then(|()| out.flush()).map_err(failed)
}

/// Offset where the last `lines` lines begin, reading backwards in blocks.
fn start_of_last_lines(file: &mut File, size: u64, lines: u64) -> io::Result<u64> {
    if lines == 0 {
        return Ok(size);
    }
    let mut block = vec![0u8; 1 << 16];
    let mut end = size;
    let mut newlines = 0;
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, b) in chunk.iter().enumerate().rev() {
            let at = start + i as u64;
            // The file's own final newline ends the last line; it does not start one.
            if *b != b'\n' || at + 1 == size {
                continue;
            }
            newlines += 1;
            if newlines == lines {
                return Ok(at + 1);
            }
        }
        end = start;
    }
    Ok(0)
}
