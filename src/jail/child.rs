//! The jail's child: its steps (`steps::run_steps`, through a `Kernel`), then the tiny init,
//! PID 1 of the jail, that starts the command, forwards signals and reports its end to the
//! monitor as fixed 8-byte records on the status pipe.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{dup2, Pid};

use super::prepare::PreparedJail;
use super::stdio::Stdio;
use super::steps::{run_steps, Kernel, Step};
use crate::sys;

pub(super) const FAILED: u8 = b'F';
pub(super) const LANDLOCK: u8 = b'L';
pub(super) const EXITED: u8 = b'X';
pub(super) const KILLED: u8 = b'K';

/// Fixed 8-byte records: kind, step, two zero bytes, a little-endian i32.
fn report(fd: RawFd, kind: u8, step: u8, value: i32) -> std::io::Result<()> {
    let v = value.to_le_bytes();
    sys::write_all(fd, &[kind, step, 0, 0, v[0], v[1], v[2], v[3]])
}

/// Reports the failed step and its errno; 0 for an error that no system call returned (a
/// check of cage's own or of a library's), which would otherwise read as some errno's text.
fn fail(fd: RawFd, step: Step, error: &io::Error) -> ! {
    let _ = report(fd, FAILED, step as u8, error.raw_os_error().unwrap_or(0));
    sys::exit_now(126)
}

pub(super) fn child_main<K: Kernel>(k: &mut K, jail: &PreparedJail, status: RawFd, stdio: Stdio) -> ! {
    if let Some(Err(e)) = stdio.placement.map(|p| p.join()) {
        fail(status, Step::Session, &e);
    }
    for (fd, target) in [(stdio.stdin, 0), (stdio.stdout, 1), (stdio.stderr, 2)] {
        if let Some(fd) = fd {
            if let Err(e) = dup2(fd, target) {
                fail(status, Step::Session, &e.into());
            }
        }
    }
    match run_steps(k, jail) {
        // The parent's death signal is set by now: if it died before, nobody reads this
        // record (EPIPE) and the command must not start unwatched.
        Ok(landlock) => {
            if report(status, LANDLOCK, 0, landlock as i32).is_err() {
                sys::exit_now(126)
            }
        }
        Err((step, error)) => fail(status, step, &error),
    }
    // Writing past RLIMIT_FSIZE raises SIGXFSZ (which ends the writer); allocating past
    // RLIMIT_DATA fails (malloc returns NULL).
    use nix::sys::resource::{setrlimit, Resource};
    for (resource, limit) in
        [(Resource::RLIMIT_FSIZE, jail.file_size_limit), (Resource::RLIMIT_DATA, jail.memory_limit)]
    {
        if let Some(Err(errno)) = limit.map(|limit| setrlimit(resource, limit, limit)) {
            fail(status, Step::Exec, &errno.into());
        }
    }
    if let Some(socket) = stdio.exec_trace {
        if let Err(error) = super::exectrace::hand_over_listener(socket) {
            fail(status, Step::Seccomp, &error);
        }
    }
    run_init(jail, status)
}

/// A command starts with no signal blocked, whatever its parents (the monitor) blocked.
pub fn clear_signal_mask() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        set.add(sig);
    }
    set
}

/// PID 1 of the jail: runs the command as PID 2, forwards signals to it (PID 1 itself would
/// ignore Ctrl-C by default), and exits with its status, which ends every straggler too.
fn run_init(jail: &PreparedJail, status: RawFd) -> ! {
    let signals = forwarded();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&signals), None) {
        fail(status, Step::Exec, &e.into());
    }
    // The command starts with no signal blocked; a failed exec is reported as the exec step's.
    let command = match sys::spawn_program(&jail.exec) {
        Ok(pid) => pid,
        Err(error) => {
            let _ = report(status, FAILED, Step::Exec as u8, error.raw_os_error().unwrap_or(libc::ENOEXEC));
            sys::exit_now(127)
        }
    };
    let keep = status as u32;
    let _ = sys::close_range(3, keep.saturating_sub(1), 0);
    let _ = sys::close_range(keep + 1, u32::MAX, 0);
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => reap(command, status),
            Ok(sig) => {
                let _ = kill(command, sig);
            }
            Err(_) => {}
        }
    }
}

/// Reaps every exited process; when it is the command, reports and exits.
fn reap(command: Pid, status: RawFd) {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => {
                let _ = report(status, EXITED, 0, code);
                sys::exit_now(code)
            }
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == command => {
                let _ = report(status, KILLED, 0, sig as i32);
                sys::exit_now(128 + sig as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}
