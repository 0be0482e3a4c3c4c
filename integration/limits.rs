//! Root tests of the session-wide limits (`[limits] pids`, `session_memory`): what an operator
//! sees when a fork bomb or a memory hog meets them, that they hold for the whole session,
//! and that the session's cgroups are gone when it ends. Run through the installed, setuid
//! cage in the sandbox (integration/session/sandbox.sh), on whatever cgroup layout the host
//! has: cgroup v2, or v1 controllers on a hybrid host.

mod support;

use support::{sandbox, text, value};

/// Aliases that misbehave on purpose (perl: on every Debian), under `network = "local"` so
/// their jails are born in the session's egress leaf.
const PROFILE: &str = r#"cat > /etc/cage/policies/TEST_LIMITS.toml <<'P'
network = "local"
[layer.cps.alias.forkbomb]
binary = "/usr/bin/perl"
args = ["-e", 'while (1) { my $p = fork; if (!defined $p) { print STDERR qq(fork: $!\n) if $$ % 16 == 0; sleep 2; exit 1 } }']
[layer.cps.alias.hog]
binary = "/usr/bin/perl"
args = ["-e", 'my $n = shift; my $x = q(x) x ($n << 20); sleep 2; print qq(held ${n}M\n)']
[layer.cps.alias.connect]
binary = "/usr/bin/perl"
args = ["-MIO::Socket::INET", "-e", 'IO::Socket::INET->new(PeerAddr => shift, Timeout => 2) or die qq(connect: $!\n); print qq(connected\n)']
[layer.cps.alias.sleeper]
binary = "/usr/bin/sleep"
args = ["3"]
[layer.cps.alias.du]
binary = "/usr/bin/du"
P
grant --actions TEST_LIMITS --duration 1h --req REQ-LIM
"#;

const LIMITS: &str = "printf '[limits]\\npids = 64\\nsession_memory = \"64M\"\\n' >> /etc/cage/cage.toml";

/// Shell helpers: `cg` is the cgroup v2 mount cage uses; `session_name` the cgroup name of the
/// last session that logged in (`session-ID-NS-PID`); `limit FILE` reads FILE of that session in
/// v2 or in the v1 hierarchy of its controller; `wait_session` waits until the session's
/// cgroup has its first leaf (its name in `name`).
const CGROUP: &str = r#"cg=/sys/fs/cgroup
[ "$(stat -fc %T $cg)" = cgroup2fs ] || cg=/sys/fs/cgroup/unified
session_name() {
  line=$(grep '"event":"login"' /var/log/cage/audit.jsonl | tail -1)
  echo "session-$(echo "$line" | sed 's/.*"session":"\([0-9a-f]*\)".*/\1/')-$(stat -Lc %i /proc/self/ns/pid)-$(echo "$line" | sed 's/.*"pid":\([0-9]*\).*/\1/')"
}
limit() { cat "$cg/cage/$(session_name)/$1" 2>/dev/null || cat "/sys/fs/cgroup/${1%%.*}/cage/$(session_name)/$1"; }
wait_session() { for i in $(seq 100); do name=$(session_name 2>/dev/null); ls -d $cg/cage/$name/*/ >/dev/null 2>&1 && return; sleep 0.1; done; }
"#;

/// Runs `line` through `cage -c` as the operator after `setup`: (stdout, stderr, status).
fn run(setup: &str, line: &str) -> (String, String, i32) {
    let line = line.replace('\'', "'\\''");
    let out = sandbox(&format!(
        "{PROFILE}{setup}\nset +e\nas_operator /usr/local/bin/cage -c '{line}'\necho \"EXIT=$?\"\n"
    ));
    let stdout = text(&out.stdout);
    let (body, code) =
        stdout.rsplit_once("EXIT=").unwrap_or_else(|| panic!("{stdout} {}", text(&out.stderr)));
    (body.to_string(), text(&out.stderr), code.trim().parse().expect("status"))
}

/// The `exit` records of the trail, after running `line`.
fn exits_of(setup: &str, line: &str) -> Vec<serde_json::Value> {
    let out = sandbox(&format!(
        "{PROFILE}{setup}\nset +e\nas_operator /usr/local/bin/cage -c '{line}' >/dev/null 2>&1\n\
         grep '\"event\":\"exit\"' /var/log/cage/audit.jsonl\n"
    ));
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a record")).collect()
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_fork_bomb_stops_at_the_sessions_pids_limit_and_the_next_command_runs() {
    let start = std::time::Instant::now();
    let (out, err, code) = run(LIMITS, "forkbomb; du -s /etc/cage/policies");
    assert!(err.contains("fork: Resource temporarily unavailable"), "the bomb met the limit: {err}");
    assert!(
        err.contains("cage: the session's process limit (pids = 64) refused a new process\n"),
        "the operator is told which limit: {err}"
    );
    assert!(out.ends_with("\t/etc/cage/policies\n"), "the session's next command ran: {out:?} {err}");
    assert_eq!(code, 0, "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
    let exits = exits_of(LIMITS, "forkbomb; du -s /etc/cage/policies");
    assert_eq!(exits.len(), 2, "{exits:?}");
    assert_eq!(exits[0]["limits"], serde_json::json!(["pids"]), "{}", exits[0]);
    assert_eq!((exits[1]["status"].as_i64(), exits[1].get("limits")), (Some(0), None), "{}", exits[1]);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn without_the_pids_limit_the_same_session_has_none() {
    let setup = "printf '[limits]\\nsession_memory = \"1G\"\\n' >> /etc/cage/cage.toml";
    let out = sandbox(&format!(
        "{PROFILE}{setup}\n{CGROUP}\nset +e\n\
         as_operator /usr/local/bin/cage -c sleeper & wait_session\n\
         echo \"PIDS=$(limit pids.max)\"; echo \"MEMORY=$(limit memory.max || limit memory.limit_in_bytes)\"; wait\n"
    ));
    let stdout = text(&out.stdout);
    let pids = value(&stdout, "PIDS");
    assert!(pids.is_empty() || pids == "max", "no pids limit of the session at all: {stdout}");
    assert_eq!(value(&stdout, "MEMORY"), (1u64 << 30).to_string(), "{stdout} {}", text(&out.stderr));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_shipped_cage_toml_limits_a_sessions_processes_and_keys_added_after_it_stay_top_level() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/cage.toml.example");
    let setup =
        format!("cp {shipped} /etc/cage/cage.toml; echo 'hostname = \"appended\"' >> /etc/cage/cage.toml");
    let out = sandbox(&format!(
        "{PROFILE}{setup}\n{CGROUP}\nset +e\ncagectl check >/dev/null; echo \"CHECK=$?\"\n\
         as_operator /usr/local/bin/cage -c sleeper & wait_session\n\
         echo \"PIDS=$(limit pids.max)\"; wait; echo \"EXIT=$?\"\n\
         grep -c '\"host\":\"appended\"' /var/log/cage/audit.jsonl | sed 's/^/APPENDED=/'\n"
    ));
    let stdout = text(&out.stdout);
    let said = format!("{stdout} {}", text(&out.stderr));
    assert_eq!(value(&stdout, "CHECK"), "0", "{said}");
    assert_eq!(value(&stdout, "PIDS"), "1024", "{said}");
    assert_eq!(value(&stdout, "EXIT"), "0", "{said}");
    assert_ne!(value(&stdout, "APPENDED"), "0", "the appended hostname is the host's: {said}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_memory_hog_is_killed_within_session_memory() {
    let (out, err, code) = run(LIMITS, "hog 200");
    assert_eq!((out.as_str(), code), ("", 137), "killed before it held 200M: {err}");
    assert_eq!(err, "cage: the session's memory limit (session_memory = 64M) killed a process\n");
    let exits = exits_of(LIMITS, "hog 200");
    assert_eq!(exits[0]["signal"].as_i64(), Some(9), "{}", exits[0]);
    assert_eq!(exits[0]["limits"], serde_json::json!(["memory"]), "{}", exits[0]);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn two_stages_of_a_pipeline_share_the_sessions_memory() {
    let (out, err, code) = run(LIMITS, "hog 40");
    assert_eq!((out.as_str(), err.as_str(), code), ("held 40M\n", "", 0), "one alone fits");
    let (_, err, _) = run(LIMITS, "hog 40 | hog 40");
    assert!(
        err.contains("cage: the session's memory limit (session_memory = 64M) killed a process"),
        "{err}"
    );
    let exits = exits_of(LIMITS, "hog 40 | hog 40");
    assert_eq!(exits.len(), 2, "{exits:?}");
    let killed = exits.iter().filter(|e| e["signal"].as_i64() == Some(9)).count();
    assert!(killed >= 1, "two together do not fit: one was killed: {exits:?}");
    assert!(exits.iter().all(|e| e["limits"] == serde_json::json!(["memory"])), "{exits:?}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_sessions_cgroups_hold_the_limits_while_it_runs_and_are_gone_after() {
    let out = sandbox(&format!(
        "{PROFILE}{LIMITS}\n{CGROUP}\nset +e\n\
         as_operator /usr/local/bin/cage -c 'sleeper | sleeper' & wait_session\n\
         echo \"PIDS=$(limit pids.max)\"\n\
         echo \"MEMORY=$(limit memory.max || limit memory.limit_in_bytes)\"\n\
         echo \"LEAVES=$(ls -d $cg/cage/$name/*/ | xargs -n1 basename | tr '\\n' ' ')\"\n\
         wait; echo \"STATUS=$?\"\n\
         echo \"AFTER=$(ls -d $cg/cage/$name /sys/fs/cgroup/*/cage/$name 2>/dev/null)\"\n"
    ));
    let stdout = text(&out.stdout);
    assert_eq!(value(&stdout, "PIDS"), "64", "{stdout} {}", text(&out.stderr));
    assert_eq!(value(&stdout, "MEMORY"), (64u64 << 20).to_string(), "{stdout}");
    assert_eq!(
        value(&stdout, "LEAVES"),
        "egress-local ",
        "both stages in the session's local leaf: {stdout}"
    );
    assert_eq!(value(&stdout, "STATUS"), "0", "{stdout}");
    assert_eq!(value(&stdout, "AFTER"), "", "nothing of the session is left: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_egress_filter_holds_in_the_sessions_cgroup_and_says_what_it_refused() {
    // perl's `die` exits with the errno; cage then says what the network policy refused.
    let (_, err, code) = run(LIMITS, "connect 198.18.0.1:80");
    let said = "connect: Operation not permitted\n\
                cage: the network policy (local) refused 1 connection to 198.18.0.1:80\n";
    assert_eq!((err.as_str(), code), (said, libc::EPERM), "another host");
    // The trail holds the refusal, tied to the line, as a denial.
    let out = sandbox(&format!(
        "{PROFILE}\nset +e\nas_operator /usr/local/bin/cage -c 'connect 198.18.0.1:80' 2>/dev/null\n\
         echo \"EGRESS=$(grep '\"event\":\"egress\"' /var/log/cage/audit.jsonl)\"\n"
    ));
    let stdout = text(&out.stdout);
    let record = value(&stdout, "EGRESS");
    for part in [
        r#""decision":"deny""#,
        r#""destination":"198.18.0.1:80""#,
        r#""connections":1"#,
        r#""network":"local""#,
        r#""title":"connect 198.18.0.1:80""#,
    ] {
        assert!(record.contains(part), "{part} in {record} ({})", text(&out.stderr));
    }
    let (_, err, code) = run(LIMITS, "connect 127.0.0.1:9");
    assert_eq!(
        (err.as_str(), code),
        ("connect: Connection refused\n", libc::ECONNREFUSED),
        "loopback passes"
    );
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_dead_sessions_cgroups_are_removed_by_reap() {
    // In a PID namespace of its own: sessions of other tests (each sweeps the dead sessions
    // of its namespace when it starts) leave this one's cgroups to reap. The monitor's
    // children go first, its guardian among them (which would otherwise clean up).
    let out = sandbox(&format!(
        "{PROFILE}{LIMITS}\nset +e\nunshare --pid --fork --mount-proc bash -s <<'INNER'\n{CGROUP}\n\
         setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c sleeper &\n\
         wait_session\n\
         pkill -KILL -P ${{name##*-}}; kill -KILL ${{name##*-}}; wait; sleep 0.3\n\
         echo \"LEFT=$(ls -d $cg/cage/$name 2>/dev/null)\"\n\
         cagectl reap 2>/dev/null\n\
         echo \"AFTER=$(ls -d $cg/cage/$name /sys/fs/cgroup/*/cage/$name 2>/dev/null)\"\nINNER\n"
    ));
    let stdout = text(&out.stdout);
    assert!(!value(&stdout, "LEFT").is_empty(), "a killed monitor leaves its cgroup: {stdout}");
    assert!(stdout.contains("removed (its session's monitor is gone)"), "{stdout} {}", text(&out.stderr));
    assert_eq!(value(&stdout, "AFTER"), "", "{stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn limits_that_cannot_be_applied_refuse_the_line() {
    // A host with no cgroup hierarchy at all (a tmpfs over /sys/fs/cgroup, in the sandbox's
    // own mount namespace): nothing can hold the limits.
    let hide = "mount -t tmpfs none /sys/fs/cgroup";
    let (out, err, code) = run(&format!("{LIMITS}\n{hide}"), "du -s /etc/cage/policies");
    assert_eq!((out.as_str(), code), ("", 126), "{err}");
    assert!(err.starts_with("cage: denied: the session's limits cannot be applied: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = sandbox(&format!(
        "{PROFILE}{LIMITS}\n{hide}\nset +e\nas_operator /usr/local/bin/cage -c 'du -s /etc/cage/policies' 2>/dev/null\n\
         grep -c '\"decision\":\"deny\"' /var/log/cage/audit.jsonl; grep -c '\"decision\":\"allow\"' /var/log/cage/audit.jsonl\n"
    ));
    assert_eq!(text(&out.stdout), "1\n0\n", "recorded as refused, never as allowed");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_cgroup_that_cannot_be_written_is_an_error_not_a_denial() {
    // The hierarchy is there but read-only (remounted so in the sandbox's own mount
    // namespace): the limits are not refused by a rule, cage failed to make the session's
    // cgroup. The operator reads cage's error, status 125, and the trail records the line as
    // not started with that error, neither as a denial nor as run.
    let readonly = format!("{CGROUP}mkdir -p $cg/cage && mount -o remount,bind,ro $cg");
    let (out, err, code) = run(&format!("{LIMITS}\n{readonly}"), "du -s /etc/cage/policies");
    assert_eq!((out.as_str(), code), ("", 125), "{err}");
    assert!(err.starts_with("cage: error: making the session's cgroup: "), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = sandbox(&format!(
        "{PROFILE}{LIMITS}\n{readonly}\nset +e\nas_operator /usr/local/bin/cage -c 'du -s /etc/cage/policies' 2>/dev/null\n\
         grep -c '\"decision\":\"deny\"' /var/log/cage/audit.jsonl\n\
         grep '\"event\":\"exit\"' /var/log/cage/audit.jsonl | grep '\"not_started\":true' | grep -c 'making the session'\n"
    ));
    assert_eq!(text(&out.stdout), "0\n1\n", "recorded as not started by an error: {}", text(&out.stderr));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_line_that_fails_to_start_and_to_be_recorded_says_both_in_one_line() {
    // Logged in first (the login is recorded), then the trail's own mount and the cgroup
    // hierarchy turn read-only: the line cannot start, nor can its records be written.
    let out = sandbox(&format!(
        "{PROFILE}{LIMITS}\n{CGROUP}mkdir -p $cg/cage\nset +e\n\
         mount -t tmpfs -o mode=0700 cage-audit /var/log/cage\n\
         {{ sleep 1.5; mount -o remount,ro /var/log/cage; mount -o remount,bind,ro $cg\n\
            echo 'du -s /etc/cage/policies'; sleep 1.5; echo exit; }} \
         | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null > /tmp/out 2>&1\n\
         grep '^cage: error' /tmp/out | tr -d '\\r'\n"
    ));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line for the line: {stdout} {}", text(&out.stderr));
    assert!(lines[0].starts_with("cage: error: making the session's cgroup: "), "{stdout}");
    assert!(lines[0].contains("; nor could the trail record it: audit unavailable ("), "{stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn full_access_commands_run_under_the_same_limits() {
    // A full-access command runs as root without a jail: the session's limits still hold.
    let setup = format!("grant --actions INFRA_FULL --duration 1h --req REQ-FULL\n{LIMITS}");
    let (out, err, code) = run(&setup, "cat /proc/self/cgroup");
    assert_eq!(code, 0, "{err}");
    let session = out.lines().find(|l| l.starts_with("0::")).unwrap_or_else(|| panic!("{out}"));
    assert!(session.contains("/cage/session-") && session.ends_with("/run"), "{out}");
    let name = session.split('/').find(|p| p.starts_with("session-")).expect("name");
    // Each limit is in cgroup v2 (the session directory above `run`) or in the v1
    // hierarchy of its controller.
    for controller in ["pids", "memory"] {
        let v1 = out.lines().find(|l| l.split(':').nth(1) == Some(controller));
        if let Some(v1) = v1.filter(|l| !l.ends_with(":/")) {
            assert!(v1.ends_with(&format!("/cage/{name}")), "{controller} in v1: {out}");
        }
    }
    let script = "for (1..100) { my $p = fork; if (defined $p && !$p) { sleep 3; exit } } print qq(done)";
    let setup = format!("{setup}\necho '{script}' > /tmp/forks.pl");
    let (out, err, code) = run(&setup, "perl /tmp/forks.pl");
    assert_eq!((out.as_str(), code), ("done", 0), "{err}");
    assert!(
        err.contains("cage: the session's process limit (pids = 64) refused a new process"),
        "{out} {err}"
    );
}
