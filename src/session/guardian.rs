//! The session's guardian: a small root child of the monitor, started with the session's
//! cgroup (the session's first command). It keeps the promise that nothing outlives the
//! session when the monitor cannot keep it itself:
//!
//! - **The monitor dies** (SIGKILL, an OOM kill, a crash): the kernel tells the guardian
//!   (`PR_SET_PDEATHSIG`), which kills everything in the session's cgroup at once
//!   (`cgroup.kill`), removes the cgroup once empty, and records the session's end.
//! - **The grant ends while the monitor is held up** (blocked writing to a terminal that stopped
//!   reading): the guardian re-reads the grant every second on its own and kills the session's
//!   cgroup when it has ended; the monitor records why when it next looks.
//!
//! The guardian lives where the monitor does (never in the session's cgroup), and is killed by
//! the monitor when the session ends normally.
#![forbid(unsafe_code)]

use std::os::fd::AsFd;

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::{getpid, getppid, Pid};

use super::cgroup::SessionCgroup;
use super::start_error::StartError;
use super::wake::{GrantClock, Source, Waiter, Wake};
use super::Context;
use crate::audit::{EndReason, Entry};
use crate::sys;

/// The signal the kernel sends the guardian when the monitor dies. The monitor keeps it
/// blocked (it reads it from its signalfd), so the guardian inherits it blocked and reads it
/// from its own.
const MONITOR_DIED: Signal = Signal::SIGTERM;

/// A running guardian.
pub struct Guardian {
    pid: Pid,
}

impl Guardian {
    /// Forks the guardian of `ctx`'s session cgroup.
    pub fn start(ctx: &mut Context) -> Result<Guardian, StartError> {
        let monitor = getpid();
        match sys::fork_alone(None).map_err(|e| StartError::failed("starting the session's guardian", e))? {
            Some(pid) => Ok(Guardian { pid }),
            None => sys::exit_now(guard(ctx, monitor)),
        }
    }

    /// The session ended normally: the guardian is no longer needed.
    pub fn stop(self) {
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, None);
    }
}

/// The guardian's life; its exit status.
fn guard(ctx: &mut Context, monitor: Pid) -> i32 {
    let mut set = SigSet::empty();
    set.add(MONITOR_DIED);
    if set.thread_block().is_err() {
        return 1;
    }
    let signals = match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC) {
        Ok(signals) => signals,
        Err(_) => return 1,
    };
    if nix::sys::prctl::set_pdeathsig(MONITOR_DIED).is_err() {
        return 1;
    }
    let mut clock = GrantClock::new();
    // The monitor may have died before the death signal was armed: its child is then
    // reparented, and nobody would tell.
    while getppid() == monitor {
        let mut waiter = Waiter::new();
        waiter.watch(signals.as_fd(), Source::Signals);
        let wakes = waiter.wait(&clock, None);
        if wakes.iter().any(|w| matches!(w, Wake::Ready { .. })) {
            // Only a new parent says the monitor died (the kernel reparents before it sends
            // the death signal): a SIGTERM from anyone else (`timeout`, an admin's kill of
            // the process group) is read and left to the monitor, which ends the session.
            let _ = signals.read_signal();
            continue;
        }
        if wakes.contains(&Wake::GrantDue) {
            clock.checked();
            if (ctx.check_grant)().is_err() {
                kill_session(ctx.cgroup.as_ref());
            }
        }
    }
    // The monitor is gone: end what it left, then say so in the trail.
    end_session(ctx);
    0
}

fn kill_session(cgroup: Option<&SessionCgroup>) {
    if let Some(cgroup) = cgroup {
        let _ = cgroup.kill();
    }
}

/// Kills and removes the session's cgroup and writes the `logout` the monitor could not.
fn end_session(ctx: &mut Context) {
    if let Some(cgroup) = ctx.cgroup.as_ref() {
        let _ = cgroup.kill_and_remove();
    }
    let mut entry = Entry::new("logout")
        .with("reason", EndReason::Killed.as_str())
        .with("error", "the session's monitor died; its processes were killed");
    entry.cwd = Some(ctx.session.cwd.clone());
    // The session's own end, even if the monitor died inside a nested `su` session.
    (ctx.audit.fields.uid, ctx.audit.fields.su_user) = (ctx.login.operator.uid, None);
    let _ = ctx.audit.record(&entry);
}
