//! `make bench`: whole-process time of `cage -c ALIAS` for an operator (cage installed
//! setuid in a private namespace, integration/session/sandbox.sh) against `bash -c /bin/true`
//! and `sudo -n -u nobody /bin/true` from the same run, and the cost of each further command
//! in a live session (target: under 2.5 ms and below sudo). Needs root.

use std::io::Write;
use std::process::{Command, Stdio};

const RUNS: usize = 101;

/// Runs RUNS timings of `command` in the sandbox, one nanosecond figure per line.
fn body(command: &str) -> String {
    format!(
        "for i in $(seq {RUNS}); do s=${{EPOCHREALTIME/./}}; {command} >/dev/null 2>&1; e=${{EPOCHREALTIME/./}}; echo $(( (e - s) * 1000 )); done"
    )
}

fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench session: needs root");
        std::process::exit(1);
    }
    let bins = format!("{}/target/release", env!("CARGO_MANIFEST_DIR"));
    let line = "du -s /u01";
    let ten = [line; 10].join("; ");
    let cases = [
        ("bash -c /bin/true (as the operator)", "as_operator bash -c /bin/true".to_string()),
        ("sudo -n -u nobody /bin/true", "sudo -n -u nobody /bin/true".to_string()),
        ("cage -c 'du -s /u01' (INFRA_DIAG, cps)", format!("as_operator /usr/local/bin/cage -c '{line}'")),
        ("cage -c with 10 x 'du -s /u01'", format!("as_operator /usr/local/bin/cage -c '{ten}'")),
    ];
    let script: String =
        std::iter::once("grant --actions INFRA_DIAG --duration 1h --req BENCH\n".to_string())
            .chain(cases.iter().map(|(name, cmd)| format!("echo '# {name}'\n{}\n", body(cmd))))
            .collect();
    let sandbox = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    let mut child =
        Command::new(sandbox).arg(&bins).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap_or_else(
            |e| {
                eprintln!("bench session: {e}");
                std::process::exit(1)
            },
        );
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| {
        eprintln!("bench session: {e}");
        std::process::exit(1)
    });
    let text = String::from_utf8_lossy(&out.stdout);
    let mut medians = Vec::new();
    for section in text.split("# ").skip(1) {
        let mut lines = section.lines();
        let name = lines.next().unwrap_or_default().to_string();
        let mut samples: Vec<f64> =
            lines.filter_map(|l| l.trim().parse::<f64>().ok()).map(|ns| ns / 1e6).collect();
        if samples.is_empty() {
            eprintln!("bench session: no timings for {name}");
            std::process::exit(1);
        }
        medians.push((name, median_ms(&mut samples)));
    }
    let get = |i: usize| medians.get(i).map_or(f64::NAN, |m| m.1);
    let (bash, sudo, first, ten) = (get(0), get(1), get(2), get(3));
    println!("whole-process time, median of {RUNS} runs, same run (target: cage -c < 2.5 ms and < sudo)");
    println!("{:<44} {:>9} {:>9} {:>9}", "command", "ms", "÷ bash", "÷ sudo");
    for (name, ms) in &medians {
        println!("{name:<44} {ms:>9.3} {:>9.2} {:>9.2}", ms / bash, ms / sudo);
    }
    let next = (ten - first) / 9.0;
    println!(
        "{:<44} {next:>9.3} {:>9.2} {:>9.2}",
        "each further command in the session",
        next / bash,
        next / sudo
    );
}
