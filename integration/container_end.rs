//! The session's end over real ssh (docs/lifecycle.md): whatever the command does, a revoked
//! or expired grant ends the session and everything it started within 1.5 s, and SIGKILL of
//! the monitor leaves nothing of the session running. Against the container of
//! `make integration`; each test has its own operator.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod remote;

use remote::*;

/// A terminal alias that prints every 100 ms, a quiet one and `wc` for pipelines; a root
/// script that execs every 0.3 s and leaves a child in the background; `ecra` for `su`.
const FIXTURES: &str = r#"
cat > /etc/cage/policies/TEST_END.toml <<'P'
[layer.cps.alias.ticker]
binary = "/usr/bin/top"
args = ["-b", "-d", "0.1"]
tty = true
[layer.cps.alias.ticks]
binary = "/usr/bin/top"
args = ["-b", "-d", "0.5"]
[layer.cps.alias.count]
binary = "/usr/bin/wc"
args = ["-l"]
P
chmod 0644 /etc/cage/policies/TEST_END.toml
id ecra >/dev/null 2>&1 || useradd --create-home ecra
printf '#!/bin/sh\nsleep "$1" & while :; do /bin/true; sleep 0.3; done\n' > /root/blackout.sh
chmod 0755 /root/blackout.sh
"#;

const ACTIONS: &str = "INFRA_DIAG,INFRA_CPS_ONLY,TEST_END";

fn fixtures() {
    let out = in_container(FIXTURES);
    assert!(out.status.success(), "fixtures: {}", text(&out.stderr));
}

/// The pid of `login`'s monitor (its `login` record's), once it has logged in.
fn monitor_of(login: &str) -> String {
    let script = format!(
        "for _ in $(seq 100); do grep '\"event\":\"login\"' /var/log/cage/audit.jsonl | grep '\"loginid\":\"{login}\"' \
         | tail -1 | grep -o '\"pid\":[0-9]*' | cut -d: -f2 | grep . && exit; sleep 0.1; done"
    );
    let pid = text(&in_container(&script).stdout).trim().to_string();
    assert!(!pid.is_empty(), "{login} never logged in");
    pid
}

/// The session's processes and cgroups left in the container (zombies have ended).
fn leftovers(login: &str) -> String {
    let mark = marker(login);
    let script = format!(
        "ps -u {login} -o pid=,stat=,args= | awk '$2 !~ /^Z/'; pgrep -af '^sleep {mark}$'; \
         root=$(awk '$3 == \"cgroup2\" {{ print $2 \"/cage\"; exit }}' /proc/mounts); \
         for s in $(grep '\"loginid\":\"{login}\"' /var/log/cage/audit.jsonl | grep -o '\"session\":\"[0-9a-f]*\"' | cut -d'\"' -f4 | sort -u); do \
           ls -d $root/session-$s-* 2>/dev/null; done"
    );
    text(&in_container(&script).stdout).trim().to_string()
}

/// The name of the root script's background child in `login`'s session (`sleep MARK`).
fn marker(login: &str) -> u32 {
    4_000_000 + login.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 1_000_000
}

/// Starts `line` over ssh (`-tt`: at the prompt, then `keys` typed every 100 ms until the
/// session ends).
fn start(login: &str, line: &str, tty: bool) -> Child {
    let mut cmd = Command::new("ssh");
    if tty {
        cmd.arg("-tt").args(ssh_args(login));
    } else {
        cmd.args(ssh_args(login)).arg(line);
    }
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("ssh");
    if tty {
        let mut stdin = child.stdin.take().expect("stdin");
        let line = line.to_string();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            for part in line.split('\n') {
                let _ = stdin.write_all(format!("{part}\r").as_bytes());
                std::thread::sleep(Duration::from_millis(1000));
            }
            while stdin.write_all(b"x").and_then(|()| stdin.flush()).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
    child
}

/// Waits up to `limit` for the ssh session to end; how long it took from `since`.
fn ended_within(session: &mut Child, since: Instant, limit: Duration) -> Duration {
    loop {
        if session.try_wait().expect("wait").is_some() {
            return since.elapsed();
        }
        assert!(since.elapsed() < limit, "the session is still running {limit:?} after its grant ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Clone, Copy)]
enum Busy {
    WindowChanges,
    TerminalTraffic,
    Execs,
    NestedSu,
}

/// Runs `busy` for `login`, ends the grant with `end` (a root script, or nothing for an
/// expiry at `expires_in`), and checks the session and all it started are gone in 1.5 s.
fn ends_with_the_grant(login: &str, busy: Busy, end: Option<&str>, expires_in: Option<u64>) {
    require_container();
    fixtures();
    let op = operator(login);
    let started = Instant::now();
    let duration = expires_in.map_or("1h".to_string(), |s| format!("{s}s"));
    grant(&op, ACTIONS, &duration);
    let (line, tty) = match busy {
        Busy::WindowChanges => ("sudotail -f /var/log/messages".to_string(), false),
        Busy::TerminalTraffic => ("ticker".to_string(), true),
        Busy::Execs => (format!("rootexec /root/blackout.sh {}", marker(&op)), false),
        Busy::NestedSu => ("su - ecra\nsudotail -f /var/log/messages".to_string(), true),
    };
    let mut session = start(&op, &line, tty);
    let monitor = monitor_of(&op);
    if let Busy::WindowChanges = busy {
        // What a terminal's resize sends the login shell, every 0.2 s.
        let winch = format!("while kill -WINCH {monitor} 2>/dev/null; do sleep 0.2; done");
        Command::new("docker")
            .args(["exec", "-d", &container(), "sh", "-c", &winch])
            .status()
            .expect("winch");
    }
    std::thread::sleep(Duration::from_millis(3000));
    assert!(session.try_wait().expect("wait").is_none(), "the session ended before its grant");
    let ended_at = match (end, expires_in) {
        (Some(script), _) => {
            let at = Instant::now();
            let out = in_container(script);
            assert!(out.status.success(), "{script}: {}", text(&out.stderr));
            at
        }
        (None, Some(secs)) => started + Duration::from_secs(secs),
        (None, None) => unreachable!("a grant that never ends"),
    };
    let took = ended_within(&mut session, ended_at, Duration::from_secs(10) + ended_at.elapsed());
    let out = session.wait_with_output().expect("output");
    let all = text(&out.stdout) + &text(&out.stderr);
    // An expiry counts from the grant's end, written in whole seconds from `started`.
    assert!(took <= Duration::from_millis(1500 + 1000 * u64::from(expires_in.is_some())), "{took:?}: {all}");
    assert!(all.contains("session ended"), "the operator is told: {all}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(leftovers(&op), "", "nothing of the session is left");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_over_ssh_ends_sudotail_under_window_changes() {
    ends_with_the_grant("op_end_rw", Busy::WindowChanges, Some("cagectl revoke op_end_rw"), None);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_over_ssh_ends_a_terminal_alias_with_traffic() {
    ends_with_the_grant("op_end_rt", Busy::TerminalTraffic, Some("cagectl revoke op_end_rt"), None);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_over_ssh_ends_a_script_that_execs() {
    ends_with_the_grant("op_end_rx", Busy::Execs, Some("cagectl revoke op_end_rx"), None);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_over_ssh_ends_a_nested_su_session() {
    ends_with_the_grant("op_end_rs", Busy::NestedSu, Some("cagectl revoke op_end_rs"), None);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_over_ssh_ends_sudotail_under_window_changes() {
    ends_with_the_grant("op_end_ew", Busy::WindowChanges, None, Some(7));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_over_ssh_ends_a_terminal_alias_with_traffic() {
    ends_with_the_grant("op_end_et", Busy::TerminalTraffic, None, Some(7));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_over_ssh_ends_a_script_that_execs() {
    ends_with_the_grant("op_end_ex", Busy::Execs, None, Some(7));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_over_ssh_ends_a_nested_su_session() {
    ends_with_the_grant("op_end_es", Busy::NestedSu, None, Some(7));
}

/// Starts `line` over ssh, SIGKILLs its monitor, and checks nothing of the session is left a
/// second later and `cagectl sessions` no longer lists it.
fn killing_the_monitor_during(login: &str, line: &str) {
    require_container();
    fixtures();
    let op = operator(login);
    grant(&op, ACTIONS, "1h");
    let mut session = start(&op, line, false);
    let monitor = monitor_of(&op);
    std::thread::sleep(Duration::from_secs(2));
    assert!(session.try_wait().expect("wait").is_none(), "the command ended by itself");
    assert!(in_container(&format!("kill -KILL {monitor}")).status.success());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(leftovers(&op), "", "nothing of the session is left a second after");
    let sessions = text(&in_container("cagectl sessions --json").stdout);
    assert!(!sessions.contains(&format!("\"{op}\"")), "cagectl sessions lists it: {sessions}");
    let _ = session.kill();
    let _ = session.wait();
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_over_ssh_ends_a_jailed_command() {
    killing_the_monitor_during("op_kill_j", "journalctl -f");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_over_ssh_ends_a_root_script_and_its_child() {
    killing_the_monitor_during("op_kill_r", &format!("rootexec /root/blackout.sh {}", marker("op_kill_r")));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_over_ssh_ends_a_pipeline() {
    killing_the_monitor_during("op_kill_p", "ticks | count");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_over_ssh_ends_a_file_command() {
    killing_the_monitor_during("op_kill_f", "sudotail -f /var/log/messages");
}
