//! `make bench`: the monitor's resident memory while 100 000 lines are streamed into one
//! session, started as sshd starts the login shell for `ssh -T` (`-cage`, no terminal, the
//! lines on a pipe), in the sandbox (integration/session/sandbox.sh). Target: flat, under
//! 4 MiB. Shows what is the session's own (anonymous memory) and what is the program and its
//! libraries mapped (shared with every other process that maps them).
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
            _ => println!("{line}"),
        }
    }
}
