//! The real [`Kernel`]: nix, caps, landlock and seccompiler, one call per step.
#![forbid(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use caps::CapSet;
use landlock::{
    Access as _, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::sys::stat::{fchmodat, umask, FchmodatFlags, Mode};
use nix::unistd::{chdir, mkdir, pivot_root, setgroups, setresgid, setresuid, setsid, symlinkat};
use seccompiler::BpfProgram;

use super::plan::JailPlan;
use super::prepare::{PrepareError, PreparedIdentity, PreparedMount, PreparedRule, LANDLOCK_ABI};
use super::steps::{Kernel, LandlockStatus};
use crate::sys;

const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;

/// The kernel itself. Holds the Landlock ruleset, created before fork.
pub struct RealKernel {
    ruleset: Option<RulesetCreated>,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Whether the kernel enforces `rights` (and `scopes`) in full: a ruleset asking for them as
/// a hard requirement can be made.
fn kernel_enforces(rights: ABI, scopes: bool) -> bool {
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(rights));
    let ruleset = match scopes {
        true => ruleset.and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal)),
        false => ruleset,
    };
    ruleset.and_then(|r| r.create()).is_ok()
}

/// The Landlock ABI a jail is confined by on this kernel: 6 when abstract UNIX sockets and
/// signals are scoped too (nothing in the jail reaches a host daemon's abstract socket or
/// signals a process outside its domain), 5 for the file and TCP rules alone, 0 when the
/// kernel enforces less than that (only `landlock = "best-effort"` runs jails then).
pub fn enforced_landlock_abi() -> u8 {
    static ABI_IN_FORCE: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *ABI_IN_FORCE.get_or_init(|| {
        match (kernel_enforces(ABI::V6, true), kernel_enforces(LANDLOCK_ABI, false)) {
            (true, _) => 6,
            (false, true) => 5,
            (false, false) => 0,
        }
    })
}

impl RealKernel {
    pub fn new(plan: &JailPlan, landlock_required: bool) -> Result<RealKernel, PrepareError> {
        let err = PrepareError::Landlock;
        let level = if landlock_required { CompatLevel::HardRequirement } else { CompatLevel::BestEffort };
        let mut ruleset = Ruleset::default()
            .set_compatibility(level)
            .handle_access(AccessFs::from_all(LANDLOCK_ABI))
            .map_err(err)?;
        if plan.landlock.tcp_connect.is_some() {
            ruleset = ruleset.handle_access(AccessNet::ConnectTcp).map_err(err)?;
        }
        if plan.landlock.tcp_bind.is_some() {
            ruleset = ruleset.handle_access(AccessNet::BindTcp).map_err(err)?;
        }
        // Scopes only where the kernel has them: asked for on an older one they would make
        // the ruleset partial, and a required ruleset refuse every jail.
        if enforced_landlock_abi() >= 6 {
            ruleset = ruleset.scope(Scope::AbstractUnixSocket | Scope::Signal).map_err(err)?;
        }
        let mut created = ruleset.create().map_err(err)?;
        for port in plan.landlock.tcp_connect.iter().flatten() {
            created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp)).map_err(err)?;
        }
        for port in plan.landlock.tcp_bind.iter().flatten() {
            created = created.add_rule(NetPort::new(*port, AccessNet::BindTcp)).map_err(err)?;
        }
        Ok(RealKernel { ruleset: Some(created) })
    }
}

impl Kernel for RealKernel {
    fn new_session(&mut self, controlling_tty: bool) -> io::Result<()> {
        setsid()?;
        if controlling_tty {
            sys::set_controlling_tty(0)?;
        }
        prctl::set_pdeathsig(Signal::SIGKILL)?;
        // Modes of what the jail creates are exactly the plan's.
        umask(Mode::empty());
        Ok(())
    }

    fn make_mounts_private(&mut self) -> io::Result<()> {
        make_private()
    }

    fn mount(&mut self, op: &PreparedMount) -> io::Result<()> {
        mount_one(op)
    }

    fn pivot_root(&mut self, new_root: &CStr, cwd: &CStr) -> io::Result<()> {
        pivot_into(new_root, cwd)
    }

    fn enter_view(&mut self, view: BorrowedFd) -> io::Result<()> {
        setns(view, CloneFlags::CLONE_NEWNS)?;
        Ok(unshare(CloneFlags::CLONE_NEWNS)?)
    }

    fn chdir(&mut self, cwd: &CStr) -> io::Result<()> {
        Ok(chdir(cwd)?)
    }

    fn add_landlock_rule(&mut self, rule: &PreparedRule) -> io::Result<()> {
        let fd = match sys::open_path(&rule.path) {
            Err(e) if rule.optional && e.kind() == io::ErrorKind::NotFound => return Ok(()),
            opened => opened?,
        };
        let ruleset = self.ruleset.take().ok_or_else(|| other("landlock ruleset already used"))?;
        let ruleset = ruleset.add_rule(PathBeneath::new(fd.as_fd(), rule.access)).map_err(other)?;
        self.ruleset = Some(ruleset);
        Ok(())
    }

    fn close_fds(&mut self) -> io::Result<()> {
        sys::close_range(3, u32::MAX, sys::CLOSE_RANGE_CLOEXEC)
    }

    fn drop_privileges(&mut self, id: &PreparedIdentity) -> io::Result<()> {
        // Root that execs would otherwise regain its bounding set; NOROOT stops that.
        sys::set_securebits(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED)?;
        prctl::set_keepcaps(true)?;
        for cap in &id.drop_bounding {
            caps::drop(None, CapSet::Bounding, *cap).map_err(other)?;
        }
        setgroups(&id.groups)?;
        setresgid(id.gid, id.gid, id.gid)?;
        setresuid(id.uid, id.uid, id.uid)?;
        for set in id.sets {
            caps::set(None, set, &id.keep).map_err(other)?;
        }
        for cap in &id.keep {
            caps::raise(None, CapSet::Ambient, *cap).map_err(other)?;
        }
        prctl::set_keepcaps(false)?;
        // The credential change cleared the parent-death signal set by `new_session`: armed
        // again, so the init (and with it the jail's PID namespace) dies with the monitor.
        // Had the monitor died in between, the init's first report finds no reader (EPIPE)
        // and the command never starts.
        prctl::set_pdeathsig(Signal::SIGKILL)?;
        Ok(())
    }

    fn restrict_landlock(&mut self) -> io::Result<LandlockStatus> {
        let ruleset = self.ruleset.take().ok_or_else(|| other("landlock ruleset already used"))?;
        let status = ruleset.restrict_self().map_err(other)?;
        Ok(match status.ruleset {
            RulesetStatus::FullyEnforced => LandlockStatus::Full,
            RulesetStatus::PartiallyEnforced => LandlockStatus::Partial,
            _ => LandlockStatus::NotEnforced,
        })
    }

    fn set_no_new_privs(&mut self) -> io::Result<()> {
        prctl::set_no_new_privs()?;
        match prctl::get_no_new_privs()? {
            true => Ok(()),
            false => Err(other("no_new_privs did not stick")),
        }
    }

    fn apply_seccomp(&mut self, program: &BpfProgram) -> io::Result<()> {
        seccompiler::apply_filter(program).map_err(other)
    }
}

/// `/` and everything beneath it made private: nothing mounted here reaches the host.
pub(super) fn make_private() -> io::Result<()> {
    let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    Ok(mount(None::<&CStr>, c"/", None::<&CStr>, flags, None::<&CStr>)?)
}

/// A bind mount's own flags (read-only, noexec, ...), which its first mount does not take.
fn remount_bind(target: &CStr, flags: MsFlags) -> io::Result<()> {
    let none = None::<&CStr>;
    Ok(mount(none, target, none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags, none)?)
}

/// One step of building a view.
pub(super) fn mount_one(op: &PreparedMount) -> io::Result<()> {
    let none = None::<&CStr>;
    match op {
        PreparedMount::Tmpfs { target, flags, data } => {
            mount(Some(c"tmpfs"), target.as_c_str(), Some(c"tmpfs"), *flags, Some(data.as_c_str()))?
        }
        PreparedMount::Dir { target, mode } => {
            mkdir(target.as_c_str(), Mode::from_bits_truncate(*mode))?;
            // With umask 0, mkdir keeps the permission and sticky bits; only set-id bits
            // need a chmod.
            if mode & 0o6000 != 0 {
                fchmodat(
                    None,
                    target.as_c_str(),
                    Mode::from_bits_truncate(*mode),
                    FchmodatFlags::FollowSymlink,
                )?;
            }
        }
        PreparedMount::File { target } => {
            let flags =
                nix::fcntl::OFlag::O_CREAT | nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(target.as_c_str(), flags, Mode::from_bits_truncate(0o444))?;
            nix::unistd::close(fd)?;
        }
        PreparedMount::Symlink { target, points_to } => {
            symlinkat(points_to.as_c_str(), None, target.as_c_str())?
        }
        PreparedMount::Bind { source, target, flags } => {
            mount(Some(source.as_c_str()), target.as_c_str(), none, MsFlags::MS_BIND, none)?;
            remount_bind(target, *flags)?;
        }
        PreparedMount::BindMask { source, target } => {
            mount(Some(source.as_c_str()), target.as_c_str(), none, MsFlags::MS_BIND, none)?
        }
        PreparedMount::Proc { target } => {
            let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            mount(Some(c"proc"), target.as_c_str(), Some(c"proc"), flags, none)?
        }
        PreparedMount::Node { target, major, minor } => {
            let dev = nix::sys::stat::makedev(u64::from(*major), u64::from(*minor));
            let kind = nix::sys::stat::SFlag::S_IFCHR;
            nix::sys::stat::mknod(target.as_c_str(), kind, Mode::from_bits_truncate(0o666), dev)?
        }
        PreparedMount::Attach { tree, target, flags } => {
            sys::attach_tree(tree.as_fd(), target)?;
            remount_bind(target, *flags)?;
        }
        PreparedMount::Remount { target, flags } => {
            mount(none, target.as_c_str(), none, MsFlags::MS_REMOUNT | *flags, none)?
        }
    }
    Ok(())
}

/// Into the view built at `new_root`: pivot_root, the old root detached, then `cwd`.
pub(super) fn pivot_into(new_root: &CStr, cwd: &CStr) -> io::Result<()> {
    chdir(new_root)?;
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no
    // path back to the host's tree (no directory to create for the old root).
    pivot_root(c".", c".")?;
    umount2(c".", MntFlags::MNT_DETACH)?;
    chdir(c"/")?;
    Ok(chdir(cwd)?)
}
