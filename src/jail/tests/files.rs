//! Files bound on their own inside a bound tree: a file named in a read-only list, a program
//! inside a read-write tree. Landlock refuses a rule on a file that carries directory rights,
//! so each such rule must carry file rights only, or the jail cannot start.

use landlock::{AccessFs, BitFlags};

use super::*;

const LISTS_A_FILE: &str = r#"
[layer.cps.files]
read_only = ["/etc/crontab"]
read_write = ["/opt/oci/exacc/"]
"#;

fn planned(program: &str) -> JailPlan {
    let profile = profile(LISTS_A_FILE, Layer::Cps);
    let run = run(program, RunAs::Operator);
    let identity =
        Identity { name: "op".into(), uid: 1000, gid: 1000, groups: vec![], home: "/home/op".into() };
    let req = JailRequest::bare(&profile, &run, identity);
    let mut host = host();
    host.0.insert("/etc/crontab".into(), HostKind::File { executable: false });
    for dir in ["/opt/oci", "/opt/oci/exacc", "/opt/oci/exacc/exacloud", "/opt/oci/exacc/exacloud/bin"] {
        host.0.insert(dir.into(), HostKind::Dir);
    }
    host.0.insert("/opt/oci/exacc/exacloud/bin/exacloud".into(), HostKind::File { executable: true });
    plan_jail(&req, &host).expect("plan")
}

/// The rights of the prepared rules on `path`.
fn rights(plan: &JailPlan, path: &str) -> Vec<BitFlags<AccessFs>> {
    let prepared = prepare(plan, true).expect("prepare");
    let rules = prepared.landlock_rules.into_iter().filter(|r| r.path.to_bytes() == path.as_bytes());
    rules.map(|r| r.access).collect()
}

#[test]
fn a_file_in_a_read_only_list_inside_a_bound_tree_gets_file_rights_only() {
    let plan = planned("/usr/bin/ls");
    assert!(plan.landlock.files.contains(&"/etc/crontab".to_string()), "{:?}", plan.landlock);
    let on_file = rights(&plan, "/etc/crontab");
    assert!(!on_file.is_empty(), "{:?}", plan.landlock.rules);
    for access in on_file {
        assert!(access.contains(AccessFs::ReadFile), "{access:?}");
        assert!(AccessFs::from_file(crate::jail::prepare::LANDLOCK_ABI).contains(access), "{access:?}");
    }
    // The tree around it keeps its directory rights.
    assert!(rights(&plan, "/etc").iter().all(|a| a.contains(AccessFs::ReadDir)));
}

#[test]
fn a_program_inside_a_read_write_tree_gets_file_rights_only() {
    let program = "/opt/oci/exacc/exacloud/bin/exacloud";
    let plan = planned(program);
    let on_program = rights(&plan, program);
    assert!(!on_program.is_empty(), "{:?}", plan.landlock.rules);
    for access in on_program {
        assert!(AccessFs::from_file(crate::jail::prepare::LANDLOCK_ABI).contains(access), "{access:?}");
    }
    assert!(rights(&plan, program).iter().any(|a| a.contains(AccessFs::Execute)), "the program may run");
}
