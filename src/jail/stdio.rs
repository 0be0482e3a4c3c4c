//! What a started command is given: its descriptors, and where it is born (its cgroups).
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

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
