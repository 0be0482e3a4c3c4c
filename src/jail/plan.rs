//! The jail as plain data: everything the child will do, decided before fork.
#![forbid(unsafe_code)]

use crate::policy::Network;

/// One command's jail. Built by [`super::plan_jail`], executed by [`super::spawn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailPlan {
    /// A fresh network namespace (network = none); mount, PID and IPC ones are always new.
    pub new_network_namespace: bool,
    /// The command's stdin is a pty the monitor made for it: make it the controlling tty.
    pub controlling_tty: bool,
    /// In order; targets are absolute paths inside the jail.
    pub mounts: Vec<MountOp>,
    pub identity: Identity,
    /// Capabilities the command keeps (bounding, permitted, effective, inheritable, ambient).
    pub caps: Vec<String>,
    pub landlock: LandlockSpec,
    pub seccomp: SeccompSpec,
    pub network: Network,
    /// What `network = "layer"` may reach besides loopback and the name servers.
    pub targets: Vec<crate::policy::reach::Target>,
    pub program: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    /// RLIMIT_FSIZE of the command: the largest file it may write (`[limits] file_size`).
    pub file_size_limit: Option<u64>,
    /// RLIMIT_DATA of each process of the command (`[limits] memory`).
    pub memory_limit: Option<u64>,
}

impl JailPlan {
    /// Nothing may be executed but `files` (the program and its ELF interpreter): every
    /// read-and-execute rule becomes read-only and each file gets its own execute rule.
    /// Mounts stay as they are (shared libraries are mapped, not executed).
    pub fn execute_only(&mut self, files: &[String]) {
        for (_, access) in &mut self.landlock.rules {
            if *access == LandlockAccess::ReadExec {
                *access = LandlockAccess::Read;
            }
        }
        self.landlock.rules.extend(files.iter().map(|f| (f.clone(), LandlockAccess::ExecFile)));
    }
}

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

impl Identity {
    pub fn root() -> Identity {
        Identity { name: "root".into(), uid: 0, gid: 0, groups: Vec::new(), home: "/root".into() }
    }
}

/// One step of building the jail's root. Paths are inside the jail; a bind's source is the
/// same path on the host (the jail mirrors the host layout, minus what it hides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountOp {
    /// A tmpfs (the root itself is `/`).
    Tmpfs {
        target: String,
        mode: u32,
        size_mib: u32,
        access: Access,
    },
    Dir {
        target: String,
        mode: u32,
    },
    /// An empty file to bind a file onto.
    File {
        target: String,
    },
    Symlink {
        target: String,
        points_to: String,
    },
    Bind {
        target: String,
        access: Access,
    },
    /// A device node bound from the host's /dev (the session's pty).
    Device {
        target: String,
    },
    /// A standard character device created in the jail's /dev (`/dev/null` is 1:3).
    DeviceNode {
        target: String,
        major: u32,
        minor: u32,
    },
    /// A fresh procfs of the jail's PID namespace.
    Proc {
        target: String,
    },
    /// Hide a file: /dev/null bound over it, read-only.
    MaskFile {
        target: String,
    },
    /// Hide a directory: an empty read-only tmpfs over it.
    MaskDir {
        target: String,
    },
    /// A tmpfs that was filled during the build is made read-only (last).
    RemountReadOnly {
        target: String,
    },
}

impl MountOp {
    pub fn target(&self) -> &str {
        match self {
            MountOp::Tmpfs { target, .. }
            | MountOp::Dir { target, .. }
            | MountOp::File { target }
            | MountOp::Symlink { target, .. }
            | MountOp::Bind { target, .. }
            | MountOp::Device { target }
            | MountOp::DeviceNode { target, .. }
            | MountOp::Proc { target }
            | MountOp::MaskFile { target }
            | MountOp::MaskDir { target }
            | MountOp::RemountReadOnly { target } => target,
        }
    }
}

/// What a mount (and the matching Landlock rule) allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Read and list; nosuid, nodev, noexec.
    ReadOnly,
    /// Read, list and execute (system program directories); nosuid, nodev.
    ReadExec,
    /// Read and write; nosuid, nodev, noexec.
    ReadWrite,
}

/// Landlock rules, by path inside the jail, applied after pivot_root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LandlockSpec {
    pub rules: Vec<(String, LandlockAccess)>,
    /// The rules' paths that are single entries of a tree split around a kept-out path
    /// (`true` for a directory): the host may remove one before the jail opens it, and then
    /// there is nothing to grant.
    pub entries: Vec<(String, bool)>,
    /// The rules' paths that are files (bound on their own): their rules carry file rights
    /// only, which Landlock requires of a rule on a file.
    pub files: Vec<String>,
    /// `None`: TCP is not restricted by Landlock. `Some(ports)`: connect only to these.
    pub tcp_connect: Option<Vec<u16>>,
    /// `None`: not restricted. `Some(ports)`: bind only these (cage allows none).
    pub tcp_bind: Option<Vec<u16>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockAccess {
    /// List directories only (the root, so `ls /` works without reading anything).
    List,
    Read,
    ReadExec,
    ReadWrite,
    /// Device nodes: read, write and ioctl (terminals).
    Device,
    /// One file that may be read and executed (file rights only).
    ExecFile,
}

/// The argument-dependent parts of the seccomp filter; the fixed deny list is in seccomp.rs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompSpec {
    /// Refuse AF_INET and AF_INET6 sockets (network = none).
    pub deny_inet: bool,
    /// Refuse AF_PACKET sockets (unless the alias holds net_raw).
    pub deny_packet: bool,
    /// Let `reboot(2)` through (an alias holding sys_boot).
    pub allow_reboot: bool,
    /// Refuse IPC_RMID on SysV objects (when `ipcrm` is blacklisted).
    pub deny_ipc_removal: bool,
}
