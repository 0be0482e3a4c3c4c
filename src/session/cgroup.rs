//! The cgroup subtree of a session. Everything the session runs, jailed or not, is born in one
//! of its leaves, so the end of the session kills all of it at once (`cgroup.kill`), and with
//! `[limits] pids` / `session_memory` one limit holds for all of it together:
//!
//! ```text
//! <cgroup2>/cage/session-ID-NS-PID/    pids.max, memory.max, memory.swap.max; no process
//!     run/                              jails without an egress filter, unjailed and file commands
//!     egress-local/, egress-layer/      jails of that mode: the mode's programs attached by id
//! ```
//!
//! The name is really `session-ID-NS-PID`: PID is the monitor's, NS the inode of its PID
//! namespace. A later cage (or `cagectl reap`) of the same PID namespace removes the subtree
//! of a session whose monitor is gone; one of another namespace (a container sharing the
//! hierarchy) cannot tell, and leaves it alone. cgroup v2 lets no cgroup with controllers enabled for its children
//! hold processes; the session directory holds none, and its limits bind every leaf below it
//! without the leaves having controllers of their own (they are charged to it). The
//! controllers are enabled in `cage/`'s `cgroup.subtree_control` (it holds no process either).
//! The egress programs are not loaded per session: they are taken by id from the kept cgroup
//! of their mode (`jail::egress_cgroup`) and attached once per session and mode.
//!
//! Hybrid hosts (memory and pids bound to cgroup v1, v2 only for BPF): a controller v2 cannot
//! have is used where v1 mounts it, `<v1 mount>/cage/session-ID-NS-PID`, and every child of the
//! session joins those cgroups (writes 0 to their `cgroup.procs`) before it does anything else.
//! Limits that can be applied neither way refuse the command: nothing runs unlimited.
#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::jail::egress::Refused;
use crate::jail::egress_cgroup::{self, cage_root, open_checked};
use crate::jail::Placement;
use crate::policy::reach::Target;
use crate::policy::Network;

/// The session's cgroups, made on its first command.
pub struct SessionCgroup {
    path: PathBuf,
    dir: OwnedFd,
    leaves: Vec<(String, OwnedFd)>,
    /// The session's directories in cgroup v1 hierarchies (hybrid hosts), with the
    /// `cgroup.procs` a child writes to join each.
    v1: Vec<(PathBuf, OwnedFd)>,
    /// Where the limits' counters are read, when limits are set.
    counters: Counters,
}

/// How often the session's limits stopped something, so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hits {
    /// A fork or clone refused at `pids.max`.
    pub pids: u64,
    /// A process killed by the OOM killer at `memory.max`.
    pub memory: u64,
}

#[derive(Default)]
struct Counters {
    /// `pids.events` (`max N`).
    pids: Option<PathBuf>,
    /// `memory.events` (v2) or `memory.oom_control` (v1): `oom_kill N`.
    memory: Option<PathBuf>,
}

impl SessionCgroup {
    /// Makes the session's subtree (removing those of dead sessions first) and applies the
    /// session-wide limits; any limit that cannot be applied is an error, of kind
    /// `Unsupported` where this host cannot hold it at all (no cgroup v2, no such
    /// controller, no swap accounting while swap is on) and of its own kind where a step
    /// failed.
    pub fn create(session: &str, limits: &Limits) -> io::Result<SessionCgroup> {
        let root = cage_root()?;
        sweep_stale(&root);
        let name = format!("session-{session}-{}-{}", pid_namespace()?, std::process::id());
        let mut made = SessionCgroup {
            path: root.join(&name),
            dir: mkdir(&root.join(&name))?,
            leaves: Vec::new(),
            v1: Vec::new(),
            counters: Counters::default(),
        };
        if let Err(e) = made.apply(&root, &name, limits) {
            let _ = made.kill_all();
            return Err(e);
        }
        Ok(made)
    }

    fn apply(&mut self, root: &Path, name: &str, limits: &Limits) -> io::Result<()> {
        if let Some(pids) = limits.pids {
            let dir = self.controller_dir(root, name, "pids")?;
            fs::write(dir.join("pids.max"), pids.to_string()).map_err(|e| context(&dir, "pids.max", e))?;
            self.counters.pids = Some(dir.join("pids.events"));
        }
        if let Some(bytes) = limits.session_memory {
            let dir = self.controller_dir(root, name, "memory")?;
            let (limit, swap, events) = match dir.starts_with(&self.path) {
                true => ("memory.max", "memory.swap.max", "memory.events"),
                false => ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control"),
            };
            fs::write(dir.join(limit), bytes.to_string()).map_err(|e| context(&dir, limit, e))?;
            // v2 gives the session no swap; v1 counts memory and swap together against one limit.
            let swap_value = if swap == "memory.swap.max" { "0".to_string() } else { bytes.to_string() };
            match fs::write(dir.join(swap), swap_value) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && !swap_in_use() => {}
                Err(e) => {
                    let kind = match e.kind() {
                        io::ErrorKind::NotFound => io::ErrorKind::Unsupported,
                        other => other,
                    };
                    let why = format!("swap would escape session_memory: {}", context(&dir, swap, e));
                    return Err(io::Error::new(kind, why));
                }
            }
            self.counters.memory = Some(dir.join(events));
        }
        Ok(())
    }

    /// The directory of the session that `controller` applies to: the session's own (cgroup
    /// v2, the controller enabled for `cage/`'s children) or one made in the controller's v1
    /// hierarchy.
    fn controller_dir(&mut self, root: &Path, name: &str, controller: &str) -> io::Result<PathBuf> {
        let v2 = match enable_v2(root, controller) {
            Ok(()) => return Ok(self.path.clone()),
            // v2 offers it but would not enable it: a failure, not a host without it.
            Err(e) if e.kind() != io::ErrorKind::Unsupported => return Err(e),
            Err(e) => e,
        };
        let Some(mount) = v1_mount(controller) else {
            let why = format!("the {controller} controller is unavailable: {v2}");
            return Err(io::Error::new(io::ErrorKind::Unsupported, why));
        };
        let parent = mount.join("cage");
        mkdir_kept(&parent)?;
        let dir = parent.join(name);
        mkdir(&dir)?;
        let procs = File::options().write(true).open(dir.join("cgroup.procs"));
        let procs = procs.map_err(|e| context(&dir, "cgroup.procs", e))?;
        self.v1.push((dir.clone(), OwnedFd::from(procs)));
        Ok(dir)
    }

    /// Where a command starts: the leaf for a jail of `network`, or for anything else
    /// (`None`: unjailed and file commands), made on first use. A leaf of a filtered mode
    /// is checked to hold exactly its mode's programs every time.
    pub fn placement(&mut self, network: Option<(Network, &[Target])>) -> io::Result<Placement> {
        let name = match network {
            Some((mode, _)) if egress_cgroup::filtered(mode) => {
                format!("egress-{}", egress_cgroup::mode_name(mode))
            }
            _ => "run".to_string(),
        };
        let at = match self.leaves.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                let dir = mkdir(&self.path.join(&name))?;
                self.leaves.push((name, dir));
                self.leaves.len() - 1
            }
        };
        let leaf = &self.leaves[at].1;
        if let Some((mode, targets)) = network {
            egress_cgroup::prepare_leaf(mode, targets, leaf)?;
        }
        let mut join = [None, None];
        for (slot, (_, procs)) in join.iter_mut().zip(&self.v1) {
            *slot = Some(procs.as_raw_fd());
        }
        Ok(Placement { cgroup: leaf.as_raw_fd(), join })
    }

    /// What the egress filter refused to the session's jails since the last call, by the
    /// leaf of each filtered mode; an error reading it is said as such, not as nothing.
    pub fn egress_refused(&self) -> Vec<io::Result<Refused>> {
        let filtered = self.leaves.iter().filter(|(name, _)| name.starts_with("egress-"));
        filtered.filter_map(|(_, leaf)| egress_cgroup::take_refused(leaf).transpose()).collect()
    }

    /// How often the limits stopped something so far (zero where no limit is set).
    pub fn hits(&self) -> Hits {
        let count = |path: &Option<PathBuf>, key: &str| {
            let text = path.as_ref().and_then(|p| fs::read_to_string(p).ok()).unwrap_or_default();
            text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok()).unwrap_or(0)
        };
        Hits { pids: count(&self.counters.pids, "max "), memory: count(&self.counters.memory, "oom_kill ") }
    }

    /// Kills every process of the session at once and removes its cgroups; waits (up to a
    /// second) until the kernel says they are empty.
    pub fn kill_all(self) -> io::Result<()> {
        self.kill()?;
        self.remove()
    }

    /// Sends SIGKILL to every process of the session at once (`cgroup.kill`).
    pub fn kill(&self) -> io::Result<()> {
        fs::write(self.path.join("cgroup.kill"), "1").map_err(|e| context(&self.path, "cgroup.kill", e))
    }

    /// Kills every process of the session, waits until they are gone and removes the session's
    /// cgroups (the guardian's work when the monitor has died).
    pub fn kill_and_remove(&self) -> io::Result<()> {
        remove_subtree(&self.path)?;
        for (dir, _) in &self.v1 {
            fs::remove_dir(dir).map_err(|e| context(dir, "", e))?;
        }
        Ok(())
    }

    /// Once killed: waits (up to a second) until the kernel says the cgroups are empty, and
    /// removes them.
    pub fn remove(self) -> io::Result<()> {
        drop(self.dir);
        wait_empty(&self.path)?;
        remove_dirs(&self.path)?;
        for (dir, procs) in self.v1 {
            drop(procs);
            fs::remove_dir(&dir).map_err(|e| context(&dir, "", e))?;
        }
        Ok(())
    }
}

/// Kills what runs in `path` and below, then removes the leaves and `path`.
fn remove_subtree(path: &Path) -> io::Result<()> {
    fs::write(path.join("cgroup.kill"), "1").map_err(|e| context(path, "cgroup.kill", e))?;
    wait_empty(path)?;
    remove_dirs(path)
}

/// Removes the (empty) leaves of `path`, then `path`.
fn remove_dirs(path: &Path) -> io::Result<()> {
    for entry in fs::read_dir(path).map_err(|e| context(path, "", e))?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir(entry.path()).map_err(|e| context(&entry.path(), "", e))?;
        }
    }
    fs::remove_dir(path).map_err(|e| context(path, "", e))
}

/// Waits (up to a second) until nothing runs in `path` or below. The kernel rate-limits the
/// notifications of `cgroup.events` (10 ms), so the file is read again at a finer step; the
/// monitor reaps its exiting jails first, so it is usually empty at the first read.
fn wait_empty(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let events = File::open(path.join("cgroup.events"))?;
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mut buf = [0u8; 256];
        let n = events.read_at(&mut buf, 0)?;
        if !String::from_utf8_lossy(&buf[..n]).contains("populated 1") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other(format!("{} still has processes", path.display())));
        }
        std::thread::sleep(Duration::from_micros(250));
    }
}

/// Removes the subtrees of sessions whose monitor is gone (a cage killed before it could
/// clean up), in cgroup v2 and in the v1 hierarchies; returns their names. A subtree whose
/// monitor's PID was reused stays until that process is gone too.
pub fn sweep_stale(root: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    for name in dead_sessions(root) {
        if remove_subtree(&root.join(&name)).is_ok() {
            for controller in ["pids", "memory"] {
                if let Some(mount) = v1_mount(controller) {
                    let _ = fs::remove_dir(mount.join("cage").join(&name));
                }
            }
            removed.push(name);
        }
    }
    removed
}

/// `session-ID-NS-PID` entries of `root` of this PID namespace whose PID is not running.
fn dead_sessions(root: &Path) -> Vec<String> {
    let (Ok(entries), Ok(ours)) = (fs::read_dir(root), pid_namespace()) else { return Vec::new() };
    let names = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned());
    let dead = |(ns, pid): (u64, u32)| ns == ours && !Path::new(&format!("/proc/{pid}")).exists();
    names.filter(|name| monitor_of(name).is_some_and(dead)).collect()
}

/// The monitor's PID namespace and PID in `session-ID-NS-PID`; `None` for any other name
/// (the `session-ID` of earlier versions included: whether its session lives cannot be told).
fn monitor_of(name: &str) -> Option<(u64, u32)> {
    let (rest, pid) = name.strip_prefix("session-")?.rsplit_once('-')?;
    let (id, ns) = rest.rsplit_once('-')?;
    let number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let hex = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex && number(ns) && number(pid)) {
        return None;
    }
    Some((ns.parse().ok()?, pid.parse().ok()?))
}

/// The inode of this process's PID namespace: PIDs mean something only within it.
fn pid_namespace() -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(fs::metadata("/proc/self/ns/pid")?.ino())
}

/// Enables `controller` for the children of `cage/` (asking the hierarchy's root to hand it
/// down first if it does not); an error says why it cannot be.
fn enable_v2(root: &Path, controller: &str) -> io::Result<()> {
    let has = |dir: &Path, file: &str| {
        fs::read_to_string(dir.join(file)).is_ok_and(|t| t.split_whitespace().any(|c| c == controller))
    };
    if has(root, "cgroup.subtree_control") {
        return Ok(());
    }
    if !has(root, "cgroup.controllers") {
        let top = root.parent().ok_or_else(|| io::Error::other("cage/ has no parent"))?;
        if !has(top, "cgroup.controllers") {
            let why = format!("cgroup v2 at {} does not offer it", top.display());
            return Err(io::Error::new(io::ErrorKind::Unsupported, why));
        }
        fs::write(top.join("cgroup.subtree_control"), format!("+{controller}"))
            .map_err(|e| context(top, "cgroup.subtree_control", e))?;
    }
    fs::write(root.join("cgroup.subtree_control"), format!("+{controller}"))
        .map_err(|e| context(root, "cgroup.subtree_control", e))
}

/// Where cgroup v1 mounts the hierarchy of `controller`, if it does (and the path still shows
/// a cgroup v1 hierarchy: something mounted over it would take the limits to nowhere).
fn v1_mount(controller: &str) -> Option<PathBuf> {
    use nix::sys::statfs::{statfs, CGROUP_SUPER_MAGIC};
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let path = info.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        let mut rest = rest.split(' ');
        let (fs_type, options) = (rest.next()?, rest.nth(1)?);
        let ours = fs_type == "cgroup" && options.split(',').any(|o| o == controller);
        ours.then(|| fields.split(' ').nth(4).map(PathBuf::from)).flatten()
    })?;
    statfs(&path).is_ok_and(|fs| fs.filesystem_type() == CGROUP_SUPER_MAGIC).then_some(path)
}

/// Whether the host swaps at all (a header line only in /proc/swaps: no).
fn swap_in_use() -> bool {
    fs::read_to_string("/proc/swaps").map_or(true, |t| t.lines().count() > 1)
}

/// A new cgroup directory of root's, opened.
fn mkdir(path: &Path) -> io::Result<OwnedFd> {
    fs::DirBuilder::new().mode(0o755).create(path).map_err(|e| context(path, "", e))?;
    open_checked(path)
}

/// A directory kept between sessions, made if missing and checked.
fn mkdir_kept(path: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(context(path, "", e)),
        _ => {}
    }
    open_checked(path).map(drop)
}

fn context(dir: &Path, file: &str, e: io::Error) -> io::Error {
    let path = if file.is_empty() { dir.to_path_buf() } else { dir.join(file) };
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_session_id_ns_pid_names_carry_a_monitor() {
        assert_eq!(monitor_of("session-0123abcd-4026531836-4242"), Some((4026531836, 4242)));
        assert_eq!(monitor_of("session-0123abcd"), None, "an earlier version's name");
        assert_eq!(monitor_of("session-0123abcd-4242"), None, "no namespace");
        assert_eq!(monitor_of("session--1-4242"), None);
        assert_eq!(monitor_of("session-0123abcd-1-"), None);
        assert_eq!(monitor_of("session-zz-1-4242"), None);
        assert_eq!(monitor_of("egress-local-0011-1-4242"), None);
    }
}
