//! Root tests of what a jail shows of the host's files: the masks over secrets, and the
//! Landlock rules beneath them, with the real kernel, one process per test (cargo nextest).

use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use cage::jail::*;
use jailed::*;
use nix::unistd::pipe;
use support::alone;

mod jailed;
mod support;

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn root_in_the_jail_has_no_capabilities_and_still_cannot_read_secrets() {
    alone(|| {
        let p = inline_profile("[layer.cps]\n");
        let (json, _) = run(&plan_for(
            &p,
            &["read:/etc/shadow", "write:/etc/cage-jail-x", "syscalls"],
            Identity::root(),
            &[],
        ));
        assert_eq!(json["uid"], 0);
        assert_eq!(field(&json, "CapEff"), "0000000000000000");
        assert_eq!(field(&json, "CapBnd"), "0000000000000000");
        assert_ne!(field(&json, "read:/etc/shadow"), "ok");
        assert_ne!(field(&json, "write:/etc/cage-jail-x"), "ok");
        assert_eq!(field(&json, "mount"), "EPERM");
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn every_mask_is_read_only_nosuid_nodev_noexec_the_first_and_those_bound_from_it() {
    alone(|| {
        // The masks are sorted: gshadow is the first file masked (bound from /dev/null and
        // remounted), shadow and sudoers are bound from it; /etc/sudoers.d is the first directory.
        let masks = ["/etc/gshadow", "/etc/shadow", "/etc/sudoers", "/etc/sudoers.d"];
        for mask in masks {
            assert!(Path::new(mask).exists(), "this test needs {mask} on the host (sudo installed)");
        }
        let p = inline_profile("[layer.cps]\n");
        let mut plan = plan_for(&p, &[], operator(), &[]);
        plan.program = "/usr/bin/sleep".into();
        plan.argv = vec!["sleep".into(), "30".into()];
        let running = spawn(&plan, Stdio::default(), true).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        let info = fs::read_to_string(format!("/proc/{}/mountinfo", running.pid())).expect("mountinfo");
        running.signal(nix::sys::signal::Signal::SIGKILL).expect("kill");
        let _ = running.wait();
        for mask in masks {
            let line = info.lines().find(|l| l.split(' ').nth(4) == Some(mask));
            let options: Vec<&str> =
                line.and_then(|l| l.split(' ').nth(5)).unwrap_or_default().split(',').collect();
            for flag in ["ro", "nosuid", "nodev", "noexec"] {
                assert!(options.contains(&flag), "{mask} is mounted {options:?} in the jail:\n{info}");
            }
        }
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn landlock_alone_stops_a_write_through_a_bind_the_plan_forgot() {
    alone(|| {
        fs::create_dir_all("/srv/cage-forgotten").expect("dir");
        fs::set_permissions("/srv/cage-forgotten", fs::Permissions::from_mode(0o1777)).expect("chmod");
        let p = inline_profile("[layer.cps]\n");
        let mut plan = plan_for(&p, &["write:/srv/cage-forgotten/x"], operator(), &[]);
        let forgotten = [
            MountOp::Dir { target: "/srv".into(), mode: 0o755 },
            MountOp::Dir { target: "/srv/cage-forgotten".into(), mode: 0o755 },
            MountOp::Bind { target: "/srv/cage-forgotten".into(), access: Access::ReadWrite },
        ];
        let at = plan.mounts.len() - 2;
        plan.mounts.splice(at..at, forgotten);
        let (json, _) = run(&plan);
        assert_eq!(
            field(&json, "write:/srv/cage-forgotten/x"),
            "EACCES",
            "Landlock refuses what the mount allows"
        );
        plan.landlock.rules.push(("/srv/cage-forgotten".into(), LandlockAccess::ReadWrite));
        let (json, _) = run(&plan);
        assert_eq!(field(&json, "write:/srv/cage-forgotten/x"), "ok", "with the rule the same write works");
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_masked_file_the_host_replaces_by_rename_stays_hidden_from_a_running_root_jail() {
    // A mask is a mount over the file's dentry. Replacing the file by rename (as passwd,
    // useradd and visudo replace theirs) detaches that mount in every other namespace, so the
    // jail must not rest on it alone: a jail running as root reads past the file's mode.
    alone(|| {
        let dir = "/var/tmp/cage-mask-test";
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).expect("dir");
        fs::write(format!("{dir}/secret"), "first secret\n").expect("secret");
        fs::set_permissions(format!("{dir}/secret"), fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(format!("{dir}/plain"), "plain file\n").expect("plain");
        let p = inline_profile(&format!(
            "[layer.cps.files]\nread_only = [\"{dir}/\"]\ndeny = [\"{dir}/secret\"]\n"
        ));
        let mut plan = plan_for(&p, &[], Identity::root(), &[]);
        plan.program = "/usr/bin/sh".into();
        let script = format!("read go; cat {dir}/secret; echo \"secret=$?\"; cat {dir}/plain");
        plan.argv = ["sh", "-c", &script].map(String::from).to_vec();
        let (stdin_r, stdin_w) = pipe().expect("pipe");
        let (stdout_r, stdout_w) = pipe().expect("pipe");
        let stdio = Stdio {
            stdin: Some(stdin_r.as_raw_fd()),
            stdout: Some(stdout_w.as_raw_fd()),
            stderr: Some(stdout_w.as_raw_fd()),
            ..Stdio::default()
        };
        let running = spawn(&plan, stdio, true).expect("spawn");
        drop((stdin_r, stdout_w));
        std::thread::sleep(Duration::from_millis(300));
        fs::write(format!("{dir}/.secret.new"), "replaced secret\n").expect("new secret");
        fs::set_permissions(format!("{dir}/.secret.new"), fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::rename(format!("{dir}/.secret.new"), format!("{dir}/secret")).expect("rename");
        fs::File::from(stdin_w).write_all(b"go\n").expect("go");
        let mut out = String::new();
        fs::File::from(stdout_r).read_to_string(&mut out).expect("output");
        let _ = running.wait();
        let _ = fs::remove_dir_all(dir);
        assert!(!out.contains("replaced secret"), "the replaced secret was read in the jail:\n{out}");
        assert!(!out.contains("first secret"), "{out}");
        assert!(out.contains("plain file"), "the rest of the directory stays readable:\n{out}");
    })
}
