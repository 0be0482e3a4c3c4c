//! Everything the child needs, built before fork: C strings, argv/envp pointer arrays,
//! mount flags, capability sets and BPF programs. After fork the child only reads these.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fmt;

use caps::{CapSet, Capability, CapsHashSet};
use landlock::{Access as _, AccessFs, BitFlags, ABI};
use nix::mount::MsFlags;
use nix::unistd::{Gid, Uid};
use seccompiler::BpfProgram;

use super::plan::{Access, JailPlan, LandlockAccess, MountOp};
use super::seccomp;
use crate::shown::shown;

/// Where the new root is assembled inside the jail's mount namespace (invisible outside it).
pub const STAGING: &str = "/run/cage/root";

/// The Landlock ABI cage asks for (Linux 6.10: filesystem, TCP, ioctl on devices).
pub(super) const LANDLOCK_ABI: ABI = ABI::V5;

pub struct PreparedJail {
    pub controlling_tty: bool,
    /// The session's view to enter (a mount namespace built once, see `view`): then `mounts`
    /// are only the command's own, made in a copy of it, and there is no `pivot_root`.
    pub view: Option<std::os::fd::OwnedFd>,
    pub staging: CString,
    pub mounts: Vec<PreparedMount>,
    pub landlock_rules: Vec<PreparedRule>,
    pub landlock_required: bool,
    pub identity: PreparedIdentity,
    pub seccomp: Vec<BpfProgram>,
    pub exec: crate::sys::ExecArgs,
    pub cwd: CString,
    pub file_size_limit: Option<u64>,
    pub memory_limit: Option<u64>,
}

#[derive(Debug)]
pub enum PreparedMount {
    Tmpfs {
        target: CString,
        flags: MsFlags,
        data: CString,
    },
    Dir {
        target: CString,
        mode: u32,
    },
    File {
        target: CString,
    },
    Symlink {
        target: CString,
        points_to: CString,
    },
    /// A bind of `source` onto `target`, then a remount with `flags` (read-only, noexec, ...).
    Bind {
        source: CString,
        target: CString,
        flags: MsFlags,
    },
    Proc {
        target: CString,
    },
    /// mknod of a character device.
    Node {
        target: CString,
        major: u32,
        minor: u32,
    },
    /// A bind of a mask already in place (`source`, staged): the new mount inherits its
    /// read-only, nosuid, nodev and noexec flags, so no remount follows.
    BindMask {
        source: CString,
        target: CString,
    },
    /// A host path taken as a detached mount before the jail entered its view (`view`),
    /// attached at `target`, then remounted with `flags`.
    Attach {
        tree: std::os::fd::OwnedFd,
        target: CString,
        flags: MsFlags,
    },
    /// Remount an already mounted tmpfs with `flags`.
    Remount {
        target: CString,
        flags: MsFlags,
    },
}

#[derive(Debug)]
pub struct PreparedRule {
    /// Inside the jail, opened after pivot_root.
    pub path: CString,
    pub access: BitFlags<AccessFs>,
    /// One entry of a split tree: gone by the time the jail opens it, it needs no rule.
    pub optional: bool,
}

pub struct PreparedIdentity {
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
    /// Kept in every set, ambient included.
    pub keep: CapsHashSet,
    /// Dropped from the bounding set (everything the kernel knows but `keep`).
    pub drop_bounding: Vec<Capability>,
    pub sets: [CapSet; 3],
}

/// Why a plan could not be prepared: cage's own failure (the plan was already decided).
#[derive(Debug)]
pub enum PrepareError {
    /// A path, argument or variable holds an interior NUL.
    Nul(String),
    /// A capability name the caps crate does not know.
    UnknownCapability(String),
    /// The seccomp filter could not be built.
    Seccomp(seccomp::SeccompError),
    /// The Landlock ruleset could not be created.
    Landlock(landlock::RulesetError),
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::Nul(s) => write!(f, "`{}` contains NUL", shown(s)),
            PrepareError::UnknownCapability(name) => write!(f, "unknown capability `{name}`"),
            PrepareError::Seccomp(e) => write!(f, "{e}"),
            PrepareError::Landlock(e) => write!(f, "landlock: {e}"),
        }
    }
}

impl std::error::Error for PrepareError {}

fn cstring(s: &str) -> Result<CString, PrepareError> {
    CString::new(s).map_err(|_| PrepareError::Nul(s.to_string()))
}

/// `target` under `root`: the staging directory while the root is assembled, nothing when
/// the jail's own view is entered already built (see `view`).
fn placed(root: &str, target: &str) -> Result<CString, PrepareError> {
    match (root, target) {
        ("", _) => cstring(target),
        (_, "/") => cstring(root),
        _ => cstring(&format!("{root}{target}")),
    }
}

pub fn prepare(plan: &JailPlan, landlock_required: bool) -> Result<PreparedJail, PrepareError> {
    prepare_with(plan, landlock_required, prepare_mounts(&plan.mounts, STAGING)?)
}

/// [`prepare`], the child's mounts given: the command's own, when it enters the session's view.
pub(super) fn prepare_with(
    plan: &JailPlan,
    landlock_required: bool,
    mounts: Vec<PreparedMount>,
) -> Result<PreparedJail, PrepareError> {
    let entries: std::collections::HashMap<&str, bool> =
        plan.landlock.entries.iter().map(|(path, is_dir)| (path.as_str(), *is_dir)).collect();
    Ok(PreparedJail {
        file_size_limit: plan.file_size_limit,
        memory_limit: plan.memory_limit,
        controlling_tty: plan.controlling_tty,
        staging: cstring(STAGING)?,
        mounts,
        view: None,
        landlock_rules: plan
            .landlock
            .rules
            .iter()
            .map(|(path, access)| {
                let entry_is_dir = entries.get(path.as_str()).copied();
                // A device's rights are file rights already (the terminal's placeholder).
                let is_file = plan.landlock.files.contains(path)
                    || *access == LandlockAccess::ExecFile
                    || entry_is_dir == Some(false);
                let access = fs_access(*access, is_file);
                Ok(PreparedRule { path: cstring(path)?, access, optional: entry_is_dir.is_some() })
            })
            .collect::<Result<_, PrepareError>>()?,
        landlock_required,
        identity: prepare_identity(plan)?,
        seccomp: seccomp::compile(&plan.seccomp).map_err(PrepareError::Seccomp)?,
        exec: prepare_exec(plan)?,
        cwd: cstring(&plan.cwd)?,
    })
}

const HARDENED: MsFlags = MsFlags::MS_NOSUID.union(MsFlags::MS_NODEV);

fn bind_flags(access: Access) -> MsFlags {
    match access {
        Access::ReadOnly => HARDENED | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY,
        Access::ReadExec => HARDENED | MsFlags::MS_RDONLY,
        Access::ReadWrite => HARDENED | MsFlags::MS_NOEXEC,
    }
}

/// Every mount op; masks after the first of their kind bind that first one.
pub(super) fn prepare_mounts(ops: &[MountOp], root: &str) -> Result<Vec<PreparedMount>, PrepareError> {
    let (mut file_mask, mut dir_mask): (Option<CString>, Option<CString>) = (None, None);
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let first = match op {
            MountOp::MaskFile { .. } => &mut file_mask,
            MountOp::MaskDir { .. } => &mut dir_mask,
            _ => {
                out.push(prepare_mount(op, root)?);
                continue;
            }
        };
        let prepared = match (first.as_ref(), op) {
            (Some(source), MountOp::MaskFile { target } | MountOp::MaskDir { target }) => {
                PreparedMount::BindMask { source: source.clone(), target: placed(root, target)? }
            }
            _ => prepare_mount(op, root)?,
        };
        if first.is_none() {
            if let PreparedMount::Bind { target, .. } | PreparedMount::Tmpfs { target, .. } = &prepared {
                *first = Some(target.clone());
            }
        }
        out.push(prepared);
    }
    Ok(out)
}

fn prepare_mount(op: &MountOp, root: &str) -> Result<PreparedMount, PrepareError> {
    Ok(match op {
        MountOp::Tmpfs { target, mode, size_mib, .. } => {
            let data = cstring(&format!("mode={mode:o},size={size_mib}m,nr_inodes=16k"))?;
            PreparedMount::Tmpfs { target: placed(root, target)?, flags: tmpfs_flags(target), data }
        }
        MountOp::Dir { target, mode } => PreparedMount::Dir { target: placed(root, target)?, mode: *mode },
        MountOp::File { target } => PreparedMount::File { target: placed(root, target)? },
        MountOp::Symlink { target, points_to } => {
            PreparedMount::Symlink { target: placed(root, target)?, points_to: cstring(points_to)? }
        }
        MountOp::Bind { target, access } => PreparedMount::Bind {
            source: cstring(target)?,
            target: placed(root, target)?,
            flags: bind_flags(*access),
        },
        MountOp::Device { target } => PreparedMount::Bind {
            source: cstring(target)?,
            target: placed(root, target)?,
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        },
        MountOp::DeviceNode { target, major, minor } => {
            PreparedMount::Node { target: placed(root, target)?, major: *major, minor: *minor }
        }
        MountOp::Proc { target } => PreparedMount::Proc { target: placed(root, target)? },
        MountOp::MaskFile { target } => PreparedMount::Bind {
            source: cstring("/dev/null")?,
            target: placed(root, target)?,
            flags: bind_flags(Access::ReadOnly),
        },
        MountOp::MaskDir { target } => PreparedMount::Tmpfs {
            target: placed(root, target)?,
            flags: bind_flags(Access::ReadOnly),
            data: cstring("mode=000,size=4k,nr_inodes=1")?,
        },
        MountOp::RemountReadOnly { target } => PreparedMount::Remount {
            target: placed(root, target)?,
            flags: tmpfs_flags(target) | MsFlags::MS_RDONLY,
        },
    })
}

/// The root holds only directories and symlinks (exec happens in binds below it); /dev holds
/// the device nodes cage creates, so it cannot be nodev, and it is read-only once built.
fn tmpfs_flags(target: &str) -> MsFlags {
    match target {
        "/" => HARDENED,
        "/dev" => MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        _ => HARDENED | MsFlags::MS_NOEXEC,
    }
}

/// Landlock rights per rule; a rule on a file may only carry file rights.
fn fs_access(access: LandlockAccess, is_file: bool) -> BitFlags<AccessFs> {
    let abi = LANDLOCK_ABI;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let rights = match access {
        LandlockAccess::List => BitFlags::from(AccessFs::ReadDir),
        LandlockAccess::Read => read,
        LandlockAccess::ReadExec => read | AccessFs::Execute,
        LandlockAccess::ReadWrite => AccessFs::from_all(abi) & !AccessFs::Execute,
        LandlockAccess::Device => AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev,
        LandlockAccess::ExecFile => AccessFs::ReadFile | AccessFs::Execute,
    };
    if is_file {
        rights & AccessFs::from_file(abi)
    } else {
        rights
    }
}

fn prepare_identity(plan: &JailPlan) -> Result<PreparedIdentity, PrepareError> {
    let mut keep = CapsHashSet::new();
    for name in &plan.caps {
        let canonical = format!("CAP_{}", name.to_ascii_uppercase());
        let cap: Capability = canonical.parse().map_err(|_| PrepareError::UnknownCapability(name.clone()))?;
        keep.insert(cap);
    }
    let drop_bounding = supported_caps().iter().filter(|c| !keep.contains(c)).copied().collect();
    let id = &plan.identity;
    Ok(PreparedIdentity {
        uid: Uid::from_raw(id.uid),
        gid: Gid::from_raw(id.gid),
        groups: id.groups.iter().map(|g| Gid::from_raw(*g)).collect(),
        keep,
        drop_bounding,
        // Shrink Effective first: Permitted may never drop below it.
        sets: [CapSet::Effective, CapSet::Inheritable, CapSet::Permitted],
    })
}

/// What this kernel supports, probed once per process.
fn supported_caps() -> &'static CapsHashSet {
    static SUPPORTED: std::sync::OnceLock<CapsHashSet> = std::sync::OnceLock::new();
    SUPPORTED.get_or_init(caps::runtime::thread_all_supported)
}

fn prepare_exec(plan: &JailPlan) -> Result<crate::sys::ExecArgs, PrepareError> {
    let argv = plan.argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
    let env = plan.env.iter().map(|(k, v)| cstring(&format!("{k}={v}"))).collect::<Result<_, _>>()?;
    Ok(crate::sys::ExecArgs::new(cstring(&plan.program)?, argv, env))
}
