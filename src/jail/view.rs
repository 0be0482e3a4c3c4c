//! The session's view, built once: the jail's tree (binds, masks, /dev) held as a mount
//! namespace of its own, which each later command of the same view enters and copies. A
//! command then mounts only what is its own (/proc of its PID namespace, its /tmp, its
//! terminal) instead of copying the host's mount table, mounting the whole tree, pivoting
//! and detaching the host's mounts again.
//!
//! A view is reused only while nothing it was built from has changed on the host: its key is
//! the plan's mounts and the device and inode of every host path bound or masked in it. A
//! rename over a masked file lifts the mask in the view too (see docs/jail.md), and it changes
//! the inode at that name: the next command builds a new view.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::pipe2;

use super::kernel::{make_private, mount_one, pivot_into};
use super::mounts::PTS;
use super::plan::{JailPlan, MountOp};
use super::prepare::{prepare_mounts, prepare_with, PrepareError, PreparedMount, STAGING};
use super::spawn::{spawn_with, JailError, Running};
use super::stdio::Stdio;
use crate::sys;

/// What is mounted for each command itself, in its copy of the view.
const OWN: &[&str] = &["/proc", "/tmp", PTS];

/// The plan's mounts as the view and the command's own mounts (each of those and everything
/// beneath them, in the plan's order), or `None` when something lies beneath a mount point of
/// the command's own that the plan does not mount (it would be made in the read-only view).
pub(super) fn split(mounts: &[MountOp]) -> Option<(Vec<MountOp>, Vec<MountOp>)> {
    let own_root = |target: &str| OWN.iter().find(|own| crate::policy::path::is_within(target, own));
    let (mut view, mut own) = (Vec::new(), Vec::new());
    for op in mounts {
        match (own_root(op.target()), op) {
            // The mount point itself is made in the view.
            (Some(root), MountOp::Dir { target, .. }) if target == root => view.push(op.clone()),
            (Some(_), _) => own.push(op.clone()),
            (None, _) => view.push(op.clone()),
        }
    }
    let mounted = |root: &str| {
        own.iter().any(
            |op| matches!(op, MountOp::Tmpfs { target, .. } | MountOp::Proc { target } if target == root),
        )
    };
    own.iter().all(|op| own_root(op.target()).is_some_and(|root| mounted(root))).then_some((view, own))
}

/// What a view is built from: its mounts and, for each host path they bind or mask, the
/// device and inode there (`None`: nothing there).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    mounts: Vec<MountOp>,
    host: Vec<Option<(u64, u64)>>,
}

impl Key {
    fn of(mounts: Vec<MountOp>) -> Key {
        let host = mounts
            .iter()
            .filter(|op| {
                matches!(op, MountOp::Bind { .. } | MountOp::MaskFile { .. } | MountOp::MaskDir { .. })
            })
            .map(|op| std::fs::symlink_metadata(op.target()).ok().map(|m| (m.dev(), m.ino())))
            .collect();
        Key { mounts, host }
    }
}

/// The session's views: the one in use, and the key of the last jail started, so that a view
/// is built on the second command that would use it (a session of one command pays nothing).
#[derive(Default)]
pub struct Views {
    built: Option<(Key, OwnedFd)>,
    last: Option<Key>,
}

impl Views {
    /// Starts `plan` like [`super::spawn`], in the session's view of it when there is one.
    pub fn spawn(
        &mut self,
        plan: &JailPlan,
        stdio: Stdio,
        landlock_required: bool,
    ) -> Result<Running, JailError> {
        let Some((view, own)) = split(&plan.mounts) else {
            return super::spawn(plan, stdio, landlock_required);
        };
        let key = Key::of(view);
        if self.built.as_ref().is_some_and(|(built, _)| *built != key) {
            self.built = None;
        }
        if self.built.is_none() && self.last.as_ref() == Some(&key) {
            // Built from what the key says, or not kept: a host path that changed while the
            // view was built may be in it either way. A view that cannot be built is no
            // error: the command builds its own tree, as the first one did.
            let cgroup = stdio.placement.map(|p| p.cgroup);
            let built = build(&key.mounts, cgroup).ok().filter(|_| Key::of(key.mounts.clone()) == key);
            self.built = built.map(|fd| (key.clone(), fd));
        }
        self.last = Some(key);
        let Some((_, view)) = &self.built else {
            return super::spawn(plan, stdio, landlock_required);
        };
        let own = prepare_mounts(&own, "").map_err(JailError::Prepare)?;
        let own = own.into_iter().map(attached).collect::<io::Result<_>>().map_err(JailError::Spawn)?;
        let mut prepared = prepare_with(plan, landlock_required, own).map_err(JailError::Prepare)?;
        prepared.view = Some(view.try_clone().map_err(JailError::Spawn)?);
        let kernel = super::RealKernel::new(plan, landlock_required).map_err(JailError::Prepare)?;
        spawn_with(&prepared, kernel, (plan.network, &plan.targets), stdio)
    }
}

/// A bind of the command's own names a host path, which the jail no longer sees once in its
/// view: the path is taken now, as a detached mount, and attached there.
fn attached(op: PreparedMount) -> io::Result<PreparedMount> {
    Ok(match op {
        PreparedMount::Bind { source, target, flags } => {
            PreparedMount::Attach { tree: sys::clone_tree(&source)?, target, flags }
        }
        other => other,
    })
}

/// Builds the view in a child of its own (a new mount namespace, made private, the mounts,
/// pivot_root), born in the session's `cgroup` like its jails; takes its namespace and ends
/// it.
fn build(mounts: &[MountOp], cgroup: Option<RawFd>) -> io::Result<OwnedFd> {
    let prepared =
        prepare_mounts(mounts, STAGING).map_err(|e: PrepareError| io::Error::other(e.to_string()))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(STAGING)?;
    let staging = std::ffi::CString::new(STAGING)?;
    let (ready_r, ready_w) = pipe2(OFlag::O_CLOEXEC)?;
    let monitor = nix::unistd::getpid();
    let Some(pid) = sys::clone_jail(libc::CLONE_NEWNS, cgroup)? else {
        drop(ready_r);
        let built = (|| -> io::Result<()> {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // A monitor gone before the death signal was set would leave this one waiting.
            if nix::unistd::getppid() != monitor {
                sys::exit_now(1);
            }
            nix::sys::stat::umask(nix::sys::stat::Mode::empty());
            make_private()?;
            prepared.iter().try_for_each(mount_one)?;
            pivot_into(&staging, c"/")
        })();
        let byte = if built.is_ok() { b'R' } else { b'F' };
        let _ = sys::write_all(ready_w.as_raw_fd(), &[byte]);
        // Kept until the parent has taken the namespace and ends this process.
        loop {
            nix::unistd::pause();
        }
    };
    drop(ready_w);
    let mut answer = [0u8; 1];
    let read = File::from(ready_r).read(&mut answer);
    let taken = match (read, answer[0]) {
        (Ok(1), b'R') => File::open(format!("/proc/{pid}/ns/mnt")).map(OwnedFd::from),
        _ => Err(io::Error::other("the view could not be built")),
    };
    let _ = kill(pid, Signal::SIGKILL);
    while waitpid(pid, None) == Err(Errno::EINTR) {}
    taken
}
