//! The Landlock rules around kept-out files: a mask can be lifted by the host (a rename over
//! the masked name), so no rule may grant what it hides.

use super::*;

const DENYING: &str = r#"
[layer.cps.files]
read_write = ["/u01/"]
read_only = ["/var/log/"]
deny = ["/var/log/audit/", "/var/log/app.key"]
"#;

fn plan_as(identity: Identity, caps: &[&str]) -> JailPlan {
    let profile = profile(DENYING, Layer::Cps);
    let run_as = if identity.uid == 0 { RunAs::Root } else { RunAs::Operator };
    let run = RunPlan { caps: caps.iter().map(|c| c.to_string()).collect(), ..run("/usr/bin/ls", run_as) };
    let req = JailRequest::bare(&profile, &run, identity);
    let mut host = host();
    for file in ["/var/log/app.key", "/var/log/messages"] {
        host.0.insert(file.into(), HostKind::File { executable: false });
    }
    host.0.insert("/var/log/lastlog.link".into(), HostKind::Symlink("/var/log/app.key".into()));
    plan_jail(&req, &host).expect("plan")
}

fn operator() -> Identity {
    Identity { name: "op".into(), uid: 1000, gid: 1000, groups: vec![], home: "/home/op".into() }
}

/// Whether any rule grants more than listing at `path` (a rule on it or on a tree above it).
fn granted(plan: &JailPlan, path: &str) -> bool {
    let rules = plan.landlock.rules.iter().filter(|(_, access)| *access != LandlockAccess::List);
    rules.into_iter().any(|(rule, _)| crate::policy::path::is_within(path, rule))
}

#[test]
fn a_denied_file_is_granted_by_no_rule_and_its_siblings_one_by_one() {
    let p = plan_as(operator(), &[]);
    assert!(!granted(&p, "/var/log/app.key"), "{:?}", p.landlock.rules);
    assert!(p.mounts.contains(&MountOp::MaskFile { target: "/var/log/app.key".into() }), "still masked");
    assert!(p.landlock.rules.contains(&("/var/log".into(), LandlockAccess::List)));
    assert!(p.landlock.rules.contains(&("/var/log/messages".into(), LandlockAccess::Read)));
    assert!(p.landlock.entries.contains(&("/var/log/messages".into(), false)));
    assert!(p.landlock.entries.contains(&("/var/log/cage".into(), true)));
    assert!(
        !p.landlock.rules.iter().any(|(path, _)| path == "/var/log/lastlog.link"),
        "no rule on a symlink"
    );
    // A denied directory stays under its mask inside its own rule's entry.
    assert!(p.mounts.contains(&MountOp::MaskDir { target: "/var/log/audit".into() }));
    assert!(granted(&p, "/var/log/cage/x") && granted(&p, "/u01/x"));
}

#[test]
fn an_operators_jail_keeps_etc_whole_its_modes_guard_the_secrets() {
    let p = plan_as(operator(), &[]);
    assert!(p.landlock.rules.contains(&("/etc".into(), LandlockAccess::Read)));
    assert!(p.mounts.contains(&MountOp::MaskFile { target: "/etc/shadow".into() }));
}

#[test]
fn a_jail_that_reads_past_file_modes_gets_no_rule_over_a_secret_file() {
    for (identity, caps) in [(Identity::root(), &[][..]), (operator(), &["dac_read_search"][..])] {
        let p = plan_as(identity, caps);
        for secret in ["/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/var/log/app.key"] {
            assert!(!granted(&p, secret), "{secret} with {caps:?}: {:?}", p.landlock.rules);
        }
        for readable in ["/etc/passwd", "/etc/ssh/sshd_config", "/var/log/messages", "/usr/bin/ls"] {
            assert!(granted(&p, readable), "{readable}: {:?}", p.landlock.rules);
        }
        assert!(p.landlock.rules.contains(&("/etc/ssh".into(), LandlockAccess::List)));
        assert!(p.landlock.entries.contains(&("/etc/passwd".into(), false)));
    }
}
