//! The child's steps, in DESIGN.md order, behind the [`Kernel`] trait so the order is
//! tested without root (a recording double) and faults can be injected at any step.
#![forbid(unsafe_code)]

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use super::prepare::{PreparedIdentity, PreparedJail, PreparedMount, PreparedRule};
use seccompiler::BpfProgram;

/// Each failure names one of these; the parent shows the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Step {
    Session = 1,
    Namespaces,
    Mounts,
    PivotRoot,
    LandlockRules,
    CloseFds,
    DropPrivileges,
    Landlock,
    NoNewPrivs,
    Seccomp,
    Exec,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Session,
        Step::Namespaces,
        Step::Mounts,
        Step::PivotRoot,
        Step::LandlockRules,
        Step::CloseFds,
        Step::DropPrivileges,
        Step::Landlock,
        Step::NoNewPrivs,
        Step::Seccomp,
        Step::Exec,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Session => "new session",
            Step::Namespaces => "namespaces",
            Step::Mounts => "mounts",
            Step::PivotRoot => "pivot_root",
            Step::LandlockRules => "landlock rules",
            Step::CloseFds => "close fds",
            Step::DropPrivileges => "drop privileges",
            Step::Landlock => "landlock",
            Step::NoNewPrivs => "no_new_privs",
            Step::Seccomp => "seccomp",
            Step::Exec => "exec",
        }
    }

    pub fn from_code(code: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u8 == code)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much of the Landlock ruleset the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LandlockStatus {
    NotEnforced = 0,
    Partial = 1,
    Full = 2,
}

/// The system calls of the child, one method each (or one small group), named by step.
pub trait Kernel {
    /// setsid, the controlling tty when asked (stdin), then PR_SET_PDEATHSIG.
    fn new_session(&mut self, controlling_tty: bool) -> io::Result<()>;
    /// `/` recursively private, so nothing mounted here propagates to the host.
    fn make_mounts_private(&mut self) -> io::Result<()>;
    fn mount(&mut self, op: &PreparedMount) -> io::Result<()>;
    /// pivot_root into `new_root`, detach the old root, then chdir to `cwd`.
    fn pivot_root(&mut self, new_root: &CStr, cwd: &CStr) -> io::Result<()>;
    /// Enters the session's view (a mount namespace built already, its root the jail's),
    /// then a copy of it that is the command's own.
    fn enter_view(&mut self, view: BorrowedFd) -> io::Result<()>;
    /// The working directory, in a view entered.
    fn chdir(&mut self, cwd: &CStr) -> io::Result<()>;
    fn add_landlock_rule(&mut self, rule: &PreparedRule) -> io::Result<()>;
    /// Every descriptor above 2 is made close-on-exec.
    fn close_fds(&mut self) -> io::Result<()>;
    /// The identity's groups, ids and capabilities; then PR_SET_PDEATHSIG again (a change of
    /// credentials clears it).
    fn drop_privileges(&mut self, identity: &PreparedIdentity) -> io::Result<()>;
    fn restrict_landlock(&mut self) -> io::Result<LandlockStatus>;
    fn set_no_new_privs(&mut self) -> io::Result<()>;
    fn apply_seccomp(&mut self, program: &BpfProgram) -> io::Result<()>;
}

/// A failed step and why.
pub type StepFailure = (Step, io::Error);

/// Runs steps 1 to 9 (exec is the caller's). Stops at the first failure.
pub fn run_steps<K: Kernel>(k: &mut K, jail: &PreparedJail) -> Result<LandlockStatus, StepFailure> {
    let at = |step: Step| move |e: io::Error| (step, e);
    k.new_session(jail.controlling_tty).map_err(at(Step::Session))?;
    match &jail.view {
        // The session's view, then the command's own mounts in its copy of it.
        Some(view) => {
            k.enter_view(view.as_fd()).map_err(at(Step::Namespaces))?;
            for op in &jail.mounts {
                k.mount(op).map_err(at(Step::Mounts))?;
            }
            k.chdir(&jail.cwd).map_err(at(Step::PivotRoot))?;
        }
        None => {
            k.make_mounts_private().map_err(at(Step::Namespaces))?;
            for op in &jail.mounts {
                k.mount(op).map_err(at(Step::Mounts))?;
            }
            k.pivot_root(&jail.staging, &jail.cwd).map_err(at(Step::PivotRoot))?;
        }
    }
    for rule in &jail.landlock_rules {
        k.add_landlock_rule(rule).map_err(at(Step::LandlockRules))?;
    }
    k.close_fds().map_err(at(Step::CloseFds))?;
    k.drop_privileges(&jail.identity).map_err(at(Step::DropPrivileges))?;
    let status = k.restrict_landlock().map_err(at(Step::Landlock))?;
    if jail.landlock_required && status != LandlockStatus::Full {
        let refused = io::Error::other("the kernel does not fully enforce the Landlock ruleset");
        return Err((Step::Landlock, refused));
    }
    k.set_no_new_privs().map_err(at(Step::NoNewPrivs))?;
    for program in &jail.seccomp {
        k.apply_seccomp(program).map_err(at(Step::Seccomp))?;
    }
    Ok(status)
}
