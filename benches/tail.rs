//! `make bench`: append-to-display latency of `sudotail -f`/`-F` against `tail -f`, from one
//! run, inside the session sandbox (cage installed setuid); the measuring is benches/tail.py.

use std::io::Write;
use std::process::{Command, Stdio};

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench tail: needs root");
        std::process::exit(1);
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let body =
        format!("grant --actions INFRA_DIAG --duration 1h --req BENCH\npython3 {root}/benches/tail.py\n");
    let sandbox = format!("{root}/integration/session/sandbox.sh");
    let child = Command::new(sandbox).arg(format!("{root}/target/release")).stdin(Stdio::piped()).spawn();
    let mut child = child.unwrap_or_else(|e| {
        eprintln!("bench tail: {e}");
        std::process::exit(1)
    });
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(body.as_bytes());
    }
    let ok = child.wait().is_ok_and(|s| s.success());
    std::process::exit(if ok { 0 } else { 1 });
}
