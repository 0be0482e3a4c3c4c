//! Shrinking the privileges of the monitor's children (the REPL, the file commands, sudovi,
//! the recorder). The jail does its own from data prepared before fork (`jail::prepare`).
#![forbid(unsafe_code)]

use std::fmt;

use caps::errors::CapsError;
use caps::{CapSet, CapsHashSet};
use nix::errno::Errno;

/// The step of giving up privileges that failed: the child must not go on.
#[derive(Debug)]
pub(super) enum PrivilegeError {
    Bounding(CapsError),
    Capabilities(CapSet, CapsError),
    Groups(Errno),
    Gid(Errno),
    Uid(Errno),
    NoNewPrivs(Errno),
    Landlock(String),
    Seccomp(String),
}

impl fmt::Display for PrivilegeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivilegeError::Bounding(e) => write!(f, "bounding set: {e}"),
            PrivilegeError::Capabilities(set, e) => write!(f, "{set:?} capabilities: {e}"),
            PrivilegeError::Groups(e) => write!(f, "setgroups: {e}"),
            PrivilegeError::Gid(e) => write!(f, "setresgid: {e}"),
            PrivilegeError::Uid(e) => write!(f, "setresuid: {e}"),
            PrivilegeError::NoNewPrivs(e) => write!(f, "no_new_privs: {e}"),
            PrivilegeError::Landlock(e) => write!(f, "landlock: {e}"),
            PrivilegeError::Seccomp(e) => write!(f, "seccomp: {e}"),
        }
    }
}

impl std::error::Error for PrivilegeError {}

/// Drops every capability but `keep` from the bounding set. Needs CAP_SETPCAP, so it comes
/// before anything else is given up. Capabilities this kernel does not know are not in the
/// set to begin with, and are skipped.
pub(super) fn drop_bounding_except(keep: &CapsHashSet) -> Result<(), PrivilegeError> {
    for cap in caps::all().into_iter().filter(|c| !keep.contains(c)) {
        if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(PrivilegeError::Bounding)?;
        }
    }
    Ok(())
}

/// Keeps only `keep` of root's capabilities (bounding set included) under no_new_privs: for a
/// monitor child that has started what needed more and goes on with a narrow job.
pub(super) fn keep_only(keep: &CapsHashSet) -> Result<(), PrivilegeError> {
    drop_bounding_except(keep)?;
    // Effective first: Permitted may never drop below it.
    let none = CapsHashSet::new();
    for (set, value) in [(CapSet::Effective, keep), (CapSet::Inheritable, &none), (CapSet::Permitted, keep)] {
        caps::set(None, set, value).map_err(|e| PrivilegeError::Capabilities(set, e))?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(PrivilegeError::NoNewPrivs)
}
