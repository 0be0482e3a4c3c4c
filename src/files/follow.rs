//! `sudotail -f` (follow the open file) and `-F` (follow the name: logrotate's rename and
//! recreate, and copytruncate). Changes are awaited with inotify on the open file itself
//! (`/proc/self/fd/N` names the inode that was checked, not a path that could be swapped);
//! with `-F` the name is re-resolved beneath the rule every second and after a move or delete.
//! Ctrl-C and Ctrl-\\ (forwarded by the monitor) are read from a signalfd, so following ends
//! by returning: what was sent is recorded before the process ends by that signal.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::{resolve, Failure};
use crate::decide::PathGrant;

const EVENTS: AddWatchFlags = AddWatchFlags::IN_MODIFY
    .union(AddWatchFlags::IN_ATTRIB)
    .union(AddWatchFlags::IN_MOVE_SELF)
    .union(AddWatchFlags::IN_DELETE_SELF);

fn watch(file: &File) -> io::Result<Inotify> {
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
    inotify.add_watch(format!("/proc/self/fd/{}", file.as_raw_fd()).as_str(), EVENTS)?;
    Ok(inotify)
}

/// Copies whatever was appended since `pos`; starts over when the file was truncated.
fn catch_up(
    file: &mut File,
    pos: &mut u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
    path: &str,
) -> io::Result<()> {
    let size = file.metadata()?.len();
    if size < *pos {
        let _ = writeln!(err, "sudotail: {path}: file truncated");
        *pos = 0;
    }
    file.seek(SeekFrom::Start(*pos))?;
    let copied = io::copy(&mut file.take(size - *pos), out)?;
    *pos += copied;
    out.flush()
}

/// The file now at the granted path, if it is another one than `current`.
fn replaced(grant: &PathGrant, current: &File) -> Option<File> {
    let fd = resolve::open_content(grant, libc::O_RDONLY | libc::O_NONBLOCK, 0).ok()?;
    let next = File::from(fd);
    let (now, was) = (next.metadata().ok()?, current.metadata().ok()?);
    (now.is_file() && (now.ino(), now.dev()) != (was.ino(), was.dev())).then_some(next)
}

/// Blocks the signals that end following (this process has one thread) and returns them as
/// a signalfd; from then on they wait until [`follow`] reads them.
pub(super) fn interruptions() -> io::Result<SignalFd> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGQUIT);
    set.thread_block()?;
    Ok(SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?)
}

/// Follows until the process is interrupted (Ctrl-C reaches it from the monitor); returns
/// the signal, still blocked, for the caller to end by once it has recorded the read.
pub(super) fn follow(
    grant: &PathGrant,
    mut file: File,
    by_name: bool,
    signals: &SignalFd,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Signal, Failure> {
    let fail = |e: io::Error| Failure::Failed(format!("{}: {e}", grant.path));
    let mut pos = file.stream_position().map_err(fail)?;
    let mut events = watch(&file).map_err(fail)?;
    loop {
        if let Ok(Some(info)) = signals.read_signal() {
            return Ok(Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGINT));
        }
        catch_up(&mut file, &mut pos, out, err, &grant.path).map_err(fail)?;
        let mut fds =
            [PollFd::new(events.as_fd(), PollFlags::POLLIN), PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let timeout = if by_name { PollTimeout::from(1000u16) } else { PollTimeout::NONE };
        let _ = poll(&mut fds, timeout);
        let moved = events
            .read_events()
            .unwrap_or_default()
            .iter()
            .any(|e| e.mask.intersects(AddWatchFlags::IN_MOVE_SELF | AddWatchFlags::IN_DELETE_SELF));
        if by_name && (moved || fds[0].revents().is_none_or(|r| r.is_empty())) {
            if let Some(next) = replaced(grant, &file) {
                catch_up(&mut file, &mut pos, out, err, &grant.path).map_err(fail)?;
                let _ = writeln!(err, "sudotail: {}: has been replaced; following the new file", grant.path);
                file = next;
                pos = 0;
                events = watch(&file).map_err(fail)?;
            }
        }
    }
}
