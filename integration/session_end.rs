//! Root tests of the session's end (docs/lifecycle.md): whatever the running command does
//! (window changes, output and keys on a terminal, execs, a nested `su` session), a revoked
//! grant, an expired one and an expired SSH certificate end the session and everything it
//! started within 1.5 s; SIGKILL of the monitor leaves nothing of the session running; the
//! monitor's memory does not grow with the operator's input. Each case runs in the sandbox
//! (integration/session/sandbox.sh) against the installed setuid cage.

mod support;

use support::{sandbox, text, value};

/// Actions, fixtures and helpers every case shares. TEST_END adds a terminal alias that prints
/// every 100 ms (`top`), a quieter one and `wc` for pipelines; INFRA_CPS_ONLY brings
/// `rootexec /root/blackout.sh` (here a loop), INFRA_DIAG `sudotail`, `journalctl` and
/// `su - ecra`.
const SETUP: &str = r#"
set +e
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
ACTIONS=INFRA_DIAG,INFRA_CPS_ONLY,TEST_END
useradd --create-home --home-dir /home/ecra ecra
# The script's background child, by a name no other test's has.
MARK=$(( 100000 + $$ % 100000 ))
mount -t tmpfs -o mode=0700 cage-test-root /root
printf '#!/bin/sh\n%s\n' "$SCRIPT" > /root/blackout.sh; chmod 0755 /root/blackout.sh
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
monitor_pid() {
  for _ in $(seq 100); do
    p=$(grep -o '"event":"login"[^}]*' /var/log/cage/audit.jsonl 2>/dev/null | grep -o '"pid":[0-9]*' | head -1 | cut -d: -f2)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.05
  done
}
session_id() { grep -o '"session":"[0-9a-f]*"' /var/log/cage/audit.jsonl | head -1 | cut -d'"' -f4; }
descendants() { for c in $(pgrep -P $1); do echo $c; descendants $c; done; }
cgroup_root=$(awk '$3 == "cgroup2" { print $2 "/cage"; exit }' /proc/mounts)
# What is left of the session: its processes (as they were before the end, and by marker)
# and its cgroup.
leftovers() {
  left=0
  # A zombie has ended: only its reaping (by init, the new parent) is left.
  for p in $TREE; do
    state=$(awk '{ print $3 }' /proc/$p/stat 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ] && { left=$((left + 1)); ps -o pid,user,stat,args -p $p; }
  done
  pgrep -f "^sleep $MARK\$" >/dev/null && { left=$((left + 1)); echo "the script's child survived"; }
  ls -d "$cgroup_root"/session-"$SID"-* 2>/dev/null && left=$((left + 1))
  echo "LEFT=$left"
}
"#;

/// How the grant ends: revoked by hand, by its expiry, or by the certificate's.
#[derive(Clone, Copy)]
enum Ending {
    Revoke,
    Expire,
    Certificate,
}

impl Ending {
    /// Shell that makes the grant (and certificate) and sets `END` (ms since the epoch, when
    /// the grant ends; for a revocation, set when it is written) and `RUN` (how cage starts).
    fn setup(self) -> &'static str {
        match self {
            Ending::Revoke => {
                "grant --actions $ACTIONS --duration 1h --req REQ-END\nRUN=/usr/local/bin/cage\n\
                 end_grant() { END=$(now_ms); SUDO_USER=sec cagectl revoke optest --reason test >/dev/null; }\n"
            }
            Ending::Expire => {
                "grant --actions $ACTIONS --duration 6s --req REQ-END\n\
                 END=$(( $(date -d \"$(sed -n 's/^expires = \"\\(.*\\)\"/\\1/p' /etc/cage/grants/optest.toml)\" +%s) * 1000 ))\n\
                 RUN=/usr/local/bin/cage\nend_grant() { while [ $(now_ms) -lt $END ]; do sleep 0.05; done; }\n"
            }
            Ending::Certificate => {
                "grant --actions $ACTIONS --duration 1h --req REQ-END\n\
                 ssh-keygen -q -t ed25519 -N '' -f /tmp/ca; ssh-keygen -q -t ed25519 -N '' -f /tmp/op\n\
                 ssh-keygen -q -s /tmp/ca -I REQ-END -n optest -V +6s -O extension:cage-actions@cage=$ACTIONS /tmp/op.pub\n\
                 END=$(( $(date -d \"$(ssh-keygen -L -f /tmp/op-cert.pub | sed -n 's/.*Valid: from [^ ]* to //p')\" +%s) * 1000 ))\n\
                 printf 'publickey %s\\n' \"$(cut -d' ' -f1,2 /tmp/op-cert.pub)\" > /tmp/auth; chown optest /tmp/auth\n\
                 RUN='env SSH_USER_AUTH=/tmp/auth /usr/local/bin/cage'\n\
                 end_grant() { while [ $(now_ms) -lt $END ]; do sleep 0.05; done; }\n"
            }
        }
    }
}

/// What keeps the monitor busy while the grant ends.
#[derive(Clone, Copy)]
enum Busy {
    /// `sudotail -f` while the window changes every 0.2 s.
    WindowChanges,
    /// A terminal alias printing every 100 ms while keys are typed every 100 ms.
    TerminalTraffic,
    /// A root script that execs every 0.3 s.
    Execs,
    /// A nested `su` session running `sudotail -f`.
    NestedSu,
}

impl Busy {
    fn start(self) -> &'static str {
        match self {
            Busy::WindowChanges => {
                "as_operator $RUN -c 'sudotail -f /var/log/cage-test.log' >/dev/null 2>/tmp/err &\n\
                 pid=$(monitor_pid)\n\
                 ( while kill -WINCH $pid 2>/dev/null; do sleep 0.2; done ) &\n"
            }
            Busy::TerminalTraffic => {
                "( while :; do printf x; sleep 0.1; done ) | script -qfc \"setpriv --reuid=optest --regid=optest --init-groups $RUN -c ticker\" /dev/null >/tmp/err 2>&1 &\n\
                 pid=$(monitor_pid)\n"
            }
            Busy::Execs => {
                "as_operator $RUN -c \"rootexec /root/blackout.sh $MARK\" >/dev/null 2>/tmp/err &\n\
                 pid=$(monitor_pid)\n"
            }
            Busy::NestedSu => {
                "{ sleep 1; echo 'su - ecra'; sleep 1; echo 'sudotail -f /var/log/cage-test.log'; \
                 for _ in $(seq 300); do [ -e /tmp/over ] && break; sleep 0.1; done; } \
                 | script -qfc \"setpriv --reuid=optest --regid=optest --init-groups $RUN\" /dev/null >/tmp/err 2>&1 &\n\
                 pid=$(monitor_pid)\n"
            }
        }
    }
}

/// The loop of the `Execs` case (and a child it leaves in the background, found by name).
const SCRIPT: &str = "sleep \"$1\" & while :; do /bin/true; sleep 0.3; done";

/// Runs `busy` until the grant ends by `ending`; returns the sandbox's stdout.
fn end_while(busy: Busy, ending: Ending) -> String {
    let body = format!(
        "SCRIPT='{SCRIPT}'\n{SETUP}\n{}\n{}\n\
         sleep 2.5; TREE=$(descendants $pid); SID=$(session_id)\n\
         echo \"TREE=$(echo $TREE | wc -w)\"\n\
         end_grant\n\
         while kill -0 $pid 2>/dev/null && [ $(( $(now_ms) - END )) -lt 10000 ]; do sleep 0.02; done\n\
         echo \"MS=$(( $(now_ms) - END ))\"\n\
         sleep 0.2; leftovers\n\
         echo '--- err'; cat -v /tmp/err; echo '--- trail'; cat /var/log/cage/audit.jsonl\n\
         touch /tmp/over; kill $(jobs -p) 2>/dev/null\n",
        ending.setup(),
        busy.start()
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    assert!(!stdout.is_empty(), "{}", text(&out.stderr));
    stdout
}

fn assert_ended(busy: Busy, ending: Ending, reason: &str) {
    let stdout = end_while(busy, ending);
    let tree: u32 = value(&stdout, "TREE").parse().expect("tree");
    assert!(tree >= 2, "the session was running something: {stdout}");
    let ms: i64 = value(&stdout, "MS").parse().expect("ms");
    assert!(ms <= 1500, "the session ended {ms} ms after its grant: {stdout}");
    assert_eq!(value(&stdout, "LEFT"), "0", "nothing of the session is left: {stdout}");
    let (_, trail) = stdout.split_once("--- trail\n").expect("trail");
    let logout = trail.lines().find(|l| l.contains("\"event\":\"logout\"") && !l.contains("su_user\":\""));
    let logout = logout.unwrap_or_else(|| panic!("no logout record: {stdout}"));
    assert!(logout.contains(&format!("\"reason\":\"{reason}\"")), "{logout}");
    assert!(stdout.contains("session ended"), "the operator is told: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_ends_sudotail_under_window_changes() {
    assert_ended(Busy::WindowChanges, Ending::Revoke, "revoked");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_ends_a_terminal_alias_with_output_and_keys() {
    assert_ended(Busy::TerminalTraffic, Ending::Revoke, "revoked");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_ends_a_script_that_execs_and_its_background_child() {
    assert_ended(Busy::Execs, Ending::Revoke, "revoked");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revocation_ends_a_nested_su_session() {
    assert_ended(Busy::NestedSu, Ending::Revoke, "revoked");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_ends_sudotail_under_window_changes() {
    assert_ended(Busy::WindowChanges, Ending::Expire, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_ends_a_terminal_alias_with_output_and_keys() {
    assert_ended(Busy::TerminalTraffic, Ending::Expire, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_ends_a_script_that_execs_and_its_background_child() {
    assert_ended(Busy::Execs, Ending::Expire, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn expiry_ends_a_nested_su_session() {
    assert_ended(Busy::NestedSu, Ending::Expire, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_certificates_end_ends_sudotail_under_window_changes() {
    assert_ended(Busy::WindowChanges, Ending::Certificate, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_certificates_end_ends_a_terminal_alias_with_output_and_keys() {
    assert_ended(Busy::TerminalTraffic, Ending::Certificate, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_certificates_end_ends_a_script_that_execs_and_its_background_child() {
    assert_ended(Busy::Execs, Ending::Certificate, "expired");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_certificates_end_ends_a_nested_su_session() {
    assert_ended(Busy::NestedSu, Ending::Certificate, "expired");
}

/// Starts `line` through `cage -c`, kills the monitor with SIGKILL once it runs, and reports
/// what is left one second later.
fn kill_monitor_during(line: &str) -> String {
    let body = format!(
        "SCRIPT='{SCRIPT}'\n{SETUP}\ngrant --actions $ACTIONS --duration 1h --req REQ-KILL\n\
         as_operator /usr/local/bin/cage -c \"{line}\" >/dev/null 2>&1 </dev/null &\n\
         pid=$(monitor_pid); sleep 2; TREE=$(descendants $pid); SID=$(session_id)\n\
         echo \"TREE=$(echo $TREE | wc -w)\"\n\
         kill -KILL $pid; sleep 1\n\
         leftovers\n\
         echo \"SESSIONS=$(cagectl sessions --json)\"\n\
         echo '--- trail'; cat /var/log/cage/audit.jsonl\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let tree: u32 = value(&stdout, "TREE").parse().unwrap_or_else(|_| panic!("{stdout}"));
    assert!(tree >= 1, "the session was running something: {stdout} {}", text(&out.stderr));
    assert_eq!(value(&stdout, "LEFT"), "0", "nothing of the session is left: {stdout}");
    let sessions = value(&stdout, "SESSIONS");
    assert!(!sessions.contains("REQ-KILL"), "cagectl sessions lists a dead session: {sessions}");
    let (_, trail) = stdout.split_once("--- trail\n").expect("trail");
    let logout = trail.lines().find(|l| l.contains("\"event\":\"logout\""));
    let logout = logout.unwrap_or_else(|| panic!("the guardian recorded no end: {stdout}"));
    assert!(logout.contains("\"reason\":\"killed\"") && logout.contains("monitor died"), "{logout}");
    stdout
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_ends_a_jailed_command() {
    kill_monitor_during("ticks");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_ends_a_root_script_and_its_background_child() {
    kill_monitor_during("rootexec /root/blackout.sh $MARK");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_ends_every_stage_of_a_pipeline() {
    kill_monitor_during("ticks | count");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_monitor_ends_a_file_command() {
    kill_monitor_during("sudotail -f /var/log/cage-test.log");
}

/// The guardian can see the grant's end and kill the session's jails a moment before the
/// monitor does (seen on a busy host: the trail said `exit`): the monitor, finding its
/// command killed, still ends the session as expired. Here the test does what the guardian
/// does (`cgroup.kill` on the session) right after the expiry.
#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_command_the_guardian_killed_at_expiry_ends_the_session_as_expired() {
    let body = format!(
        "SCRIPT='{SCRIPT}'\n{SETUP}\n{}\n{}\n\
         sleep 1; SID=$(session_id); end_grant\n\
         echo 1 > $(ls -d \"$cgroup_root\"/session-\"$SID\"-*)/cgroup.kill\n\
         for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done\n\
         echo '--- trail'; cat /var/log/cage/audit.jsonl\n",
        Ending::Expire.setup(),
        Busy::Execs.start()
    );
    let stdout = text(&sandbox(&body).stdout);
    let (_, trail) = stdout.split_once("--- trail\n").unwrap_or_else(|| panic!("{stdout}"));
    let logout = trail.lines().find(|l| l.contains("\"event\":\"logout\""));
    let logout = logout.unwrap_or_else(|| panic!("no logout record: {stdout}"));
    assert!(logout.contains("\"reason\":\"expired\""), "{logout}");
}

/// A hang-up that arrives while a stage runs (here with the monitor held stopped meanwhile)
/// ends the session before the line's next pipeline. The monitor also looks for a hang-up
/// before every pipeline, for one that comes just as a stage ends (the recorder hangs up the
/// session when its recording fails: seen under load, where `pwd` then ran).
#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_hang_up_as_a_stage_ends_runs_nothing_more_of_the_line() {
    let body = format!(
        "SCRIPT=true\n{SETUP}\n{}\n\
         as_operator $RUN -c 'ticks -n 3; pwd' > /dev/null 2>&1 &\n\
         pid=$(monitor_pid); sleep 0.6; kill -STOP $pid; sleep 1.5; kill -HUP $pid; kill -CONT $pid\n\
         for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done\n\
         echo '--- trail'; cat /var/log/cage/audit.jsonl\n",
        Ending::Revoke.setup()
    );
    let stdout = text(&sandbox(&body).stdout);
    let (_, trail) = stdout.split_once("--- trail\n").unwrap_or_else(|| panic!("{stdout}"));
    assert!(trail.contains("\"title\":\"ticks -n 3; pwd\""), "the line ran: {trail}");
    assert!(
        !trail.lines().any(|l| l.contains("\"event\":\"command\"") && l.contains("\"argv\":[\"pwd\"]")),
        "pwd ran after the hang-up: {trail}"
    );
    let logout =
        trail.lines().find(|l| l.contains("\"event\":\"logout\"")).unwrap_or_else(|| panic!("{trail}"));
    assert!(logout.contains("\"reason\":\"killed\""), "{logout}");
}

/// A SIGTERM to the monitor's process group (what `timeout` sends, or an admin's
/// `kill -TERM -PGID`) reaches the guardian too, and is not the monitor's death: the monitor
/// alone ends the session, once, and has nothing to complain of (the guardian used to kill
/// and remove the cgroup under it and record a second logout, "the monitor died").
#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_sigterm_to_the_sessions_process_group_ends_it_once() {
    let body = format!(
        "SCRIPT=true\n{SETUP}\n{}\n\
         timeout 2 setpriv --reuid=optest --regid=optest --init-groups $RUN -c ticks </dev/null >/dev/null 2>/tmp/err\n\
         echo \"STATUS=$?\"; sleep 1.5; SID=$(session_id)\n\
         echo \"CGROUPS=$(ls -d \"$cgroup_root\"/session-\"$SID\"-* 2>/dev/null | wc -l)\"\n\
         echo '--- err'; cat -v /tmp/err; echo '--- trail'; cat /var/log/cage/audit.jsonl\n",
        Ending::Revoke.setup()
    );
    let stdout = text(&sandbox(&body).stdout);
    assert_eq!(value(&stdout, "STATUS"), "124", "timeout ended it: {stdout}");
    assert_eq!(value(&stdout, "CGROUPS"), "0", "the session's cgroup is removed: {stdout}");
    let (err, trail) =
        stdout.split_once("--- err\n").expect("err").1.split_once("--- trail\n").expect("trail");
    assert!(err.contains("cage: session ended"), "the operator is told: {err}");
    assert!(!err.contains("ending the session's processes"), "the end failed: {err}");
    let logouts: Vec<_> = trail.lines().filter(|l| l.contains("\"event\":\"logout\"")).collect();
    assert_eq!(logouts.len(), 1, "one end, recorded once: {logouts:#?}");
    assert!(!logouts[0].contains("monitor died"), "the monitor lived: {}", logouts[0]);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_monitors_memory_stays_flat_under_100000_lines() {
    // `ssh -T` with a stream of lines: sshd starts the login shell (`-cage`) with no terminal,
    // and the REPL reads the lines as they come. Each line is 256 bytes, so a history without
    // a bound would grow the monitor by megabytes.
    let body = r#"set +e
grant --actions INFRA_DIAG --duration 1h --req REQ-RSS
rss() { awk '/^VmRSS/ { print $2 }' /proc/$1/status; }
exits() { grep -c '"event":"exit"' /var/log/cage/audit.jsonl; }
mkfifo /tmp/in; exec 3<>/tmp/in
as_operator bash -c 'exec -a -cage /usr/local/bin/cage' < /tmp/in > /dev/null 2>/tmp/err &
for _ in $(seq 100); do
  pid=$(grep '"event":"login"' /var/log/cage/audit.jsonl 2>/dev/null | grep -o '"pid":[0-9]*' | cut -d: -f2)
  [ -n "$pid" ] && break; sleep 0.05
done
line="pwd$(printf '%253s' '')"
batch() {
  yes "$line" | head -n 20000 >&3
  for _ in $(seq 3000); do [ $(exits) -ge $1 ] && return; sleep 0.1; done
  echo "TIMEOUT at $(exits) of $1"
}
batch 20000; echo "RSS20K=$(rss $pid)"
batch 40000; batch 60000; batch 80000; batch 100000; echo "RSS100K=$(rss $pid)"
echo 'sudohead -n 1 /var/log/cage-test.log' >&3; echo exit >&3
wait $!; echo "STATUS=$?"; cat /tmp/err
grep '"argv":\["sudohead"' /var/log/cage/audit.jsonl | grep -c '"event":"command"' | sed 's/^/ANSWERED=/'
"#;
    let out = sandbox(body);
    let stdout = text(&out.stdout);
    let kib =
        |key: &str| -> u64 { value(&stdout, key).parse().unwrap_or_else(|_| panic!("{key}: {stdout}")) };
    let (at_20k, at_100k) = (kib("RSS20K"), kib("RSS100K"));
    assert!(at_100k <= at_20k + 512, "the monitor grew from {at_20k} to {at_100k} KiB: {stdout}");
    assert_eq!(value(&stdout, "STATUS"), "0", "{stdout}");
    assert_eq!(value(&stdout, "ANSWERED"), "1", "the session still answers: {stdout}");
}
