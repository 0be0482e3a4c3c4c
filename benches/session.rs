//! `make bench`: whole-process time of `cage -c ALIAS` for an operator (cage installed
//! setuid in a private namespace, integration/session/sandbox.sh) against `bash -c /bin/true`
//! and `sudo -n -u nobody /bin/true` from the same run, and the cost of each further command
//! in a live session (target: under 2.5 ms and below sudo). Two floors from the same run show
//! what no shell could avoid here: starting a program at all (`/bin/true`) and the `du`
//! itself. One row runs with the session-wide limits (`[limits] pids`, `session_memory`) set.
//! Needs root.
//!
//! Every case is started the same way, the way sshd starts a login shell: a fork of the
//! driver that takes the operator's uid and gid and execs the program (`bench session
//! --inner`, run inside the sandbox). So `sudo` is run by the operator too, through a
//! NOPASSWD rule for `/bin/true` that exists only in the sandbox; a last row shows sudo
//! started by root, for comparison.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 101;
const LINE: &str = "du -s /u01";

/// One case: its row name, the program and arguments, and whether it runs with the
/// session-wide limits in cage.toml (switched outside the timing).
struct Case {
    name: &'static str,
    argv: Vec<String>,
    limits: bool,
    /// Started by root instead of the operator (for comparison only).
    as_root: bool,
}

fn cases() -> Vec<Case> {
    let case = |name, argv: &[&str], limits| Case {
        name,
        argv: argv.iter().map(|a| a.to_string()).collect(),
        limits,
        as_root: false,
    };
    let ten = [LINE; 10].join("; ");
    let sudo = ["/usr/bin/sudo", "-n", "-u", "nobody", "/bin/true"];
    vec![
        case("bash -c /bin/true", &["/bin/bash", "-c", "/bin/true"], false),
        case("sudo -n -u nobody /bin/true", &sudo, false),
        case("cage -c \"du -s /u01\" (INFRA_DIAG, cps)", &["/usr/local/bin/cage", "-c", LINE], false),
        Case {
            name: "cage -c with 10 x \"du -s /u01\"",
            argv: vec!["/usr/local/bin/cage".into(), "-c".into(), ten],
            limits: false,
            as_root: false,
        },
        case("cage -c \"du -s /u01\" with pids, session_memory", &["/usr/local/bin/cage", "-c", LINE], true),
        case("floor: /bin/true", &["/bin/true"], false),
        case("floor: du -s /u01", &["/usr/bin/du", "-s", "/u01"], false),
        Case { as_root: true, ..case("sudo -n -u nobody /bin/true, started by root", &sudo, false) },
    ]
}

fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn fail(what: &str) -> ! {
    eprintln!("bench session: {what}");
    std::process::exit(1)
}

/// Inside the sandbox: times every case, taking turns run after run, each started as the
/// operator; prints `index nanoseconds` lines.
fn inner() {
    let operator = nix::unistd::User::from_name("optest").ok().flatten().unwrap_or_else(|| fail("no optest"));
    let cases = cases();
    let config = |from: &str| {
        std::fs::copy(from, "/etc/cage/cage.toml").unwrap_or_else(|e| fail(&format!("{from}: {e}")));
    };
    let mut out = std::io::stdout().lock();
    for _ in 0..RUNS {
        for (index, case) in cases.iter().enumerate() {
            if case.limits {
                config("/etc/cage/limits.toml");
            }
            let start = Instant::now();
            let mut command = Command::new(&case.argv[0]);
            if !case.as_root {
                command.uid(operator.uid.as_raw()).gid(operator.gid.as_raw());
            }
            let status = command
                .args(&case.argv[1..])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("LANG", "C.UTF-8")
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let elapsed = start.elapsed();
            if case.limits {
                config("/etc/cage/plain.toml");
            }
            match status {
                Ok(s) if s.success() => {}
                other => fail(&format!("{} ended with {other:?}", case.name)),
            }
            let _ = writeln!(out, "{index} {}", elapsed.as_nanos());
        }
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--inner") {
        return inner();
    }
    if !nix::unistd::geteuid().is_root() {
        fail("needs root");
    }
    let me = std::env::current_exe().unwrap_or_else(|e| fail(&e.to_string()));
    let bins = format!("{}/target/release", env!("CARGO_MANIFEST_DIR"));
    let script = format!(
        "grant --actions INFRA_DIAG --duration 1h --req BENCH\n\
         cp /etc/cage/cage.toml /etc/cage/plain.toml\n\
         {{ cat /etc/cage/plain.toml; printf '[limits]\\npids = 512\\nsession_memory = \"1G\"\\n'; }} > /etc/cage/limits.toml\n\
         chmod 0644 /etc/cage/plain.toml /etc/cage/limits.toml\n\
         echo 'optest ALL=(nobody) NOPASSWD: /bin/true' > /etc/sudoers.d/cage-bench\n\
         chmod 0440 /etc/sudoers.d/cage-bench\n\
         '{}' --inner\n",
        me.display()
    );
    let sandbox = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    let mut child = Command::new(sandbox)
        .arg(&bins)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&e.to_string()));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| fail(&e.to_string()));
    if !out.status.success() {
        fail(&format!("the sandbox ended with {}", out.status));
    }
    let cases = cases();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for line in text.lines() {
        let Some((index, ns)) = line.split_once(' ') else { continue };
        if let (Ok(index), Ok(ns)) = (index.parse::<usize>(), ns.trim().parse::<f64>()) {
            if let Some(list) = samples.get_mut(index) {
                list.push(ns / 1e6);
            }
        }
    }
    let mut medians = Vec::new();
    for (case, list) in cases.iter().zip(&mut samples) {
        if list.is_empty() {
            fail(&format!("no timings for {}", case.name));
        }
        medians.push((case.name, median_ms(list)));
    }
    let get = |i: usize| medians.get(i).map_or(f64::NAN, |m| m.1);
    let (bash, sudo, first, ten, du) = (get(0), get(1), get(2), get(3), get(6));
    println!("whole-process time as the operator, median of {RUNS} runs, same run (target: cage -c < 2.5 ms and < sudo)");
    println!("{:<48} {:>9} {:>9} {:>9}", "command", "ms", "÷ bash", "÷ sudo");
    let row = |name: &str, ms: f64| println!("{name:<48} {ms:>9.3} {:>9.2} {:>9.2}", ms / bash, ms / sudo);
    for (name, ms) in &medians {
        row(name, *ms);
    }
    row("each further command in the session", (ten - first) / 9.0);
    // What cage itself adds: the first command less the same `du` started directly.
    row("cage's own share (cage -c less the du floor)", first - du);
}
