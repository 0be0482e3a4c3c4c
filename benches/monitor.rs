//! `make bench`: the monitor's resident memory while 100 000 lines are streamed into one
//! session, started as sshd starts the login shell for `ssh -T` (`-cage`, no terminal, the
//! lines on a pipe), in the sandbox (integration/session/sandbox.sh). Target: flat, under
//! 4 MiB. Shows what is the session's own (anonymous memory) and what is the program and its
//! libraries mapped (shared with every other process that maps them). Then the memory per
//! session with 50 sessions open at once: the monitor's RSS and the session's PSS.
//! Needs root.

use std::io::Write;
use std::process::{Command, Stdio};

const SCRIPT: &str = r#"set +e
grant --actions INFRA_DIAG --duration 1h --req BENCH-RSS
rss() { awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { printf "%s %s ", $1, $2 }' /proc/$1/status; }
exits() { grep -c '"event":"exit"' /var/log/cage/audit.jsonl; }
mkfifo /tmp/in; exec 3<>/tmp/in
setpriv --reuid=optest --regid=optest --init-groups bash -c 'exec -a -cage /usr/local/bin/cage' < /tmp/in > /dev/null 2>/tmp/err &
for _ in $(seq 100); do
  pid=$(grep '"event":"login"' /var/log/cage/audit.jsonl 2>/dev/null | grep -o '"pid":[0-9]*' | cut -d: -f2)
  [ -n "$pid" ] && break; sleep 0.05
done
echo pwd >&3; while [ "$(exits)" -lt 1 ]; do sleep 0.05; done
echo "1 $(rss $pid)"
line="pwd$(printf '%253s' '')"
start=$(date +%s%N)
for n in 20000 40000 60000 80000 100000; do
  yes "$line" | head -n 20000 >&3
  while [ "$(exits)" -lt $((n + 1)) ]; do sleep 0.1; done
  echo "$n $(rss $pid)"
done
echo "seconds $(( ($(date +%s%N) - start) / 1000000000 ))"
echo exit >&3; wait $!
# Per session: 50 sessions open at once, each idle at its prompt after its first command (so
# with its cgroup and guardian); the monitor's memory and the session's proportional share
# (PSS: shared pages divided among the processes that map them) of the monitor and its
# children (the prompt's reader, the guardian).
pss() { local t=0 p; for p in "$@"; do t=$(( t + $(awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup) )); done; echo $t; }
before=$(exits); fds=()
for i in $(seq 50); do
  mkfifo /tmp/s$i; exec {fd}<>/tmp/s$i; fds+=($fd)
  setpriv --reuid=optest --regid=optest --init-groups bash -c 'exec -a -cage /usr/local/bin/cage' < /tmp/s$i > /dev/null 2>>/tmp/err &
done
for fd in "${fds[@]}"; do echo 'sudohead -n 1 /var/log/cage-test.log' >&$fd; done
for _ in $(seq 600); do [ "$(exits)" -ge $((before + 50)) ] && break; sleep 0.1; done; sleep 1
for p in $(grep '"event":"login"' /var/log/cage/audit.jsonl | grep -o '"pid":[0-9]*' | cut -d: -f2); do
  [ -e /proc/$p ] && echo "session $(rss $p | awk '{ print $2, $4 }') $(pss $p) $(pss $p $(pgrep -P $p))"
done
for fd in "${fds[@]}"; do echo exit >&$fd; done; wait
"#;

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench monitor: needs root");
        std::process::exit(1);
    }
    let bins = format!("{}/target/release", env!("CARGO_MANIFEST_DIR"));
    let sandbox = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    let mut child = Command::new(sandbox)
        .arg(&bins)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(SCRIPT.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("sandbox: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    println!("the monitor's memory, 256-byte lines streamed into one `ssh -T`-style session (target: flat, < 4 MiB)");
    println!("{:>8} {:>10} {:>10} {:>12}", "lines", "RSS KiB", "anon KiB", "mapped KiB");
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["seconds", s] => println!("({s} s for 100 000 lines)"),
            // Program text and libraries (file pages; shmem ones when the binary lives on
            // a tmpfs, as in the sandbox), shared with every process that maps them.
            [n, "VmRSS:", rss, "RssAnon:", anon, "RssFile:", file, "RssShmem:", shmem] => {
                let mapped = file.parse::<u64>().unwrap_or(0) + shmem.parse::<u64>().unwrap_or(0);
                println!("{n:>8} {rss:>10} {anon:>10} {mapped:>12}")
            }
            ["session", ..] => {}
            _ => println!("{line}"),
        }
    }
    per_session(&text);
}

/// The memory of one session among 50 open at once: the monitor's RSS and anonymous memory,
/// its PSS, and the PSS of the monitor with its children (the prompt's reader, the guardian).
fn per_session(text: &str) {
    let rows: Vec<Vec<u64>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("session "))
        .map(|l| l.split_whitespace().filter_map(|w| w.parse().ok()).collect::<Vec<u64>>())
        .filter(|r| r.len() == 4)
        .collect();
    let n = rows.len().max(1) as u64;
    let mean = |i: usize| rows.iter().map(|r| r[i]).sum::<u64>() / n;
    let max = |i: usize| rows.iter().map(|r| r[i]).max().unwrap_or(0);
    println!("per session, {} sessions open at once, idle after one file command (KiB)", rows.len());
    println!("{:>8} {:>10} {:>10} {:>12} {:>16}", "", "RSS", "anon", "monitor PSS", "session PSS");
    println!("{:>8} {:>10} {:>10} {:>12} {:>16}", "mean", mean(0), mean(1), mean(2), mean(3));
    println!("{:>8} {:>10} {:>10} {:>12} {:>16}", "max", max(0), max(1), max(2), max(3));
}
