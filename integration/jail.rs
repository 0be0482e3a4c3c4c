//! Root tests of the jail with the real kernel: one process per test (cargo nextest), each
//! running the probe (integration/probe) inside a jail and checking what it could do.
//! Without root they print why and fail, so a CI that lost root cannot pass silently.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cage::jail::*;
use cage::policy::Layer;
use jailed::*;
use support::alone;

mod jailed;
mod support;

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn infra_cps_only_jail_confines_files_exec_syscalls_caps_and_processes() {
    alone(|| {
        cps_fixture();
        let p = profile("INFRA_CPS_ONLY", Layer::Cps);
        let plan = plan_for(
            &p,
            &[
                "read:/etc/shadow",
                "read:/var/log/cage-jail-test.log",
                "write:/var/log/cage-jail-x",
                "write:/u01/cage-jail-x",
                "exec:/u01/true-copy",
                "exec:/u01/dd-copy",
                "copy:/u01/dd-copy:/tmp/dd",
                "exec:/tmp/dd",
                "exec:/usr/bin/dd",
                "read:/usr/bin/dd",
                "exec:/usr/bin/true",
                "syscalls",
            ],
            operator(),
            &[],
        );
        let (json, finished) = run(&plan);
        assert_eq!(finished.outcome, Outcome::Exited(0));
        assert_eq!(finished.landlock, Some(LandlockStatus::Full), "Landlock status is reported");
        assert_ne!(field(&json, "read:/etc/shadow"), "ok");
        assert_eq!(field(&json, "read:/var/log/cage-jail-test.log"), "ok");
        assert_eq!(field(&json, "write:/var/log/cage-jail-x"), "EROFS");
        assert_eq!(field(&json, "write:/u01/cage-jail-x"), "ok");
        assert_eq!(field(&json, "exec:/u01/true-copy"), "EACCES", "read-write paths are noexec");
        assert_eq!(field(&json, "exec:/u01/dd-copy"), "EACCES");
        assert_eq!(field(&json, "copy:/u01/dd-copy:/tmp/dd"), "ok");
        assert_eq!(field(&json, "exec:/tmp/dd"), "EACCES", "the private /tmp is noexec");
        assert_ne!(field(&json, "exec:/usr/bin/dd"), "ok", "dd is blacklisted and masked");
        assert_ne!(field(&json, "read:/usr/bin/dd"), "ok");
        assert_eq!(field(&json, "exec:/usr/bin/true"), "ok");
        for call in [
            "mount",
            "unshare",
            "setns",
            "ptrace",
            "bpf",
            "open_by_handle_at",
            "kexec_load",
            "io_uring_setup",
            "tiocsti",
            "chroot",
        ] {
            assert_eq!(field(&json, call), "EPERM", "{call} is refused");
        }
        assert_eq!(field(&json, "clone3"), "ENOSYS");
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(field(&json, set), "0000000000000000", "{set}");
        }
        assert_eq!(field(&json, "NoNewPrivs"), "1");
        assert_eq!(field(&json, "Seccomp"), "2");
        assert_eq!(json["uid"], NOBODY);
        assert!(
            json["pids"].as_u64().is_some_and(|n| n <= 3),
            "only the jail's own processes: {}",
            json["pids"]
        );
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_alias_keeps_exactly_its_ambient_capability() {
    alone(|| {
        let p = inline_profile("[layer.cps]\n");
        let (json, _) = run(&plan_for(&p, &[], operator(), &["net_raw"]));
        let net_raw = format!("{:016x}", 1u64 << 13);
        for set in ["CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"] {
            assert_eq!(field(&json, set), net_raw, "{set}");
        }
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_jails_landlock_domain_lets_no_signal_out_even_for_root() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    alone(|| {
        assert_eq!(enforced_landlock_abi(), 6, "this kernel scopes signals (Landlock ABI 6)");
        // Short-lived: once in the domain, the test can no longer stop it itself.
        let mut outside = Command::new("sleep")
            .arg("5")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("a process outside the jail");
        let pid = Pid::from_raw(outside.id() as i32);
        assert_eq!(kill(pid, None), Ok(()), "before the domain, root signals it");
        let p = inline_profile("[layer.cps]\n");
        let plan = plan_for(&p, &[], Identity { uid: 0, gid: 0, ..operator() }, &[]);
        let mut kernel = RealKernel::new(&plan, true).expect("the jail's ruleset");
        assert_eq!(kernel.restrict_landlock().expect("enforced"), LandlockStatus::Full);
        assert_eq!(kill(pid, None), Err(nix::errno::Errno::EPERM), "a probe signal left the domain");
        assert_eq!(kill(pid, Signal::SIGTERM), Err(nix::errno::Errno::EPERM), "SIGTERM left the domain");
        assert_eq!(kill(Pid::this(), None), Ok(()), "inside the domain, signals still work");
        assert!(outside.try_wait().expect("wait").is_none(), "the outside process is untouched");
    })
}

/// The real kernel, failing one chosen step.
struct Faulty {
    inner: RealKernel,
    fail_at: Step,
}

impl Faulty {
    fn check(&self, step: Step) -> std::io::Result<()> {
        match step == self.fail_at {
            true => Err(std::io::Error::from_raw_os_error(libc::EIO)),
            false => Ok(()),
        }
    }
}

impl Kernel for Faulty {
    fn new_session(&mut self, controlling_tty: bool) -> std::io::Result<()> {
        self.check(Step::Session)?;
        self.inner.new_session(controlling_tty)
    }
    fn make_mounts_private(&mut self) -> std::io::Result<()> {
        self.check(Step::Namespaces)?;
        self.inner.make_mounts_private()
    }
    fn mount(&mut self, op: &PreparedMount) -> std::io::Result<()> {
        self.check(Step::Mounts)?;
        self.inner.mount(op)
    }
    fn pivot_root(&mut self, root: &std::ffi::CStr, cwd: &std::ffi::CStr) -> std::io::Result<()> {
        self.check(Step::PivotRoot)?;
        self.inner.pivot_root(root, cwd)
    }
    fn enter_view(&mut self, view: std::os::fd::BorrowedFd) -> std::io::Result<()> {
        self.check(Step::Namespaces)?;
        self.inner.enter_view(view)
    }
    fn chdir(&mut self, cwd: &std::ffi::CStr) -> std::io::Result<()> {
        self.check(Step::PivotRoot)?;
        self.inner.chdir(cwd)
    }
    fn add_landlock_rule(&mut self, rule: &PreparedRule) -> std::io::Result<()> {
        self.check(Step::LandlockRules)?;
        self.inner.add_landlock_rule(rule)
    }
    fn close_fds(&mut self) -> std::io::Result<()> {
        self.check(Step::CloseFds)?;
        self.inner.close_fds()
    }
    fn drop_privileges(&mut self, id: &PreparedIdentity) -> std::io::Result<()> {
        self.check(Step::DropPrivileges)?;
        self.inner.drop_privileges(id)
    }
    fn restrict_landlock(&mut self) -> std::io::Result<LandlockStatus> {
        self.check(Step::Landlock)?;
        self.inner.restrict_landlock()
    }
    fn set_no_new_privs(&mut self) -> std::io::Result<()> {
        self.check(Step::NoNewPrivs)?;
        self.inner.set_no_new_privs()
    }
    fn apply_seccomp(&mut self, p: &seccompiler::BpfProgram) -> std::io::Result<()> {
        self.check(Step::Seccomp)?;
        self.inner.apply_seccomp(p)
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_failure_at_any_step_refuses_the_command_names_the_step_and_runs_nothing() {
    alone(|| {
        cps_fixture();
        let p = profile("INFRA_CPS_ONLY", Layer::Cps);
        for step in Step::ALL.into_iter().filter(|s| *s != Step::Exec) {
            let marker = format!("/u01/cage-marker-{}", step as u8);
            let _ = fs::remove_file(&marker);
            let plan =
                plan_for(&p, &[&format!("copy:/var/log/cage-jail-test.log:{marker}")], operator(), &[]);
            let prepared = prepare(&plan, true).expect("prepare");
            let kernel = Faulty { inner: RealKernel::new(&plan, true).expect("kernel"), fail_at: step };
            let running = spawn_with(&prepared, kernel, (plan.network, &plan.targets), Stdio::default())
                .expect("spawn");
            match running.wait() {
                Err(JailError::Step { step: failed, error }) => {
                    assert_eq!(failed, step);
                    assert_eq!(error.raw_os_error(), Some(libc::EIO));
                    assert!(JailError::Step { step, error }
                        .to_string()
                        .starts_with(&format!("jail step `{step}` failed")));
                }
                other => panic!("{step}: expected a step failure, got {other:?}"),
            }
            assert!(!Path::new(&marker).exists(), "{step}: the command must not have run");
        }
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn exit_status_and_signals_are_reported() {
    alone(|| {
        let p = inline_profile("[layer.cps]\n");
        let mut plan = plan_for(&p, &[], operator(), &[]);
        plan.program = "/usr/bin/false".into();
        plan.argv = vec!["false".into()];
        let outcome = spawn(&plan, Stdio::default(), true).expect("spawn").wait().expect("wait").outcome;
        assert_eq!(outcome, Outcome::Exited(1));
        plan.program = "/usr/bin/sleep".into();
        plan.argv = vec!["sleep".into(), "30".into()];
        let running = spawn(&plan, Stdio::default(), true).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        running.signal(nix::sys::signal::Signal::SIGINT).expect("signal");
        assert_eq!(
            running.wait().expect("wait").outcome,
            Outcome::Signaled(libc::SIGINT),
            "Ctrl-C reaches the command"
        );
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_missing_program_is_a_step_failure_at_exec_not_a_hang() {
    alone(|| {
        let p = inline_profile("[layer.cps]\n");
        let mut plan = plan_for(&p, &[], operator(), &[]);
        plan.program = "/usr/bin/cage-does-not-exist".into();
        let err = spawn(&plan, Stdio::default(), true).expect("spawn").wait().expect_err("exec fails");
        assert!(matches!(err, JailError::Step { step: Step::Exec, .. }), "{err}");
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_file_size_limit_ends_a_command_writing_past_it() {
    alone(|| {
        cps_fixture();
        let big = format!("/u01/cage-fsize-{}", std::process::id());
        fs::write(&big, vec![b'x'; 2 << 20]).expect("a 2 MiB file");
        let p = profile("INFRA_CPS_ONLY", Layer::Cps);
        let copy = format!("copy:{big}:/tmp/copy");
        let mut plan = plan_for(&p, &[&copy], operator(), &[]);
        let (json, finished) = run(&plan);
        assert_eq!(
            (field(&json, &copy), finished.outcome),
            ("ok", Outcome::Exited(0)),
            "no limit: the copy is made"
        );
        plan.file_size_limit = Some(1 << 20);
        let ended = spawn(&plan, Stdio::default(), true).expect("spawn").wait().expect("wait").outcome;
        let _ = fs::remove_file(&big);
        assert_eq!(ended, Outcome::Signaled(libc::SIGXFSZ), "writing past 1 MiB ends the writer");
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jailed_command_starts_with_no_signal_ignored() {
    // cage (a Rust program) ignores SIGPIPE; a command inheriting that would report "broken
    // pipe" errors in `cmd | sudohead` instead of ending quietly.
    alone(|| {
        let p = profile("INFRA_CPS_ONLY", Layer::Cps);
        let (json, _) = run(&plan_for(&p, &[], operator(), &[]));
        // Bits 31 and 32 are glibc's own real-time signals (thread cancellation, setxid), which
        // posix_spawn leaves alone; every standard signal must be at its default.
        let ignored = u64::from_str_radix(field(&json, "SigIgn"), 16).expect("hex mask");
        assert_eq!(ignored & 0x7fff_ffff, 0, "standard signals ignored: {ignored:#x}");
    })
}
