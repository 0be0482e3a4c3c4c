//! Starting a jailed command and waiting for it: the parent's side, the child's steps, and
//! the tiny init (PID 1 of the jail) that forwards signals and reports the command's end.
// The one unsafe call outside src/sys: the jail's clone (`clone_jail`), whose safety rests
// on what its child does.
#![deny(unsafe_code)]

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{dup2, pipe2, Pid};

use super::egress_cgroup;
use super::kernel::RealKernel;
use super::plan::JailPlan;
use super::prepare::{prepare, PrepareError, PreparedJail, STAGING};
use super::steps::{run_steps, Kernel, LandlockStatus, Step};
use crate::policy::reach::Target;
use crate::policy::Network;
use crate::sys;

/// Descriptors to give the command as 0, 1, 2 (`None`: inherit the caller's).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdio {
    pub stdin: Option<RawFd>,
    pub stdout: Option<RawFd>,
    pub stderr: Option<RawFd>,
    /// Exec tracing: a unix socket on which the jail hands over its seccomp notification
    /// listener before the command starts; every exec in the jail then waits for the holder
    /// of that listener to answer (see `exectrace`).
    pub exec_trace: Option<RawFd>,
    /// Where the jail is born (a leaf of the session's cgroup, made ready by the caller for
    /// the plan's network mode); `None`: the kept cgroup of its egress mode, if any.
    pub placement: Option<Placement>,
}

impl Stdio {
    /// The same descriptor as stdin, stdout and stderr (a pty's slave).
    pub fn all(fd: RawFd) -> Stdio {
        Stdio { stdin: Some(fd), stdout: Some(fd), stderr: Some(fd), ..Stdio::default() }
    }
}

/// A cgroup v2 directory a child is born in (clone3 `CLONE_INTO_CGROUP`), and on hybrid hosts
/// the `cgroup.procs` of cgroup v1 hierarchies it joins before it does anything else.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub cgroup: RawFd,
    pub join: [Option<RawFd>; 2],
}

impl Placement {
    /// In the child, first: joins the v1 cgroups (0: the writing process).
    pub fn join(&self) -> io::Result<()> {
        self.join.iter().flatten().try_for_each(|&procs| sys::write_all(procs, b"0"))
    }
}

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
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    if network == Network::None {
        flags |= libc::CLONE_NEWNET;
    }
    let born_in = stdio.placement.map(|p| p.cgroup).or(egress.as_ref().map(AsRawFd::as_raw_fd));
    let forked = clone_jail(flags, born_in).map_err(if born_in.is_some() {
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

/// Starts the jail's first process (`None` in it), born in `cgroup` if given.
#[allow(unsafe_code)]
fn clone_jail(flags: libc::c_int, cgroup: Option<RawFd>) -> io::Result<Option<Pid>> {
    // SAFETY: the child (`child_main`) runs the steps prepared before the fork (mounts,
    // Landlock rules, credentials, the seccomp program, the command's ExecArgs) and then
    // waits as the jail's init; cage's monitor runs one thread, and a test calling this from
    // a test thread has no other thread at work (the harness's waits for the test).
    unsafe { sys::clone_jail(flags, cgroup) }
}

const FAILED: u8 = b'F';
const LANDLOCK: u8 = b'L';
const EXITED: u8 = b'X';
const KILLED: u8 = b'K';

/// Fixed 8-byte records: kind, step, two zero bytes, a little-endian i32.
fn report(fd: RawFd, kind: u8, step: u8, value: i32) -> std::io::Result<()> {
    let v = value.to_le_bytes();
    sys::write_all(fd, &[kind, step, 0, 0, v[0], v[1], v[2], v[3]])
}

fn fail(fd: RawFd, step: Step, error: &io::Error) -> ! {
    let _ = report(fd, FAILED, step as u8, error.raw_os_error().unwrap_or(libc::EPERM));
    sys::exit_now(126)
}

fn child_main<K: Kernel>(k: &mut K, jail: &PreparedJail, status: RawFd, stdio: Stdio) -> ! {
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
                    return Err(JailError::Step { step, error: io::Error::from_raw_os_error(value) });
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
