//! Starting a jailed command and waiting for it: the parent's side (the child's is in
//! `child`).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe2, Pid};

use super::child::{child_main, EXITED, FAILED, KILLED, LANDLOCK};
use super::egress_cgroup;
use super::kernel::RealKernel;
use super::plan::JailPlan;
use super::prepare::{prepare, PrepareError, PreparedJail, STAGING};
use super::stdio::Stdio;
use super::steps::{Kernel, LandlockStatus, Step};
use crate::policy::reach::Target;
use crate::policy::Network;
use crate::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub outcome: Outcome,
    pub landlock: Option<LandlockStatus>,
}

#[derive(Debug)]
pub enum JailError {
    /// The plan could not be turned into what the child needs.
    Prepare(PrepareError),
    /// fork, pipe or the staging directory failed in the parent.
    Spawn(io::Error),
    /// The egress filter of `network = "local"` or `"layer"` could not be put in place.
    Egress(io::Error),
    /// A step failed in the child; nothing ran.
    Step { step: Step, error: io::Error },
}

impl fmt::Display for JailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailError::Prepare(e) => write!(f, "jail: {e}"),
            JailError::Spawn(e) => write!(f, "jail: cannot start: {e}"),
            JailError::Egress(e) => write!(f, "jail: egress filter: {e}"),
            JailError::Step { step, error } => write!(f, "jail step `{step}` failed: {error}"),
        }
    }
}

impl std::error::Error for JailError {}

/// A started jail; [`Running::wait`] reports how it ended.
#[derive(Debug)]
pub struct Running {
    pid: Pid,
    status: File,
    /// The init's records read so far.
    reported: Vec<u8>,
}

/// A jail whose command has ended and whose init is exiting: the kernel is tearing its
/// namespaces down, which nobody needs to wait for. Reap it when convenient.
#[derive(Debug)]
pub struct Exiting(Pid);

impl Exiting {
    /// True once the init is reaped (or gone).
    pub fn try_reap(&self) -> bool {
        !matches!(waitpid(self.0, Some(WaitPidFlag::WNOHANG)), Ok(WaitStatus::StillAlive))
    }

    /// Waits until the init has exited (its namespaces gone) and reaps it.
    pub fn reap(self) {
        while waitpid(self.0, None) == Err(Errno::EINTR) {}
    }
}

/// Starts `plan` with the real kernel. Landlock must be fully enforced when `landlock_required`.
pub fn spawn(plan: &JailPlan, stdio: Stdio, landlock_required: bool) -> Result<Running, JailError> {
    let prepared = prepare(plan, landlock_required).map_err(JailError::Prepare)?;
    let kernel = RealKernel::new(plan, landlock_required).map_err(JailError::Prepare)?;
    spawn_with(&prepared, kernel, (plan.network, &plan.targets), stdio)
}

/// Starts a prepared jail with any [`Kernel`] (tests inject faults through this).
pub fn spawn_with<K: Kernel>(
    jail: &PreparedJail,
    mut kernel: K,
    (network, targets): (Network, &[Target]),
    stdio: Stdio,
) -> Result<Running, JailError> {
    // Before fork: a jail of a filtered mode is born in its checked cgroup, or not at all.
    let egress = match stdio.placement {
        Some(_) => None,
        None => egress_cgroup::cgroup_for(network, targets).map_err(JailError::Egress)?,
    };
    fs::DirBuilder::new().recursive(true).mode(0o700).create(STAGING).map_err(JailError::Spawn)?;
    let (status_r, status_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| JailError::Spawn(e.into()))?;
    // Entering the session's view makes the mount namespace (`Kernel::enter_view`): a copy of
    // the host's made here would only be thrown away.
    let mut flags = libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    if jail.view.is_none() {
        flags |= libc::CLONE_NEWNS;
    }
    if network == Network::None {
        flags |= libc::CLONE_NEWNET;
    }
    let born_in = stdio.placement.map(|p| p.cgroup).or(egress.as_ref().map(AsRawFd::as_raw_fd));
    let forked = sys::clone_jail(flags, born_in).map_err(if born_in.is_some() {
        JailError::Egress
    } else {
        JailError::Spawn
    });
    let pid = match forked? {
        None => {
            drop((status_r, egress));
            child_main(&mut kernel, jail, status_w.as_raw_fd(), stdio)
        }
        Some(pid) => pid,
    };
    drop(status_w);
    // Read as it comes (`try_finish`), without ever blocking the monitor.
    nix::fcntl::fcntl(status_r.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map_err(|e| JailError::Spawn(e.into()))?;
    Ok(Running { pid, status: File::from(status_r), reported: Vec::new() })
}

impl Running {
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Sends `signal` to the jail's init, which forwards it to the command.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        Ok(kill(self.pid, signal)?)
    }

    /// Waits for the command to end and reports how, or which step refused to start it.
    pub fn wait(self) -> Result<Finished, JailError> {
        let init = loop {
            match waitpid(self.pid, None) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        self.finish(init)
    }

    /// Like [`Running::wait`], but returns `None` at once while the jail still runs.
    pub fn try_wait(self) -> Result<Result<Finished, JailError>, Running> {
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Err(self),
            init => Ok(self.finish(init)),
        }
    }

    /// Like [`Running::try_wait`], but also done as soon as the init has reported how the
    /// command ended, before the init itself exits: then the `Exiting` init is the caller's to
    /// reap. The namespaces' teardown (unmounting the jail's tree, which waits for RCU) is
    /// then no longer part of the command's time.
    pub fn try_finish(mut self) -> Result<(Result<Finished, JailError>, Option<Exiting>), Running> {
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            init => return Ok((self.finish(init), None)),
        }
        self.read_reported();
        let ended = self.reported.chunks_exact(8).any(|r| matches!(r[0], EXITED | KILLED | FAILED));
        match ended {
            true => {
                let pid = self.pid;
                Ok((self.finish(Ok(WaitStatus::StillAlive)), Some(Exiting(pid))))
            }
            false => Err(self),
        }
    }

    /// The status pipe, readable when the init reports (for the caller's poll).
    pub fn status_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.status.as_fd()
    }

    /// Takes in what the init has written so far.
    fn read_reported(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.status.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.reported.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// The init has been reaped, or has reported the command's end: read its records (once
    /// reaped, the pipe is at EOF, every writer is gone).
    fn finish(mut self, init: nix::Result<WaitStatus>) -> Result<Finished, JailError> {
        self.read_reported();
        let bytes = std::mem::take(&mut self.reported);
        let mut finished = Finished { outcome: Outcome::Exited(126), landlock: None };
        let mut ended = false;
        for record in bytes.chunks_exact(8) {
            let value = i32::from_le_bytes([record[4], record[5], record[6], record[7]]);
            match record[0] {
                FAILED => {
                    let step = Step::from_code(record[1]).unwrap_or(Step::Exec);
                    return Err(JailError::Step { step, error: step_error(value) });
                }
                LANDLOCK => finished.landlock = landlock_status(value),
                EXITED => (finished.outcome, ended) = (Outcome::Exited(value), true),
                KILLED => (finished.outcome, ended) = (Outcome::Signaled(value), true),
                _ => {}
            }
        }
        if !ended {
            finished.outcome = match init.map_err(|e| JailError::Spawn(e.into()))? {
                WaitStatus::Signaled(_, sig, _) => Outcome::Signaled(sig as i32),
                WaitStatus::Exited(_, code) => Outcome::Exited(code),
                _ => Outcome::Exited(126),
            };
        }
        Ok(finished)
    }
}

fn landlock_status(value: i32) -> Option<LandlockStatus> {
    [LandlockStatus::NotEnforced, LandlockStatus::Partial, LandlockStatus::Full]
        .into_iter()
        .find(|s| *s as i32 == value)
}

/// The error a failed step reported: an errno, or 0 for one no system call returned.
pub(super) fn step_error(errno: i32) -> io::Error {
    match errno {
        0 => io::Error::other("not a system call's error (a check in cage or a library it uses)"),
        errno => io::Error::from_raw_os_error(errno),
    }
}
