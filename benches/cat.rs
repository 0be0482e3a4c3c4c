//! `make bench`: throughput of `sudocat` on a 1 GiB root-only file against `cat` run as root,
//! from one run, inside the session sandbox (cage installed setuid, the operator's whole
//! `cage -c` process timed): to /dev/null and through a pipe. Target: sudocat >= 90% of cat.

use std::io::Write;
use std::process::{Command, Stdio};

const RUNS: usize = 7;
const BYTES: f64 = (1u64 << 30) as f64;

const CASES: &[(&str, &str)] = &[
    ("cat F > /dev/null (root)", "cat /var/log/big.bin > /dev/null"),
    ("sudocat F > /dev/null", "as_operator /usr/local/bin/cage -c 'sudocat /var/log/big.bin' > /dev/null"),
    ("cat F | cat > /dev/null (root)", "cat /var/log/big.bin | cat > /dev/null"),
    (
        "sudocat F | cat > /dev/null",
        "as_operator /usr/local/bin/cage -c 'sudocat /var/log/big.bin' | cat > /dev/null",
    ),
];

fn script() -> String {
    let mut body = String::from(
        "grant --actions INFRA_DIAG --duration 1h --req BENCH\n\
         head -c 1G /dev/urandom > /var/log/big.bin; chmod 0600 /var/log/big.bin; cat /var/log/big.bin > /dev/null\n",
    );
    // Interleaved, so both see the same machine.
    body.push_str(&format!("for i in $(seq {RUNS}); do\n"));
    for (i, (_, command)) in CASES.iter().enumerate() {
        body.push_str(&format!(
            "  s=${{EPOCHREALTIME/./}}; {command}; e=${{EPOCHREALTIME/./}}; echo \"{i} $(( e - s ))\"\n"
        ));
    }
    body.push_str("done\n");
    body
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench cat: needs root");
        std::process::exit(1);
    }
    let bins = format!("{}/target/release", env!("CARGO_MANIFEST_DIR"));
    let sandbox = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    let child = Command::new(sandbox).arg(&bins).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn();
    let mut child = child.unwrap_or_else(|e| {
        eprintln!("bench cat: {e}");
        std::process::exit(1)
    });
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script().as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| {
        eprintln!("bench cat: {e}");
        std::process::exit(1)
    });
    let text = String::from_utf8_lossy(&out.stdout);
    let mib_per_s: Vec<f64> = (0..CASES.len())
        .map(|case| {
            let micros =
                text.lines().filter_map(|l| l.split_once(' ')).filter(|(c, _)| c.parse() == Ok(case));
            let seconds: Vec<f64> =
                micros.filter_map(|(_, us)| us.parse::<f64>().ok()).map(|us| us / 1e6).collect();
            BYTES / (1 << 20) as f64 / median(seconds)
        })
        .collect();
    println!("1 GiB root-only file, whole process, median of {RUNS} runs, same run (target: sudocat >= 90% of cat)");
    println!("{:<34} {:>10} {:>10}", "command", "MiB/s", "of cat");
    for (i, (name, _)) in CASES.iter().enumerate() {
        let cat = mib_per_s[i - i % 2];
        println!("{name:<34} {:>10.0} {:>9.0}%", mib_per_s[i], 100.0 * mib_per_s[i] / cat);
    }
    if mib_per_s.iter().any(|v| !v.is_finite()) {
        eprintln!("bench cat: missing timings:\n{text}");
        std::process::exit(1);
    }
}
