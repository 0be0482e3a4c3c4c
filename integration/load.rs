//! The load and soak test (docs/assurance.md): 200 concurrent `cage -c` sessions of 50
//! commands each, four operators of 50 sessions, with one operator's grant revoked and
//! another's expiring while their sessions run. Afterwards every command has its records, no
//! record is torn or mixed with another, the chain verifies, nothing of any session is left
//! (processes, cgroups), and the monitors' memory stayed flat. Runs in the sandbox
//! (integration/session/sandbox.sh) against the installed setuid cage.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{sandbox, text, value};

/// Sessions per operator, and commands per session.
const SESSIONS: usize = 50;
const COMMANDS: usize = 50;
/// Each operator's role: run to the end, have the grant revoked, or have it expire.
const FINISH: [&str; 2] = ["loada", "loadb"];
const REVOKED: &str = "loadc";
const EXPIRED: &str = "loadd";
/// Seconds the expiring grant lasts: its sessions log in within it and last longer (`nap`).
const EXPIRES_IN: u64 = 15;
/// Resident memory no monitor may exceed, and the most one may grow between two samples.
const RSS_BOUND_KIB: u64 = 16 * 1024;
const RSS_GROWTH_KIB: u64 = 512;

/// Ten rounds of five commands: builtins, file commands and jailed aliases. The sessions that
/// end early rest in a jailed `nap` (2 s) once a round, so that their end lands mid-run
/// however fast the machine is; the others run without a pause.
fn line(paced: bool) -> String {
    let third = if paced { "nap" } else { "pwd" };
    let round = format!(
        "pwd; sudohead -n 1 /var/log/cage-test.log; {third}; sudotail -n 1 /var/log/cage-test.log; du -s /u01"
    );
    vec![round; COMMANDS / 5].join("; ")
}

/// The run. Prints `KEY=value` lines, the monitors' memory (`RSS1`/`RSS2 PID RSS ANON`),
/// `cagectl audit verify`'s report and the trail.
fn body() -> String {
    format!(
        r#"set +e
now_ms() {{ echo $(( $(date +%s%N) / 1000000 )); }}
t0=$(now_ms)
cat > /etc/cage/policies/TEST_LOAD.toml <<'P'
[layer.cps.alias.nap]
binary = "/usr/bin/sleep"
args = ["2"]
P
AUDIT=/var/log/cage/audit.jsonl
# Uids of their own: processes are looked for by uid across the host's other sandboxes.
uid=47100
for op in {ops}; do
  uid=$((uid + 1))
  useradd --uid $uid --no-create-home --home-dir /home/$op --shell /usr/local/bin/cage $op
  install -d -o $op -g $op -m 0700 /home/$op
done
logins() {{ grep -c '"event":"login"' $AUDIT 2>/dev/null || echo 0; }}
wait_logins() {{
  for _ in $(seq 1200); do [ "$(logins)" -ge $1 ] && return; sleep 0.05; done
  echo "LOGIN_TIMEOUT=$(logins) of $1"
}}
start() {{
  for _ in $(seq {SESSIONS}); do
    setpriv --reuid=$1 --regid=$1 --init-groups /usr/local/bin/cage -c "$2" </dev/null >/dev/null 2>>/tmp/err.$1 &
  done
}}
monitors() {{ grep '"event":"login"' $AUDIT | grep -o '"pid":[0-9]*' | cut -d: -f2; }}
# The samples are read with bash's builtins, so as not to load the host they measure.
rss() {{
  local p k v rest r a
  for p in $MONITORS; do
    r= a=
    while read -r k v rest; do case $k in VmRSS:) r=$v ;; RssAnon:) a=$v ;; esac; done 2>/dev/null </proc/$p/status
    [ -n "$r" ] && echo "$1 $p $r $a"
  done
}}
# A process is known by its pid and start time (pids are reused).
started() {{ local p st; for p in "$@"; do read -r -a st 2>/dev/null </proc/$p/stat && echo "$p:${{st[21]}}"; done; }}
alive() {{ local o; for o in "$@"; do [ "$(started ${{o%:*}})" = "$o" ] && echo ${{o%:*}}; done; }}
echo "STARTED_MS=$(( $(now_ms) - t0 ))"
cagectl grant --login {EXPIRED} --actions INFRA_DIAG,TEST_LOAD --duration {EXPIRES_IN}s --req REQ-LOAD-D >/dev/null
start {EXPIRED} '{paced}'
wait_logins {SESSIONS}
cagectl grant --login {REVOKED} --actions INFRA_DIAG,TEST_LOAD --duration 1h --req REQ-LOAD-C >/dev/null
for op in {finish}; do cagectl grant --login $op --actions INFRA_DIAG --duration 1h --req REQ-LOAD-$op >/dev/null; done
start {REVOKED} '{paced}'
for op in {finish}; do start $op '{full}'; done
wait_logins {all}
echo "LOGGED_IN_MS=$(( $(now_ms) - t0 ))"
MONITORS=$(monitors)
# The monitors and their children (the guardians, jails' inits, file commands).
OURS=$(started $MONITORS $(ps -e -o pid=,ppid= | awk -v m=" $(echo $MONITORS) " 'index(m, " " $2 " ") {{ print $1 }}'))
sleep 2; rss RSS1
sleep 3; rss RSS2
echo "EXPIRES=$(sed -n 's/^expires = "\(.*\)"/\1/p' /etc/cage/grants/{EXPIRED}.toml)"
echo "REVOKED_MS=$(( $(now_ms) - t0 ))"
SUDO_USER=sec cagectl revoke {REVOKED} --reason load-test >/dev/null
echo "REVOKED_AT=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
for _ in $(seq 1800); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done
echo "UNFINISHED=$(jobs -pr | wc -l)"
echo "SECONDS_RUN=$(( ($(now_ms) - t0) / 1000 ))"
sleep 0.5
echo "LEFT_PROCESSES=$( (pgrep -u {uids}; pgrep -U {uids}; alive $OURS) | sort -u | xargs)"
cgroup_root=$(awk '$3 == "cgroup2" {{ print $2 "/cage"; exit }}' /proc/mounts)
echo "CGROUPS=$(ls "$cgroup_root" 2>/dev/null | grep '^session-' | xargs)"
echo '--- errors'; cat /tmp/err.* | sort | uniq -c
echo "CHECKED_MS=$(( $(now_ms) - t0 ))"
echo '--- verify'; cagectl audit verify 2>&1; echo "VERIFY=$?"; echo "VERIFIED_MS=$(( $(now_ms) - t0 ))"
echo '--- trail'; cat $AUDIT
"#,
        ops = ["loada", "loadb", REVOKED, EXPIRED].join(" "),
        finish = FINISH.join(" "),
        uids = "47101,47102,47103,47104",
        all = SESSIONS * 4,
        paced = line(true),
        full = line(false),
    )
}

/// One session's records, in the trail's order.
#[derive(Default)]
struct Session {
    login: String,
    records: Vec<Value>,
}

impl Session {
    fn events(&self, event: &str) -> Vec<&Value> {
        self.records.iter().filter(|r| r["event"] == event).collect()
    }
}

/// Every line of the trail is one whole JSON object with the next `seq`; the sessions' records
/// by session (cagectl's own records, `grant` events, have session ids of their own: left out).
fn sessions(trail: &str) -> BTreeMap<String, Session> {
    let mut sessions = BTreeMap::<String, Session>::new();
    let mut seq = 0;
    for line in trail.lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a torn record ({e}): {line}"));
        assert!(record.is_object(), "not one record: {line}");
        seq += 1;
        assert_eq!(record["seq"].as_u64(), Some(seq), "missing or reordered record before: {line}");
        if let (Some(id), false) = (record["session"].as_str(), record["event"] == "grant") {
            let session = sessions.entry(id.to_string()).or_default();
            let login = record["loginid"].as_str().unwrap_or_default().to_string();
            assert!(session.login.is_empty() || session.login == login, "records mixed: {line}");
            session.login = login;
            session.records.push(record);
        }
    }
    sessions
}

/// A session's records are its login, then each command's `command` record followed by its
/// file records and its `exit`, then one logout; returns the commands and the logout's reason.
fn check_session(id: &str, session: &Session) -> (usize, String) {
    let events: Vec<&str> = session.records.iter().map(|r| r["event"].as_str().unwrap_or("?")).collect();
    let describe = || format!("session {id} of {}: {events:?}", session.login);
    assert_eq!(events.first(), Some(&"login"), "{}", describe());
    assert_eq!(events.last(), Some(&"logout"), "nothing after the logout: {}", describe());
    let mut open = false;
    for event in &events[1..events.len() - 1] {
        match *event {
            "command" if !open => open = true,
            "file" if open => {}
            "exit" if open => open = false,
            _ => panic!("out of order at {event}: {}", describe()),
        }
    }
    assert!(!open, "a command without its exit: {}", describe());
    for command in session.events("command") {
        assert_eq!(command["decision"], "allow", "{command}");
    }
    let reason = session.events("logout")[0]["reason"].as_str().unwrap_or("?").to_string();
    (session.events("command").len(), reason)
}

/// Seconds since the epoch of a timestamp (a record's `ts`).
fn ts(value: &str) -> f64 {
    let t = cage::time::Timestamp::parse_rfc3339(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    t.unix_secs() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

/// The sessions whose grant ended (at `end`, seconds) started nothing once the end was plain
/// to see (`SLACK` on: a pipeline checks the grant just before its `command` record), and all
/// ended: reports how long after the end their last commands were killed and their logouts
/// written.
fn check_end(login: &str, end: f64, sessions: &BTreeMap<String, Session>) {
    const SLACK: f64 = 1.0;
    const LOGOUT_BOUND: f64 = 10.0;
    let (mut killed, mut logout, mut started) = (f64::MIN, f64::MIN, 0);
    for session in sessions.values().filter(|s| s.login == login) {
        let at = |r: &Value| ts(r["ts"].as_str().unwrap_or_default()) - end;
        for command in session.events("command").into_iter().filter(|c| at(c) > 0.0) {
            assert!(at(command) <= SLACK, "{login}: started {:.3} s after the end: {command}", at(command));
            started += 1;
        }
        killed = session.events("exit").last().map_or(killed, |e| killed.max(at(e)));
        logout = logout.max(at(session.events("logout")[0]));
    }
    assert!(logout <= LOGOUT_BOUND, "{login}: a session ended {logout:.3} s after its grant");
    eprintln!(
        "{login}: {started} commands recorded after the end; last command over {killed:.3} s, last logout {logout:.3} s after it"
    );
}

/// VmRSS and RssAnon by monitor from the `TAG PID RSS ANON` lines (a monitor that ended
/// while it was read is left out).
fn samples(stdout: &str, tag: &str) -> BTreeMap<u32, (u64, u64)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
        .filter_map(|l| match l.split_whitespace().map(str::parse).collect::<Result<Vec<u64>, _>>() {
            Ok(n) if n.len() == 3 => Some((n[0] as u32, (n[1], n[2]))),
            _ => None,
        })
        .collect()
}

/// The monitors' memory: under the bound, and flat between the two samples.
fn check_memory(before: &str) {
    let (first, second) = (samples(before, "RSS1"), samples(before, "RSS2"));
    assert!(first.len() >= SESSIONS, "too few monitors sampled: {before}");
    for (pid, (rss, _)) in first.iter().chain(&second) {
        assert!(*rss <= RSS_BOUND_KIB, "monitor {pid} holds {rss} KiB");
    }
    for (pid, (rss, _)) in &second {
        if let Some((was, _)) = first.get(pid) {
            assert!(*rss <= was + RSS_GROWTH_KIB, "monitor {pid} grew from {was} to {rss} KiB");
        }
    }
    let mean = |s: &BTreeMap<u32, (u64, u64)>, f: fn(&(u64, u64)) -> u64| {
        s.values().map(f).sum::<u64>() / s.len().max(1) as u64
    };
    eprintln!(
        "monitors: {} sampled, mean VmRSS {} KiB (anonymous {} KiB), max {} KiB; {} sampled again {} KiB",
        first.len(),
        mean(&first, |s| s.0),
        mean(&first, |s| s.1),
        first.values().map(|s| s.0).max().unwrap_or(0),
        second.len(),
        mean(&second, |s| s.0),
    );
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn two_hundred_sessions_of_fifty_commands_with_a_revocation_and_an_expiry() {
    let started = std::time::Instant::now();
    let out = sandbox(&body());
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let (before, rest) = stdout.split_once("--- errors\n").unwrap_or_else(|| panic!("{stdout} {stderr}"));
    let (errors, rest) = rest.split_once("--- verify\n").expect("verify");
    let (verify, trail) = rest.split_once("--- trail\n").expect("trail");
    eprintln!("{before}--- errors\n{errors}--- verify\n{verify}");
    assert!(!before.contains("LOGIN_TIMEOUT"), "the sessions did not all log in: {before} {errors}");
    assert_eq!(value(before, "UNFINISHED"), "0", "sessions still running: {before}");
    assert!(verify.contains("VERIFY=0"), "the chain does not verify: {verify}");

    let sessions = sessions(trail);
    let mut by_login = BTreeMap::<&str, Vec<(usize, String)>>::new();
    for (id, session) in &sessions {
        by_login.entry(session.login.as_str()).or_default().push(check_session(id, session));
    }
    for login in FINISH.iter().chain([&REVOKED, &EXPIRED]) {
        let runs = by_login.get(login).map_or(0, Vec::len);
        assert_eq!(runs, SESSIONS, "{login} logged in {runs} times: {before} {errors}");
    }
    assert_eq!(by_login.len(), 4, "sessions of someone else: {:?}", by_login.keys());
    for login in FINISH {
        for (commands, reason) in &by_login[login] {
            assert_eq!((*commands, reason.as_str()), (COMMANDS, "exit"), "{login}: {errors}");
        }
    }
    // The sessions that ran to the end: every command succeeded.
    for session in sessions.values().filter(|s| FINISH.contains(&s.login.as_str())) {
        for exit in session.events("exit") {
            assert_eq!(exit["status"], 0, "{exit}");
        }
    }
    for (login, why) in [(REVOKED, "revoked"), (EXPIRED, "expired")] {
        for (commands, reason) in &by_login[login] {
            assert_eq!(reason, why, "{login}: {errors}");
            // It ended mid-run: some of the line ran, not all of it.
            assert!((1..COMMANDS).contains(commands), "{login}: {commands} commands");
        }
    }
    check_end(REVOKED, ts(value(before, "REVOKED_AT")), &sessions);
    check_end(EXPIRED, ts(value(before, "EXPIRES")), &sessions);

    assert_eq!(value(before, "LEFT_PROCESSES"), "", "processes of the sessions are left");
    let cgroups = value(before, "CGROUPS");
    let left: Vec<&str> =
        cgroups.split_whitespace().filter(|c| sessions.keys().any(|id| c.contains(id.as_str()))).collect();
    assert!(left.is_empty(), "session cgroups are left: {left:?}");
    check_memory(before);
    eprintln!("{} s in all", started.elapsed().as_secs());
}
