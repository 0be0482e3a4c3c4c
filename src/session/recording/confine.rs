//! What the recorder keeps before it serves: no capability, no file it has not opened yet,
//! no exec; and the signals it reads from a descriptor instead of handlers.
#![forbid(unsafe_code)]

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::session::privileges::PrivilegeError;

/// The recorder keeps nothing it does not need: no capability, no file it has not opened
/// yet, no exec.
pub(super) fn confine() -> Result<(), PrivilegeError> {
    crate::session::privileges::keep_only(&caps::CapsHashSet::new())?;
    use landlock::{Access, AccessFs, Ruleset, RulesetAttr, ABI};
    Ruleset::default()
        .handle_access(AccessFs::from_all(ABI::V3))
        .and_then(|r| r.create())
        .and_then(|r| r.restrict_self())
        .map_err(|e| PrivilegeError::Landlock(e.to_string()))?;
    crate::jail::seccomp::apply_no_exec().map_err(|e| PrivilegeError::Seccomp(e.to_string()))
}

pub(super) fn signals() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for sig in [Signal::SIGCHLD, Signal::SIGWINCH, Signal::SIGHUP, Signal::SIGTERM, Signal::SIGINT] {
        set.add(sig);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}
