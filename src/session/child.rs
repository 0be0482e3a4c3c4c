//! The monitor's own children (file commands, unjailed commands, the editor's helper, the
//! REPL): where they are born, their stdio, and their death with the monitor.
#![forbid(unsafe_code)]

use nix::sys::signal::Signal;
use nix::unistd::{dup2, getppid, Pid};

use super::start_error::{StartError, FAILED};
use crate::jail::{Placement, Stdio};
use crate::sys;

/// Forks a child of the monitor in its place in the session's cgroup (or where the monitor
/// is, without one); the child has joined every cgroup of the place, and dies with the
/// monitor, before it returns.
pub(crate) fn fork_placed(placement: Option<Placement>) -> Result<Option<Pid>, StartError> {
    let monitor = nix::unistd::getpid();
    let forked = sys::fork_alone(placement.map(|place| place.cgroup));
    match forked.map_err(|e| StartError::failed("fork", e))? {
        None if !dies_with(monitor) || placement.is_some_and(|place| place.join().is_err()) => {
            sys::exit_now(FAILED)
        }
        forked => Ok(forked),
    }
}

/// In a child of `monitor`: the kernel kills it when the monitor dies (`PR_SET_PDEATHSIG`).
/// False when that cannot be promised: the signal could not be armed, or the monitor died
/// before it was (the child has been handed to another parent). A change of credentials
/// clears the signal: call this again after one.
pub(crate) fn dies_with(monitor: Pid) -> bool {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_ok() && getppid() == monitor
}

pub(crate) fn redirect_stdio(stdio: Stdio) -> nix::Result<()> {
    for (fd, target) in [(stdio.stdin, 0), (stdio.stdout, 1), (stdio.stderr, 2)] {
        if let Some(fd) = fd {
            dup2(fd, target)?;
        }
    }
    Ok(())
}
