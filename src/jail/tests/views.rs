//! Which mounts are the session's view and which each command makes in its copy of it.

use super::*;
use crate::jail::view::split;

#[test]
fn a_command_mounts_its_own_proc_tmp_and_terminal_and_the_view_the_rest() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let (view, own) = split(&p.mounts).expect("a view");
    let own_targets: Vec<&str> = own.iter().map(MountOp::target).collect();
    assert_eq!(own_targets, ["/proc", "/dev/pts", "/dev/pts/3", "/dev/pts/3", "/dev/pts", "/tmp"]);
    assert!(matches!(own[0], MountOp::Proc { .. }) && matches!(own[1], MountOp::Tmpfs { .. }));
    assert_eq!(own[4], MountOp::RemountReadOnly { target: "/dev/pts".into() });
    assert!(matches!(&own[5], MountOp::Tmpfs { target, .. } if target == "/tmp"));
    // Their mount points are made in the view; nothing else of it lies beneath them.
    for point in ["/proc", "/tmp", "/dev/pts"] {
        assert!(
            view.iter().any(|op| matches!(op, MountOp::Dir { target, .. } if target == point)),
            "{point}"
        );
    }
    assert_eq!(view.len() + own.len(), p.mounts.len(), "every mount is made once");
    assert_eq!(view.last(), Some(&MountOp::RemountReadOnly { target: "/".into() }));
}

#[test]
fn a_path_beneath_a_commands_own_mount_point_goes_with_it() {
    let shared_tmp = "[layer.cps.files]\nread_only = [\"/tmp/shared/\"]\n";
    let mut host = host();
    host.0.insert("/tmp".into(), HostKind::Dir);
    host.0.insert("/tmp/shared".into(), HostKind::Dir);
    let profile = profile(shared_tmp, Layer::Cps);
    let run = run("/usr/bin/ls", RunAs::Operator);
    let req = JailRequest::bare(&profile, &run, Identity::root());
    let p = plan_jail(&req, &host).expect("plan");
    let (_, own) = split(&p.mounts).expect("a view");
    let own_targets: Vec<&str> = own.iter().map(MountOp::target).collect();
    assert_eq!(own_targets, ["/proc", "/tmp", "/tmp/shared", "/tmp/shared"], "bound in the fresh /tmp");
}

#[test]
fn nothing_is_shared_when_a_commands_own_mount_point_is_not_mounted() {
    let p = plan(&profile(POLICY, Layer::Cps), &run("/usr/bin/ls", RunAs::Operator)).expect("plan");
    let mut mounts = p.mounts.clone();
    mounts.retain(|op| !matches!(op, MountOp::Tmpfs { target, .. } if target == "/dev/pts"));
    assert_eq!(split(&mounts), None, "the terminal's file would be made in the read-only view");
}
