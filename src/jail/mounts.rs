//! The jail's file tree: a read-only tmpfs root with host paths bound in, parents first.
#![forbid(unsafe_code)]

use super::host::{HostFacts, HostKind};
use super::plan::{Access, MountOp};
use crate::policy::path::is_within;

/// Where the dynamic loader and the system's programs live. Merged-/usr systems have
/// symlinks at the top level; those are recreated as symlinks.
pub(super) const SYSTEM_EXEC_DIRS: &[&str] =
    &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// Files of /etc that programs need to run, for views that do not show all of /etc.
pub(super) const RUNTIME_ETC: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/alternatives",
];

/// Device nodes every command gets, with their fixed numbers (plus the session's terminal).
pub(super) const DEVICES: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Where the session's terminal is shown.
pub(super) const PTS: &str = "/dev/pts";

/// Collects mount operations; knows which jail paths already exist.
pub(super) struct TreeBuilder<'h> {
    host: &'h dyn HostFacts,
    pub ops: Vec<MountOp>,
    /// Directories created in the root tmpfs.
    created: Vec<String>,
    /// Mounted trees (binds, tmpfs, procfs) and their access.
    bound: Vec<(String, Access)>,
    /// The tmpfs and procfs among them: they start empty, unlike a bind of a host tree.
    empty: Vec<String>,
    /// The bound paths that are files: a Landlock rule on one carries file rights only.
    files: Vec<String>,
}

impl<'h> TreeBuilder<'h> {
    pub(super) fn new(host: &'h dyn HostFacts) -> Self {
        let root = MountOp::Tmpfs { target: "/".into(), mode: 0o755, size_mib: 1, access: Access::ReadOnly };
        let created = vec!["/".into()];
        TreeBuilder {
            host,
            ops: vec![root],
            created,
            bound: Vec::new(),
            empty: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Binds of `requests` (host paths mirrored at the same place), parents before children.
    /// A path missing on the host, or reached through a symlink, is not shown at all.
    pub(super) fn mirror_all(&mut self, mut requests: Vec<(String, Access)>) {
        requests.sort_by(|a, b| depth(&a.0).cmp(&depth(&b.0)).then(a.0.cmp(&b.0)).then(b.1.cmp(&a.1)));
        requests.dedup_by(|later, earlier| later.0 == earlier.0);
        for (path, access) in requests {
            self.mirror(&path, access);
        }
    }

    fn mirror(&mut self, path: &str, access: Access) {
        if self.has_symlink_ancestor(path) {
            return;
        }
        match self.host.kind(path) {
            Some(HostKind::Symlink(to)) if depth(path) == 1 => {
                self.ops.push(MountOp::Symlink { target: path.into(), points_to: to });
            }
            Some(HostKind::Dir) => {
                self.make_dir(path, 0o755);
                self.bind(path, access);
            }
            Some(HostKind::File { .. }) => {
                self.make_parent(path);
                if !self.exists(path) {
                    self.ops.push(MountOp::File { target: path.into() });
                }
                self.bind(path, access);
                self.files.push(path.into());
            }
            _ => {}
        }
    }

    fn bind(&mut self, path: &str, access: Access) {
        self.ops.push(MountOp::Bind { target: path.into(), access });
        self.bound.push((path.into(), access));
    }

    /// A tmpfs at `path` (private /tmp, /dev): its contents are the jail's own.
    pub(super) fn tmpfs(&mut self, path: &str, mode: u32, size_mib: u32, access: Access) {
        self.make_dir(path, 0o755);
        self.ops.push(MountOp::Tmpfs { target: path.into(), mode, size_mib, access });
        self.bound.push((path.into(), access));
        self.empty.push(path.into());
    }

    /// Creates `path` (and its parents) in the root tmpfs unless it already exists.
    pub(super) fn make_dir(&mut self, path: &str, mode: u32) {
        if self.exists(path) {
            return;
        }
        self.make_parent(path);
        self.ops.push(MountOp::Dir { target: path.into(), mode });
        self.created.push(path.into());
    }

    fn make_parent(&mut self, path: &str) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.make_dir(if parent.is_empty() { "/" } else { parent }, 0o755);
        }
    }

    fn exists(&self, path: &str) -> bool {
        let created = self.created.iter().any(|c| c == path);
        created || self.innermost_mount(path).is_some_and(|m| !self.empty.iter().any(|e| e == m))
    }

    /// The innermost mounted tree `path` lies in.
    fn innermost_mount(&self, path: &str) -> Option<&str> {
        let covering = self.bound.iter().filter(|(b, _)| is_within(path, b));
        covering.max_by_key(|(b, _)| b.len()).map(|(b, _)| b.as_str())
    }

    /// The bind (or tmpfs) that `path` lies in, if any.
    pub(super) fn bound_under(&self, path: &str) -> Option<Access> {
        let covering = self.bound.iter().filter(|(b, _)| is_within(path, b));
        covering.max_by_key(|(b, _)| b.len()).map(|(_, a)| *a)
    }

    fn has_symlink_ancestor(&self, path: &str) -> bool {
        let mut prefix = String::new();
        let parents: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for part in &parents[..parents.len().saturating_sub(1)] {
            prefix.push('/');
            prefix.push_str(part);
            if matches!(self.host.kind(&prefix), Some(HostKind::Symlink(_))) {
                return true;
            }
        }
        false
    }

    /// Hides `path` when it is visible: /dev/null over a file, an empty tmpfs over a dir.
    pub(super) fn mask(&mut self, path: &str) {
        if self.bound_under(path).is_none() || self.has_symlink_ancestor(path) {
            return;
        }
        match self.host.kind(path) {
            Some(HostKind::Dir) => self.ops.push(MountOp::MaskDir { target: path.into() }),
            Some(HostKind::File { .. } | HostKind::Other) => {
                self.ops.push(MountOp::MaskFile { target: path.into() })
            }
            _ => {}
        }
    }

    /// A minimal /dev: a few device nodes, the session's terminal, and the fd symlinks.
    pub(super) fn dev(&mut self, tty: Option<&str>) {
        self.tmpfs("/dev", 0o755, 1, Access::ReadOnly);
        for (device, major, minor) in DEVICES {
            self.ops.push(MountOp::DeviceNode { target: device.to_string(), major: *major, minor: *minor });
        }
        // The session's pty: its numbers vary, so it is bound from the host's devpts, into a
        // tmpfs of its own (a command's terminal is the command's, the rest of /dev is not).
        let tty = tty.filter(|t| t.starts_with("/dev/pts/") && !t[9..].contains('/'));
        if let Some(tty) = tty.filter(|t| self.host.kind(t) == Some(HostKind::Other)) {
            self.tmpfs(PTS, 0o755, 1, Access::ReadOnly);
            self.ops.push(MountOp::File { target: tty.into() });
            self.ops.push(MountOp::Device { target: tty.into() });
            self.ops.push(MountOp::RemountReadOnly { target: PTS.into() });
        }
        for (name, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            self.ops.push(MountOp::Symlink { target: format!("/dev/{name}"), points_to: to.into() });
        }
    }

    pub(super) fn proc(&mut self) {
        self.make_dir("/proc", 0o555);
        self.ops.push(MountOp::Proc { target: "/proc".into() });
        self.bound.push(("/proc".into(), Access::ReadOnly));
        self.empty.push("/proc".into());
    }

    /// The binds made so far, for the Landlock rules.
    pub(super) fn binds(&self) -> &[(String, Access)] {
        &self.bound
    }

    /// The bound paths that are files (a file inside a bound tree is bound again on its own,
    /// with its own access, so its place may already exist).
    pub(super) fn bound_files(&self) -> &[String] {
        &self.files
    }

    pub(super) fn host(&self) -> &dyn HostFacts {
        self.host
    }
}

fn depth(path: &str) -> usize {
    path.trim_end_matches('/').matches('/').count()
}
