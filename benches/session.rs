//! `make bench`: whole-process time of `cage -c ALIAS` for an operator (cage installed
//! setuid in a private namespace, integration/session/sandbox.sh) against `bash -c /bin/true`
//! and `sudo -n -u nobody /bin/true` from the same run, and the cost of each further command
//! in a live session (target: under 2.5 ms and below sudo). Two floors from the same run show
//! what no shell could avoid here: starting a program as the operator (`setpriv`, which the
//! cage and bash rows include) and the `du` itself. One row runs with the session-wide limits
//! (`[limits] pids`, `session_memory`) set. Needs root.

use std::io::Write;
use std::process::{Command, Stdio};

const RUNS: usize = 101;

/// One timing of `command` as case `index`: a line `index nanoseconds`. A command that starts
/// with `limits:` runs with the session-wide limits in cage.toml (switched outside the timing).
fn timed(index: usize, command: &str) -> String {
    let (before, command, after) = match command.strip_prefix("limits:") {
        Some(command) => (
            "cp /etc/cage/limits.toml /etc/cage/cage.toml; ",
            command,
            "cp /etc/cage/plain.toml /etc/cage/cage.toml; ",
        ),
        None => ("", command, ""),
    };
    format!(
        "{before}s=${{EPOCHREALTIME/./}}; {command} >/dev/null 2>&1; e=${{EPOCHREALTIME/./}}; {after}echo \"{index} $(( (e - s) * 1000 ))\"\n"
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
        ("cage -c \"du -s /u01\" (INFRA_DIAG, cps)", format!("as_operator /usr/local/bin/cage -c '{line}'")),
        ("cage -c with 10 x \"du -s /u01\"", format!("as_operator /usr/local/bin/cage -c '{ten}'")),
        (
            "cage -c \"du -s /u01\" with pids, session_memory",
            format!("limits:as_operator /usr/local/bin/cage -c '{line}'"),
        ),
        ("floor: setpriv /bin/true (as_operator)", "as_operator /bin/true".to_string()),
        ("floor: du -s /u01 (as_operator, C.UTF-8)", "LANG=C.UTF-8 as_operator du -s /u01".to_string()),
    ];
    // The cases take turns, run after run, so a burst of load on the machine falls on all of
    // them alike and the ratios hold even when the absolute figures do not.
    let round: String = cases.iter().enumerate().map(|(i, (_, cmd))| timed(i, cmd)).collect();
    let configs = "cp /etc/cage/cage.toml /etc/cage/plain.toml\n\
         { cat /etc/cage/plain.toml; printf '[limits]\\npids = 512\\nsession_memory = \"1G\"\\n'; } > /etc/cage/limits.toml\n\
         chmod 0644 /etc/cage/plain.toml /etc/cage/limits.toml\n";
    let script = format!(
        "grant --actions INFRA_DIAG --duration 1h --req BENCH\n{configs}for run in $(seq {RUNS}); do\n{round}done\n"
    );
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
    for ((name, _), list) in cases.iter().zip(&mut samples) {
        if list.is_empty() {
            eprintln!("bench session: no timings for {name}");
            std::process::exit(1);
        }
        medians.push((name.to_string(), median_ms(list)));
    }
    let get = |i: usize| medians.get(i).map_or(f64::NAN, |m| m.1);
    let (bash, sudo, first, ten, du) = (get(0), get(1), get(2), get(3), get(6));
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
    // What cage itself adds: the first command less the same `du` started as the operator
    // (setpriv, exec and du's own work).
    let own = first - du;
    println!(
        "{:<44} {own:>9.3} {:>9.2} {:>9.2}",
        "cage's own share (cage -c less the du floor)",
        own / bash,
        own / sudo
    );
}
