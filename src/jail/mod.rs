//! The jail: a pure plan of every restriction, built before fork, and the child that applies it.
//!
//! Order of the child's steps (DESIGN.md): session, namespaces, mounts, pivot_root, close fds,
//! drop privileges, Landlock, no_new_privs, seccomp, exec. Landlock rules are added right after
//! pivot_root (while the view is complete and we are still root) and enforced at step 7.
#![forbid(unsafe_code)]

mod bpf_asm;
mod child;
pub mod egress;
pub mod egress_cgroup;
mod egress_packets;
mod egress_rules;
pub(crate) mod exectrace;
mod host;
mod kernel;
mod mounts;
mod plan;
mod prepare;
pub(crate) mod seccomp;
mod spawn;
mod stdio;
mod steps;
pub(crate) mod view;

pub use child::clear_signal_mask;
pub use host::{EntryType, HostFacts, HostKind, MapHost, RealHost};
pub use kernel::{enforced_landlock_abi, RealKernel};
pub use plan::*;
pub use prepare::{
    prepare, PrepareError, PreparedIdentity, PreparedJail, PreparedMount, PreparedRule, STAGING,
};
pub use spawn::{spawn, spawn_with, Exiting, Finished, JailError, Outcome, Running};
pub use stdio::{Placement, Stdio};
pub use steps::{run_steps, Kernel, LandlockStatus, Step, StepFailure};
pub use view::Views;

use std::fmt;

use crate::decide::{Program, RunPlan};
use crate::policy::path::{is_secret, is_within, SECRETS};
use crate::policy::{Network, Profile};
use mounts::{TreeBuilder, RUNTIME_ETC, SYSTEM_EXEC_DIRS};

/// Fixed PATH inside every jail.
pub const JAIL_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Executable directories searched for blacklisted programs to hide.
const BIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Everything the planner needs besides the profile and the decision.
#[derive(Debug, Clone)]
pub struct JailRequest<'a> {
    pub profile: &'a Profile,
    pub run: &'a RunPlan,
    /// The account the command runs as, resolved by the caller from `run.run_as`.
    pub identity: Identity,
    pub cwd: &'a str,
    /// The session's terminal (`/dev/pts/N`), shown in the jail's /dev.
    pub tty: Option<&'a str>,
    pub term: Option<&'a str>,
    pub lang: Option<&'a str>,
    /// `tty` is a pty made for this command (its stdin): it becomes the controlling terminal.
    pub controlling_tty: bool,
}

impl<'a> JailRequest<'a> {
    /// A request with no terminal, environment or working directory of its own (`/`).
    pub fn bare(profile: &'a Profile, run: &'a RunPlan, identity: Identity) -> JailRequest<'a> {
        JailRequest {
            profile,
            run,
            identity,
            cwd: "/",
            tty: None,
            term: None,
            lang: None,
            controlling_tty: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A path command found in none of its directories.
    NotFound { name: String },
    /// An alias or script whose file is missing or not an executable file.
    NotInstalled { program: String },
    /// Full-access commands are not jailed; asking for a jail for one is a bug upstream.
    NotJailed,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NotFound { name } => write!(f, "unknown command: {name}"),
            PlanError::NotInstalled { program } => {
                write!(f, "`{program}` is not installed on this host")
            }
            PlanError::NotJailed => f.write_str("a full-access command has no jail"),
        }
    }
}

impl std::error::Error for PlanError {}

/// Builds the jail for one allowed command. Pure: the host is only read through `host`.
pub fn plan_jail(req: &JailRequest, host: &dyn HostFacts) -> Result<JailPlan, PlanError> {
    if !req.run.jailed {
        return Err(PlanError::NotJailed);
    }
    let host = &host::Remembered::new(host);
    let program = resolve_program(&req.run.program, host)?;
    let mut tree = TreeBuilder::new(host);
    tree.mirror_all(view_requests(req.profile, host));
    tree.proc();
    tree.dev(req.tty);
    let tmp_writable = req.profile.view.as_ref().is_none_or(|v| v.writable.iter().any(|w| w.path == "/tmp"));
    let tmp_access = if tmp_writable { Access::ReadWrite } else { Access::ReadOnly };
    tree.tmpfs("/tmp", 0o1777, 64, tmp_access);
    tree.mirror_all(rule_requests(req.profile));
    if tree.bound_under(&program) != Some(Access::ReadExec) {
        tree.mirror_all(vec![(program.clone(), Access::ReadExec)]);
    }
    hide(&mut tree, req.profile);
    let landlock = landlock_spec(&tree, req.profile.network, &kept_out(&tree, req));
    let cwd = if tree.bound_under(req.cwd).is_some() { req.cwd.to_string() } else { "/".to_string() };
    let mut mounts = tree.ops;
    if tmp_access == Access::ReadOnly {
        mounts.push(MountOp::RemountReadOnly { target: "/tmp".into() });
    }
    mounts.push(MountOp::RemountReadOnly { target: "/dev".into() });
    mounts.push(MountOp::RemountReadOnly { target: "/".into() });
    Ok(JailPlan {
        new_network_namespace: req.profile.network == Network::None,
        controlling_tty: req.controlling_tty,
        mounts,
        identity: req.identity.clone(),
        caps: req.run.caps.clone(),
        landlock,
        seccomp: seccomp_spec(req),
        network: req.profile.network,
        targets: req.profile.targets.clone(),
        program,
        argv: req.run.argv.clone(),
        env: environment(req),
        cwd,
        file_size_limit: None,
        memory_limit: None,
    })
}

fn resolve_program(program: &Program, host: &dyn HostFacts) -> Result<String, PlanError> {
    let runnable = |path: &str| {
        let kind = host.kind(path);
        matches!(kind, Some(HostKind::File { executable: true }) | Some(HostKind::Symlink(_)))
    };
    match program {
        Program::Path(path) if runnable(path) => Ok(path.clone()),
        Program::Path(path) => Err(PlanError::NotInstalled { program: path.clone() }),
        Program::Search { dirs, name } => dirs
            .iter()
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .find(|candidate| runnable(candidate))
            .ok_or_else(|| PlanError::NotFound { name: name.clone() }),
    }
}

/// What ordinary programs see: the system (or the profile's explicit view).
fn view_requests(profile: &Profile, host: &dyn HostFacts) -> Vec<(String, Access)> {
    let mut out: Vec<(String, Access)> = Vec::new();
    let Some(view) = &profile.view else {
        out.extend(SYSTEM_EXEC_DIRS.iter().map(|d| (d.to_string(), Access::ReadExec)));
        out.push(("/etc".into(), Access::ReadOnly));
        out.push(("/sys".into(), Access::ReadOnly));
        return out;
    };
    // Top-level symlinks (/bin -> usr/bin) so the dynamic loader and #! lines resolve.
    let top_links = SYSTEM_EXEC_DIRS.iter().filter(|d| matches!(host.kind(d), Some(HostKind::Symlink(_))));
    out.extend(top_links.map(|d| (d.to_string(), Access::ReadExec)));
    out.extend(RUNTIME_ETC.iter().map(|f| (f.to_string(), Access::ReadOnly)));
    let special = ["/proc", "/tmp", "/dev"];
    let readable = view.readable.iter().filter(|r| !special.contains(&r.path.as_str()));
    out.extend(readable.map(|r| (r.path.clone(), Access::ReadExec)));
    let writable = view.writable.iter().filter(|w| !special.contains(&w.path.as_str()));
    out.extend(writable.map(|w| (w.path.clone(), Access::ReadWrite)));
    out
}

/// The file rules: read-only ones read-only, read-write and tool paths writable, never executable.
fn rule_requests(profile: &Profile) -> Vec<(String, Access)> {
    let ro = profile.read_only.iter().map(|r| (r.item.path.clone(), Access::ReadOnly));
    let rw =
        profile.read_write.iter().chain(&profile.tool_rw).map(|r| (r.item.path.clone(), Access::ReadWrite));
    ro.chain(rw).collect()
}

/// Secrets, denied paths and blacklisted programs, wherever the view shows them.
fn hide(tree: &mut TreeBuilder, profile: &Profile) {
    let denied = profile.deny.iter().map(|d| d.item.path.clone());
    let mut hidden: Vec<String> = SECRETS.iter().map(|s| s.to_string()).chain(denied).collect();
    for key in tree.host().list("/etc/ssh") {
        if key.contains("_key") {
            hidden.push(format!("/etc/ssh/{key}"));
        }
    }
    for entry in &profile.blacklist {
        if entry.item.starts_with('/') {
            hidden.push(entry.item.clone());
        } else {
            let dirs = BIN_DIRS
                .iter()
                .map(|d| d.to_string())
                .chain(profile.path_commands.iter().map(|p| p.item.path.clone()));
            hidden.extend(dirs.map(|d| format!("{d}/{}", entry.item)));
        }
    }
    hidden.sort();
    hidden.dedup();
    for path in hidden {
        if !matches!(tree.host().kind(&path), Some(HostKind::Symlink(_))) {
            tree.mask(&path);
        }
    }
}

/// The masked files the jail must never read, whatever the host does while it runs: the
/// profile's denied files, and for a jail that reads past file modes (root, or holding
/// dac_override or dac_read_search) the secret ones as well. Files, because the host
/// replaces files by rename all the time (passwd, useradd, visudo, `sed -i`), and that lifts
/// their masks; a masked directory is lifted only if the host replaces the directory itself.
fn kept_out(tree: &TreeBuilder, req: &JailRequest) -> Vec<String> {
    let has = |cap: &str| req.run.caps.iter().any(|c| c == cap);
    let past_modes = req.identity.uid == 0 || has("dac_override") || has("dac_read_search");
    let denied = |path: &str| req.profile.deny.iter().any(|d| is_within(path, &d.item.path));
    let masks = tree.ops.iter().filter_map(|op| match op {
        MountOp::MaskFile { target } => Some(target),
        _ => None,
    });
    masks.filter(|t| denied(t) || (past_modes && is_secret(t))).cloned().collect()
}

fn landlock_spec(tree: &TreeBuilder, network: Network, kept_out: &[String]) -> LandlockSpec {
    let mut rules = vec![("/".to_string(), LandlockAccess::List)];
    let mut entries = Vec::new();
    for (path, access) in tree.binds() {
        let rule = match (path.as_str(), access) {
            ("/dev", _) => LandlockAccess::Read,
            (_, Access::ReadOnly) => LandlockAccess::Read,
            (_, Access::ReadExec) => LandlockAccess::ReadExec,
            (_, Access::ReadWrite) => LandlockAccess::ReadWrite,
        };
        // A mask is a mount over a name, and the host replacing that name (a rename over
        // it) lifts the mask in every jail. A rule on the whole tree would then grant the
        // new file; so a read-only tree around a kept-out path gets a rule per entry instead,
        // and none for the kept-out path. (Landlock cannot grant a writable tree minus a
        // path: there the mask alone hides it.)
        let around = kept_out.iter().any(|k| k != path && is_within(k, path));
        match rule {
            LandlockAccess::Read | LandlockAccess::ReadExec if around => {
                split_around(tree.host(), path, rule, kept_out, &mut rules, &mut entries)
            }
            _ => rules.push((path.clone(), rule)),
        }
    }
    let devices = tree.ops.iter().filter_map(|op| match op {
        MountOp::Device { target } | MountOp::DeviceNode { target, .. } => {
            Some((target.clone(), LandlockAccess::Device))
        }
        _ => None,
    });
    rules.extend(devices);
    // TCP: no listening anywhere but `any`; no connection at all under `none`.
    let tcp_connect = (network == Network::None).then(Vec::new);
    let tcp_bind = (network != Network::Any).then(Vec::new);
    let files = tree.bound_files().to_vec();
    LandlockSpec { rules, entries, files, tcp_connect, tcp_bind }
}

/// `dir` may be listed; each entry of it gets `rule`, except the kept-out ones, symlinks (an
/// access through one is checked at its target) and directories holding a kept-out path,
/// which are split the same way.
fn split_around(
    host: &dyn HostFacts,
    dir: &str,
    rule: LandlockAccess,
    kept_out: &[String],
    rules: &mut Vec<(String, LandlockAccess)>,
    entries: &mut Vec<(String, bool)>,
) {
    rules.push((dir.to_string(), LandlockAccess::List));
    for (name, kind) in host.entries(dir) {
        let entry = format!("{}/{name}", dir.trim_end_matches('/'));
        if kept_out.contains(&entry) {
            continue;
        }
        let is_dir = match kind {
            EntryType::Dir => true,
            EntryType::File | EntryType::Other => false,
            EntryType::Symlink => continue,
        };
        if is_dir && kept_out.iter().any(|k| is_within(k, &entry)) {
            entries.push((entry.clone(), true));
            split_around(host, &entry, rule, kept_out, rules, entries);
        } else {
            rules.push((entry.clone(), rule));
            entries.push((entry, is_dir));
        }
    }
}

fn seccomp_spec(req: &JailRequest) -> SeccompSpec {
    let has = |cap: &str| req.run.caps.iter().any(|c| c == cap);
    SeccompSpec {
        deny_inet: req.profile.network == Network::None,
        deny_packet: !has("net_raw"),
        allow_reboot: has("sys_boot"),
        deny_ipc_removal: req.profile.blacklisted("ipcrm").is_some(),
    }
}

/// A fresh environment: nothing of the caller's but a validated TERM and LANG.
fn environment(req: &JailRequest) -> Vec<(String, String)> {
    let clean = |value: Option<&str>, extra: &str, fallback: &str| {
        value
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
            })
            .unwrap_or(fallback)
            .to_string()
    };
    let id = &req.identity;
    vec![
        ("PATH".into(), JAIL_PATH.into()),
        ("HOME".into(), id.home.clone()),
        ("USER".into(), id.name.clone()),
        ("LOGNAME".into(), id.name.clone()),
        ("TERM".into(), clean(req.term, "-+._", "dumb")),
        ("LANG".into(), clean(req.lang, "-._@", "C.UTF-8")),
        ("PAGER".into(), "cat".into()),
        ("MANPAGER".into(), "cat".into()),
        ("GIT_PAGER".into(), "cat".into()),
        ("SYSTEMD_PAGER".into(), String::new()),
        ("LESSSECURE".into(), "1".into()),
    ]
}

#[cfg(test)]
mod tests;
