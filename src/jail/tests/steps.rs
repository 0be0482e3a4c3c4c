//! The child's steps against a recording kernel: the orders the jail rests on, and a failure
//! at any step stopping there.

use super::*;

/// Records each call; fails the first call of `fail_at`'s step when asked.
#[derive(Default)]
struct Recorder {
    calls: Vec<Step>,
    fail_at: Option<Step>,
}

impl Recorder {
    fn call(&mut self, step: Step) -> std::io::Result<()> {
        self.calls.push(step);
        match self.fail_at == Some(step) {
            true => Err(std::io::Error::from_raw_os_error(libc::EPERM)),
            false => Ok(()),
        }
    }
}

impl Kernel for Recorder {
    fn new_session(&mut self, _: bool) -> std::io::Result<()> {
        self.call(Step::Session)
    }
    fn make_mounts_private(&mut self) -> std::io::Result<()> {
        self.call(Step::Namespaces)
    }
    fn mount(&mut self, _: &PreparedMount) -> std::io::Result<()> {
        self.call(Step::Mounts)
    }
    fn pivot_root(&mut self, _: &std::ffi::CStr, _: &std::ffi::CStr) -> std::io::Result<()> {
        self.call(Step::PivotRoot)
    }
    fn enter_view(&mut self, _: std::os::fd::BorrowedFd) -> std::io::Result<()> {
        self.call(Step::Namespaces)
    }
    fn chdir(&mut self, _: &std::ffi::CStr) -> std::io::Result<()> {
        self.call(Step::PivotRoot)
    }
    fn add_landlock_rule(&mut self, _: &PreparedRule) -> std::io::Result<()> {
        self.call(Step::LandlockRules)
    }
    fn close_fds(&mut self) -> std::io::Result<()> {
        self.call(Step::CloseFds)
    }
    fn drop_privileges(&mut self, _: &PreparedIdentity) -> std::io::Result<()> {
        self.call(Step::DropPrivileges)
    }
    fn restrict_landlock(&mut self) -> std::io::Result<LandlockStatus> {
        self.call(Step::Landlock).map(|_| LandlockStatus::Full)
    }
    fn set_no_new_privs(&mut self) -> std::io::Result<()> {
        self.call(Step::NoNewPrivs)
    }
    fn apply_seccomp(&mut self, _: &seccompiler::BpfProgram) -> std::io::Result<()> {
        self.call(Step::Seccomp)
    }
}

/// The orders the jail rests on, each stated (the steps' full sequence is in `steps.rs`).
#[test]
fn the_steps_keep_the_orders_the_jail_rests_on() {
    let jail = prepared();
    let mut k = Recorder::default();
    assert_eq!(run_steps(&mut k, &jail).expect("all steps"), LandlockStatus::Full);
    let calls = &k.calls;
    let first = |step: Step| calls.iter().position(|c| *c == step).unwrap_or_else(|| panic!("{step} ran"));
    let last = |step: Step| calls.iter().rposition(|c| *c == step).unwrap_or_else(|| panic!("{step} ran"));
    // Every step runs (the command's exec comes after them all, from the jail's init).
    for step in Step::ALL.into_iter().filter(|s| *s != Step::Exec) {
        first(step);
    }
    assert_eq!(calls.iter().filter(|s| **s == Step::Mounts).count(), jail.mounts.len(), "each mount once");
    // The view is complete before it is entered, and the Landlock rules are added on it.
    assert!(last(Step::Mounts) < first(Step::PivotRoot));
    assert!(last(Step::PivotRoot) < first(Step::LandlockRules));
    // Landlock is enforced only once all its rules are in.
    assert!(last(Step::LandlockRules) < first(Step::Landlock));
    // No descriptor of the monitor's survives into the dropped identity.
    assert!(last(Step::CloseFds) < first(Step::DropPrivileges));
    // seccomp without CAP_SYS_ADMIN needs no_new_privs; and it comes last, one program, so
    // no step of the jail's own runs under its deny list.
    assert!(last(Step::NoNewPrivs) < first(Step::Seccomp));
    assert_eq!(calls.last(), Some(&Step::Seccomp));
    assert_eq!(calls.iter().filter(|s| **s == Step::Seccomp).count(), 1, "guard and deny list, one program");
}

#[test]
fn a_failure_at_any_step_stops_there_and_names_it() {
    let jail = prepared();
    for step in Step::ALL.into_iter().filter(|s| *s != Step::Exec) {
        let mut k = Recorder { fail_at: Some(step), ..Recorder::default() };
        let (failed, error) = run_steps(&mut k, &jail).expect_err("fails");
        assert_eq!(failed, step);
        assert_eq!(error.raw_os_error(), Some(libc::EPERM));
        assert_eq!(k.calls.last(), Some(&step), "nothing after the failing step");
        assert!(!k.calls.contains(&Step::Seccomp) || step == Step::Seccomp);
    }
}

#[test]
fn in_the_sessions_view_the_same_orders_hold_and_nothing_is_pivoted() {
    let mut jail = prepared();
    jail.view = Some(std::fs::File::open("/dev/null").expect("a descriptor").into());
    let mut k = Recorder::default();
    assert_eq!(run_steps(&mut k, &jail).expect("all steps"), LandlockStatus::Full);
    let calls = &k.calls;
    // The view is entered (one call), its copy gets the command's own mounts, then the
    // working directory (one call for the pivot_root step), then everything as before.
    assert_eq!(calls[..2], [Step::Session, Step::Namespaces]);
    let mounts = jail.mounts.len();
    assert!(calls[2..2 + mounts].iter().all(|s| *s == Step::Mounts));
    assert_eq!(calls[2 + mounts], Step::PivotRoot);
    assert_eq!(calls.iter().filter(|s| **s == Step::PivotRoot).count(), 1);
    assert_eq!(calls[3 + mounts], Step::LandlockRules);
    assert_eq!(calls.last(), Some(&Step::Seccomp));
    for step in Step::ALL.into_iter().filter(|s| *s != Step::Exec) {
        let mut k = Recorder { fail_at: Some(step), ..Recorder::default() };
        let (failed, _) = run_steps(&mut k, &jail).expect_err("fails");
        assert_eq!((failed, k.calls.last()), (step, Some(&step)), "nothing after the failing step");
    }
}

#[test]
fn a_step_that_failed_without_an_errno_does_not_read_as_one() {
    let said = JailError::Step { step: Step::LandlockRules, error: super::spawn::step_error(0) }.to_string();
    assert_eq!(
        said,
        "jail step `landlock rules` failed: not a system call's error (a check in cage or a library it uses)"
    );
    let said =
        JailError::Step { step: Step::Mounts, error: super::spawn::step_error(libc::ENOENT) }.to_string();
    assert_eq!(said, "jail step `mounts` failed: No such file or directory (os error 2)");
}
