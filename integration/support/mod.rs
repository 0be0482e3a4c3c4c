//! What the root test binaries share: the sandbox (integration/session/sandbox.sh) that runs
//! a shell snippet with cage installed as in production, in a private mount namespace.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Shell that writes a test action, `TEST_BLOCK`, whose jailed alias `block` (`sleep 600`)
/// runs until it is ended on any host: a bundled `journalctl -f` exits at once where the
/// journal is not the operator's to read.
pub const TEST_BLOCK: &str = "cat > /etc/cage/policies/TEST_BLOCK.toml <<'P'\n\
[layer.cps.alias.block]\nbinary = \"/usr/bin/sleep\"\nargs = [\"600\"]\nP\n";

pub fn require_root() {
    // Forking from a test process with other test threads can leave the child blocked on a
    // lock one of them held; the jail's real caller (the monitor) is single-threaded.
    if std::env::var_os("NEXTEST").is_none() {
        panic!("root tests fork and must run one process per test: use `make test` (cargo nextest)");
    }
    if !nix::unistd::geteuid().is_root() {
        panic!("these tests need root (setuid install, mount namespaces): run `make test` as root");
    }
}

/// Runs `body` as root in a forked child that runs one thread, as cage's monitor does: the
/// jail refuses to start from a process of more (the test harness runs two). A panic in the
/// child fails the test, its message on the test's output.
#[allow(unsafe_code)] // the one fork of the tests, from the harness's test thread
pub fn alone(body: impl FnOnce()) {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    require_root();
    // SAFETY: the harness's other thread waits for this test and holds no lock; glibc's fork
    // hands the child its allocator and stdio locks released.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        ForkResult::Parent { child } => {
            let status = waitpid(child, None).expect("wait");
            assert_eq!(status, WaitStatus::Exited(child, 0), "the test's checks failed (see its output)");
        }
        ForkResult::Child => {
            let passed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_ok();
            cage::sys::exit_now(if passed { 0 } else { 1 })
        }
    }
}

/// Runs `body` in a fresh sandbox; returns its output. It installs cage and cagectl from
/// the directory cargo builds them in: cagectl is a package of its own (cagectl/), built there
/// by a build of the workspace (`cargo nextest run` at the root, `make tests`).
pub fn sandbox(body: &str) -> Output {
    require_root();
    let bins = std::path::Path::new(env!("CARGO_BIN_EXE_cage")).parent().expect("bin dir").to_owned();
    assert!(bins.join("cagectl").exists(), "no cagectl in {}: build the workspace", bins.display());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    let mut child = Command::new(script)
        .arg(bins)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sandbox");
    child.stdin.take().expect("stdin").write_all(body.as_bytes()).expect("body");
    child.wait_with_output().expect("sandbox output")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `word` quoted for sh.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The value printed as `KEY=value` on a line of `out`.
pub fn value<'a>(out: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}=");
    out.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("no {key}= in {out}"))
}
