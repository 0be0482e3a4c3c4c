//! Unit tests of the jail plan on a host described by a map.

use super::*;
use crate::decide::{Program, RunPlan};
use crate::policy::{Layer, PolicySet, RunAs};
use nix::mount::MsFlags;

const POLICY: &str = r#"
network = "local"
blacklist = ["dd", "ipcrm"]
[layer.cps]
root_exec = ["/root/blackout.sh"]
[layer.cps.files]
read_write = ["/u01/"]
read_only = ["/var/log/"]
tool_rw = ["/var"]
deny = ["/var/log/audit/"]
"#;

const AVM: &str = r#"
network = "none"
[layer.guest_vm]
path_commands = ["/usr/bin"]
[layer.guest_vm.view]
readable = ["/usr/bin", "/usr/lib", "/proc", "/tmp", "/u02"]
writable = []
"#;

fn host() -> MapHost {
    let mut m = std::collections::BTreeMap::new();
    let exe = HostKind::File { executable: true };
    let file = HostKind::File { executable: false };
    for dir in [
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/etc",
        "/etc/ssh",
        "/sys",
        "/var",
        "/var/log",
        "/var/log/audit",
        "/var/log/cage",
        "/u01",
        "/u02",
        "/etc/sudoers.d",
    ] {
        m.insert(dir.to_string(), HostKind::Dir);
    }
    for link in [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")] {
        m.insert(link.0.to_string(), HostKind::Symlink(link.1.into()));
    }
    for f in ["/usr/bin/ls", "/usr/bin/dd", "/usr/bin/ipcrm", "/root/blackout.sh", "/opt/tools/sundiag.sh"] {
        m.insert(f.to_string(), exe.clone());
    }
    for f in ["/etc/shadow", "/etc/passwd", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/sshd_config"] {
        m.insert(f.to_string(), file.clone());
    }
    for dev in
        ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/pts/3"]
    {
        m.insert(dev.to_string(), HostKind::Other);
    }
    m.insert("/root".into(), HostKind::Dir);
    m.insert("/opt".into(), HostKind::Dir);
    m.insert("/opt/tools".into(), HostKind::Dir);
    MapHost(m)
}

fn profile(text: &str, layer: Layer) -> Profile {
    let set = PolicySet::from_sources(&[("P.toml".to_string(), text.to_string())]).expect("valid");
    set.profile(&["P".to_string()], layer).expect("profile")
}

fn run(program: &str, run_as: RunAs) -> RunPlan {
    RunPlan {
        program: Program::Path(program.into()),
        argv: vec!["x".into()],
        run_as,
        caps: vec![],
        tty: false,
        jailed: true,
    }
}

fn plan(profile: &Profile, run: &RunPlan) -> Result<JailPlan, PlanError> {
    let identity =
        Identity { name: "op".into(), uid: 1000, gid: 1000, groups: vec![], home: "/home/op".into() };
    let req = JailRequest {
        profile,
        run,
        identity,
        cwd: "/u01",
        tty: Some("/dev/pts/3"),
        term: Some("xterm\x1b"),
        lang: None,
        controlling_tty: false,
    };
    plan_jail(&req, &host())
}

fn targets_of(plan: &JailPlan, pick: fn(&MountOp) -> bool) -> Vec<&str> {
    plan.mounts.iter().filter(|op| pick(op)).map(|op| op.target()).collect()
}

#[test]
fn the_root_is_a_tmpfs_first_and_made_read_only_last() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    assert!(matches!(&p.mounts[0], MountOp::Tmpfs { target, .. } if target == "/"));
    assert_eq!(p.mounts.last(), Some(&MountOp::RemountReadOnly { target: "/".into() }));
}

#[test]
fn system_dirs_are_bound_read_exec_and_merged_usr_symlinks_recreated() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    assert!(p.mounts.contains(&MountOp::Bind { target: "/usr".into(), access: Access::ReadExec }));
    assert!(p.mounts.contains(&MountOp::Symlink { target: "/bin".into(), points_to: "usr/bin".into() }));
    assert!(p.mounts.contains(&MountOp::Bind { target: "/etc".into(), access: Access::ReadOnly }));
}

#[test]
fn parents_are_bound_before_children_and_rules_get_their_access() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let binds = targets_of(&p, |op| matches!(op, MountOp::Bind { .. }));
    let var = binds.iter().position(|t| *t == "/var").expect("/var bound");
    let log = binds.iter().position(|t| *t == "/var/log").expect("/var/log bound");
    assert!(var < log, "{binds:?}");
    assert!(p.mounts.contains(&MountOp::Bind { target: "/var/log".into(), access: Access::ReadOnly }));
    assert!(p.mounts.contains(&MountOp::Bind { target: "/u01".into(), access: Access::ReadWrite }));
}

#[test]
fn secrets_denied_paths_and_blacklisted_programs_are_masked() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let files = targets_of(&p, |op| matches!(op, MountOp::MaskFile { .. }));
    let dirs = targets_of(&p, |op| matches!(op, MountOp::MaskDir { .. }));
    for f in ["/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/usr/bin/dd", "/usr/bin/ipcrm"] {
        assert!(files.contains(&f), "{f} masked: {files:?}");
    }
    assert!(!files.contains(&"/etc/ssh/sshd_config"));
    for d in ["/var/log/audit", "/var/log/cage", "/etc/sudoers.d"] {
        assert!(dirs.contains(&d), "{d} masked: {dirs:?}");
    }
    assert!(p.seccomp.deny_ipc_removal);
}

#[test]
fn root_is_absent_except_a_listed_script_bound_read_exec() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/root/blackout.sh", RunAs::Root)).expect("plan");
    assert!(p
        .mounts
        .contains(&MountOp::Bind { target: "/root/blackout.sh".into(), access: Access::ReadExec }));
    assert!(!p.mounts.iter().any(|op| matches!(op, MountOp::Bind { target, .. } if target == "/root")));
}

#[test]
fn a_program_outside_the_system_dirs_is_bound_alone() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/opt/tools/sundiag.sh", RunAs::Operator)).expect("plan");
    assert!(p
        .mounts
        .contains(&MountOp::Bind { target: "/opt/tools/sundiag.sh".into(), access: Access::ReadExec }));
    assert!(!p.mounts.iter().any(|op| matches!(op, MountOp::Bind { target, .. } if target == "/opt")));
}

#[test]
fn a_program_under_the_private_tmp_gets_its_directories_created_there() {
    let mut h = host();
    h.0.insert("/tmp".into(), HostKind::Dir);
    h.0.insert("/tmp/build".into(), HostKind::Dir);
    h.0.insert("/tmp/build/probe".into(), HostKind::File { executable: true });
    let profile = profile(POLICY, Layer::Cps);
    let run = run("/tmp/build/probe", RunAs::Operator);
    let identity = Identity { name: "op".into(), uid: 1000, gid: 1000, groups: vec![], home: "/".into() };
    let p = plan_jail(&JailRequest::bare(&profile, &run, identity), &h).expect("plan");
    let tmp = p.mounts.iter().position(|op| matches!(op, MountOp::Tmpfs { target, .. } if target == "/tmp"));
    let dir = p.mounts.iter().position(|op| op == &MountOp::Dir { target: "/tmp/build".into(), mode: 0o755 });
    assert!(tmp.is_some() && dir > tmp, "the directory is made inside the private /tmp: {:?}", p.mounts);
}

#[test]
fn a_read_only_private_tmp_is_remounted_read_only() {
    let avm = profile(AVM, Layer::GuestVm);
    let run = RunPlan {
        program: Program::Search { dirs: vec!["/usr/bin".into()], name: "ls".into() },
        ..run("", RunAs::Operator)
    };
    let p = plan(&avm, &run).expect("plan");
    assert!(p.mounts.contains(&MountOp::RemountReadOnly { target: "/tmp".into() }));
}

#[test]
fn missing_programs_are_reported_not_jailed() {
    let err = plan(&profile(POLICY, Layer::Cps), &run("/usr/sbin/xm", RunAs::Root)).expect_err("missing");
    assert_eq!(err.to_string(), "`/usr/sbin/xm` is not installed on this host");
}

#[test]
fn landlock_writes_only_where_mounts_write_and_tcp_follows_the_network() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let mut writable: Vec<&str> = p
        .landlock
        .rules
        .iter()
        .filter(|(_, a)| *a == LandlockAccess::ReadWrite)
        .map(|(p, _)| p.as_str())
        .collect();
    writable.sort();
    assert_eq!(writable, vec!["/tmp", "/u01", "/var"]);
    assert_eq!(p.landlock.tcp_connect, None, "local: loopback allowed");
    assert_eq!(p.landlock.tcp_bind, Some(vec![]), "no listening");
    assert!(p.landlock.rules.contains(&("/dev/pts/3".into(), LandlockAccess::Device)));
}

#[test]
fn network_none_gets_its_own_namespace_and_no_tcp() {
    let avm = profile(AVM, Layer::GuestVm);
    let run = RunPlan {
        program: Program::Search { dirs: vec!["/usr/bin".into()], name: "ls".into() },
        ..run("", RunAs::Operator)
    };
    let p = plan(&avm, &run).expect("plan");
    assert!(p.new_network_namespace);
    assert_eq!(p.landlock.tcp_connect, Some(vec![]));
    assert!(p.seccomp.deny_inet);
    assert_eq!(p.program, "/usr/bin/ls");
}

#[test]
fn an_explicit_view_shows_only_its_dirs_and_tmp_as_it_says() {
    let avm = profile(AVM, Layer::GuestVm);
    let run = RunPlan {
        program: Program::Search { dirs: vec!["/usr/bin".into()], name: "ls".into() },
        ..run("", RunAs::Operator)
    };
    let p = plan(&avm, &run).expect("plan");
    assert!(p.mounts.contains(&MountOp::Bind { target: "/usr/bin".into(), access: Access::ReadExec }));
    assert!(!p.mounts.iter().any(|op| matches!(op, MountOp::Bind { target, .. } if target == "/usr" || target == "/etc" || target == "/var")));
    assert!(p.mounts.contains(&MountOp::Bind { target: "/etc/passwd".into(), access: Access::ReadOnly }));
    assert!(
        p.mounts.iter().any(
            |op| matches!(op, MountOp::Tmpfs { target, access: Access::ReadOnly, .. } if target == "/tmp")
        ),
        "writable = [] makes /tmp read-only"
    );
    assert_eq!(p.cwd, "/", "the cwd /u01 is not in this view");
}

#[test]
fn the_environment_is_fresh_and_term_is_validated() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let env: std::collections::BTreeMap<_, _> = p.env.iter().cloned().collect();
    assert_eq!(env["TERM"], "dumb", "an escape in TERM is refused");
    assert_eq!(env["PATH"], JAIL_PATH);
    assert_eq!(env["SYSTEMD_PAGER"], "");
    assert!(!env.keys().any(|k| k.starts_with("LD_")));
}

fn prepared() -> PreparedJail {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    prepare(&p, true).expect("prepare")
}

#[test]
fn the_mounts_are_prepared_under_the_staging_root() {
    let jail = prepared();
    let PreparedMount::Tmpfs { target, .. } = &jail.mounts[0] else { panic!("root tmpfs first") };
    assert_eq!(target.to_str().expect("utf8"), STAGING);
    let PreparedMount::Bind { source, target, .. } =
        jail.mounts.iter().find(|m| matches!(m, PreparedMount::Bind { .. })).expect("a bind")
    else {
        panic!("bind")
    };
    assert_eq!(format!("{STAGING}{}", source.to_str().expect("utf8")), target.to_str().expect("utf8"));
}

#[test]
fn masks_after_the_first_of_their_kind_bind_it_and_inherit_its_flags() {
    let jail = prepared();
    let text = |c: &std::ffi::CString| c.to_str().expect("utf8").to_string();
    let masks: Vec<&PreparedMount> = jail
        .mounts
        .iter()
        .filter(|m| match m {
            PreparedMount::Bind { source, .. } => source.as_bytes() == b"/dev/null",
            PreparedMount::Tmpfs { data, .. } => data.to_bytes().starts_with(b"mode=000"),
            PreparedMount::BindMask { .. } => true,
            _ => false,
        })
        .collect();
    let first_file = masks.iter().find_map(|m| match m {
        PreparedMount::Bind { target, flags, .. } => Some((text(target), *flags)),
        _ => None,
    });
    let (first_file, flags) = first_file.expect("a file mask");
    let hardened = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    assert_eq!(flags, hardened, "the first file mask is remounted with every restriction");
    let first_dir = masks.iter().find_map(|m| match m {
        PreparedMount::Tmpfs { target, flags, .. } => Some((text(target), *flags)),
        _ => None,
    });
    let (first_dir, flags) = first_dir.expect("a directory mask");
    assert_eq!(flags, hardened, "the first directory mask is mounted with every restriction");
    let bound: Vec<(String, String)> = masks
        .iter()
        .filter_map(|m| match m {
            PreparedMount::BindMask { source, target } => Some((text(source), text(target))),
            _ => None,
        })
        .collect();
    assert_eq!(bound.len(), masks.len() - 2, "every other mask binds a first one: {masks:?}");
    for (source, target) in &bound {
        assert!(*source == first_file || *source == first_dir, "{target} binds {source}");
    }
    let key = format!("{STAGING}/etc/ssh/ssh_host_ed25519_key");
    assert!(bound.iter().any(|(s, t)| *s == first_file && *t == key), "{bound:?}");
}

mod files;
mod kept_out;
mod steps;
mod views;
