//! Root tests of the login shell as installed: setuid cage, /etc/cage, a real operator
//! account and grant, in a private mount namespace per test (integration/session/sandbox.sh).
//! Each test's body is a shell snippet run there; the assertions are on what the operator sees.

mod support;

use support::{sandbox, text, TEST_BLOCK};

/// Runs one line through `cage -c` as the operator; prints `EXIT=N` after its output.
fn run_line(setup: &str, line: &str) -> (String, String, i32) {
    let quoted = line.replace('\'', "'\\''");
    let out = sandbox(&format!(
        "{setup}\nset +e\nas_operator /usr/local/bin/cage -c '{quoted}'\necho \"EXIT=$?\"\n"
    ));
    let stdout = text(&out.stdout);
    let (body, code) = stdout
        .rsplit_once("EXIT=")
        .unwrap_or_else(|| panic!("no exit status: {stdout} {}", text(&out.stderr)));
    (body.to_string(), text(&out.stderr), code.trim().parse().expect("status"))
}

const DIAG: &str = "grant --actions INFRA_DIAG --duration 1h --req REQ-42";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_sandbox_leaves_no_mount_point_in_the_hosts_run() {
    let out = sandbox("echo \"SCRATCH=$overlay_scratch\"\n");
    let stdout = text(&out.stdout);
    let scratch = stdout.lines().find_map(|l| l.strip_prefix("SCRATCH=")).unwrap_or_default();
    assert!(scratch.starts_with("/run/cage-private."), "{stdout} {}", text(&out.stderr));
    assert!(!std::path::Path::new(scratch).exists(), "{scratch} stayed on the host");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_allowed_file_command_runs_as_root_for_a_0600_file() {
    let (out, err, code) = run_line(DIAG, "sudocat /var/log/cage-test.log");
    assert_eq!((code, out.as_str()), (0, "first line\nsecond line\n"), "{err}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn refused_and_unknown_commands_exit_126_and_127_with_one_line() {
    let (_, err, code) = run_line(DIAG, "sudocat /etc/shadow");
    assert_eq!(code, 126);
    assert_eq!(err, "cage: denied: `/etc/shadow` holds secrets and is never reachable\n");
    let (_, err, code) = run_line(DIAG, "bash");
    assert_eq!((code, err.as_str()), (127, "cage: unknown command: bash\n"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn shell_syntax_is_refused_before_anything_runs() {
    let (out, err, code) = run_line(DIAG, "sudocat /var/log/cage-test.log; echo $(id)");
    assert_eq!(code, 126);
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(err.contains("^\ncage: denied: '$' is not allowed"), "{err}");
    let (out, _, code) = run_line(DIAG, "sudocat /var/log/cage-test.log; /bin/sh");
    assert_ne!(code, 0);
    assert!(out.is_empty(), "the first command did not run either: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn pipelines_redirections_and_connectors_work() {
    let line =
        "sudotail -n 1 /var/log/cage-test.log > /u01/last && sudocat /u01/last || sudocat /var/log/missing";
    let (out, err, code) = run_line(DIAG, line);
    assert_eq!((code, out.as_str()), (0, "second line\n"), "{err}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_applet_symlink_behaves_like_cage_c() {
    let out = sandbox(&format!("{DIAG}\nas_operator /usr/local/bin/sudohead -n 1 /var/log/cage-test.log\n"));
    assert_eq!(text(&out.stdout), "first line\n", "{}", text(&out.stderr));
}

fn refused_login(setup: &str) -> String {
    let (out, err, code) = run_line(setup, "sudocat /var/log/cage-test.log");
    assert_eq!(code, 1, "login refused with status 1: {err}");
    assert!(out.is_empty(), "nothing ran");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_login_without_a_valid_grant_is_refused_with_one_line() {
    assert_eq!(refused_login(":"), "cage: login refused: no grant for optest\n");
    let expired = "grant_file approved \"$(stamp '-2 hours')\" \"$(stamp '-1 hour')\"";
    assert!(refused_login(expired).contains("expired"));
    let future = "grant_file approved \"$(stamp '+1 hour')\" \"$(stamp '+2 hours')\"";
    assert!(refused_login(future).contains("not valid"), "not yet valid");
    let writable = format!("{DIAG}\nchmod 0666 /etc/cage/grants/optest.toml");
    assert!(refused_login(&writable).contains("writable by group or others"));
    let broken = format!("{DIAG}\necho 'bogus = 1' >> /etc/cage/policies/INFRA_DIAG.toml");
    assert!(refused_login(&broken).contains("policy has 1 error(s)"));
    let revoked = "grant_file revoked \"$(stamp '-1 hour')\" \"$(stamp '+1 hour')\" 'revoked_by = \"sec\"\nrevoked_at = \"2026-01-01T00:00:00Z\"\n'";
    assert!(refused_login(revoked).contains("revoked"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn unknown_options_are_refused() {
    let out = sandbox(&format!("{DIAG}\nset +e\nas_operator /usr/local/bin/cage -i; echo \"EXIT=$?\""));
    assert!(text(&out.stderr).starts_with("cage: `-i` is not accepted"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("EXIT=2"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn revoking_the_grant_ends_a_running_command_within_a_second() {
    let body = format!(
        "{TEST_BLOCK}grant --actions INFRA_DIAG,TEST_BLOCK --duration 1h --req REQ-42\nset +e\n\
         as_operator /usr/local/bin/cage -c block >/dev/null 2>/tmp/err &\n\
         pid=$!; sleep 1.5\n\
         descendants() {{ for c in $(pgrep -P $1); do echo $c; descendants $c; done; }}\n\
         tree=$(descendants $pid); echo \"TREE=$(echo $tree | wc -w)\"\n\
         grant_file revoked \"$(stamp '-1 hour')\" \"$(stamp '+1 hour')\" 'revoked_by = \"sec\"\nrevoked_at = \"2026-01-01T00:00:00Z\"\n'\n\
         start=$(date +%s%N); wait $pid; end=$(date +%s%N)\n\
         echo \"MS=$(( (end - start) / 1000000 ))\"; cat /tmp/err\n\
         left=0; for p in $tree; do kill -0 $p 2>/dev/null && left=$((left + 1)); done\n\
         [ $left -eq 0 ] && echo CLEAN || echo LEFTOVER\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let ms: u64 = stdout
        .split("MS=")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|v| v.parse().ok())
        .expect("timing");
    assert!(ms <= 1500, "ended {ms} ms after the revocation: {stdout}");
    assert!(stdout.contains("session ended") && stdout.contains("revoked"), "{stdout}");
    let tree: u32 = stdout
        .split("TREE=")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|v| v.parse().ok())
        .expect("tree");
    assert!(tree >= 2, "the session had its monitor's children running (jail init, command): {stdout}");
    assert!(stdout.contains("CLEAN"), "no process of the session is left: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_repl_child_has_no_capabilities_and_cannot_exec() {
    // Waits for the REPL's child (every uid the operator's) to exist: under load the session
    // takes a while to start.
    let body = format!(
        "{DIAG}\n\
         (sleep 5; echo exit) | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null >/dev/null &\n\
         repl() {{ for pid in $(pgrep -x cage); do awk '/^Uid:/ {{ exit !($2 == $3 && $2 != 0) }}' /proc/$pid/status && return; done; return 1; }}\n\
         for i in $(seq 60); do repl && break; sleep 0.1; done\n\
         for pid in $(pgrep -x cage); do grep -E '^(Uid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$pid/status | tr '\\n' ' '; echo; done\n\
         wait\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let repl =
        stdout.lines().find(|l| !l.contains("\t0\t0\t0")).unwrap_or_else(|| panic!("no REPL line: {stdout}"));
    for expected in [
        "CapPrm:\t0000000000000000",
        "CapEff:\t0000000000000000",
        "CapBnd:\t0000000000000000",
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
    ] {
        assert!(repl.contains(expected), "REPL {expected}: {repl}");
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_idle_session_ends_when_the_grant_expires() {
    let body = "grant --actions INFRA_DIAG --duration 3s --req REQ-SHORT\n\
         set +e\n\
         start=$(date +%s)\n\
         (sleep 5; echo exit) | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage; date +%s > /tmp/end' /dev/null > /tmp/out 2>&1\n\
         echo \"S=$(( $(cat /tmp/end) - start ))\"; cat -v /tmp/out\n";
    let out = sandbox(body);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("session ended") && stdout.contains("expired"), "{stdout}");
    let seconds: u64 =
        stdout.split("S=").nth(1).and_then(|r| r.lines().next()).and_then(|v| v.parse().ok()).expect("time");
    assert!(seconds <= 5, "ended after {seconds}s, not at the 3s expiry");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_file_command_reads_with_only_dac_read_search_and_no_new_privs() {
    let body = format!(
        "{DIAG}\n\
         truncate -s 50G /var/log/cage-huge.log\n\
         setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'sudocat /var/log/cage-huge.log' >/dev/null 2>&1 &\n\
         session=$!\n\
         reader() {{ for pid in $(pgrep -P $session); do grep -q session- /proc/$pid/cgroup && echo $pid; done; }}\n\
         for _ in $(seq 50); do [ -n \"$(reader)\" ] && break; sleep 0.1; done\n\
         for pid in $(reader); do grep -E '^(CapPrm|CapEff|CapBnd|CapInh|NoNewPrivs):' /proc/$pid/status | tr '\\n' ' '; done\n\
         echo; kill $session; wait\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let dac_read_search = "0000000000000004";
    for expected in [
        format!("CapPrm:\t{dac_read_search}"),
        format!("CapEff:\t{dac_read_search}"),
        format!("CapBnd:\t{dac_read_search}"),
        "CapInh:\t0000000000000000".to_string(),
        "NoNewPrivs:\t1".to_string(),
    ] {
        assert!(stdout.contains(&expected), "the reader: {expected} in {stdout:?}");
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_empty_argv_is_refused_without_a_panic() {
    let body = format!(
        "{DIAG}\nset +e\n\
         printf '#include <unistd.h>\\nint main(void){{char *a[]={{0}}, *e[]={{0}}; execve(\"/usr/local/bin/cage\", a, e); return 99;}}\\n' > /tmp/noargv.c\n\
         gcc -o /tmp/noargv /tmp/noargv.c\n\
         as_operator /tmp/noargv; echo \"EXIT=$?\"\n"
    );
    let out = sandbox(&body);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // Linux 5.18+ gives such a process an empty argv[0]; older kernels an empty argv, which
    // cage refuses by itself. Either way: one line, status 2, no panic.
    assert!(stdout.contains("EXIT=2"), "{stdout} {stderr}");
    assert!(stderr.starts_with("cage: ") && stderr.lines().count() == 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const TTY_PROFILE: &str = "cat > /etc/cage/policies/TEST_TTY.toml <<'P'\n\
[layer.cps.alias.whichtty]\nbinary = \"/usr/bin/tty\"\ntty = true\n\
[layer.cps.alias.termsize]\nbinary = \"/usr/bin/stty\"\nargs = [\"size\"]\ntty = true\n\
P\n\
grant --actions TEST_TTY --duration 1h --req REQ-TTY\n";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_command_needing_a_terminal_gets_a_pty_of_the_operators_size() {
    let body = format!(
        "{TTY_PROFILE}\
         script -qfc 'stty rows 41 cols 101; setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c whichtty; setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c termsize' /dev/null < /dev/null\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("/dev/pts/"), "the program has a terminal: {stdout:?}");
    assert!(!stdout.contains("not a tty"), "{stdout:?}");
    assert!(stdout.contains("41 101"), "with the operator's window size: {stdout:?}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_command_needing_a_terminal_is_refused_without_one_or_with_company() {
    let (out, err, code) = run_line(TTY_PROFILE, "whichtty");
    assert_eq!((code, out.as_str()), (126, ""));
    assert!(err.starts_with("cage: denied: needs a terminal"), "{err}");
    // Refused at the decision, so the record says deny and nothing started.
    let body = format!(
        "{TTY_PROFILE}set +e
         script -qfc \"setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'whichtty | termsize'\" /dev/null < /dev/null
         echo '--- records'; grep '\"event\":\"command\"' /var/log/cage/audit.jsonl
"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let (shown, jsonl) = stdout.split_once("--- records\n").expect("records");
    assert!(shown.contains("must be alone on its line, without redirections"), "{shown}");
    let decisions: Vec<String> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["decision"].to_string())
        .collect();
    assert_eq!(decisions, ["\"deny\""], "{jsonl}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudotail_follows_across_rename_and_recreate_and_copytruncate() {
    let body = format!(
        "{DIAG}\n\
         printf 'a\\n' > /var/log/rot.log; chmod 0600 /var/log/rot.log\n\
         setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'sudotail -n 1 -F /var/log/rot.log' >/tmp/out 2>/tmp/err &\n\
         session=$!; sleep 0.7\n\
         echo b >> /var/log/rot.log; sleep 0.3\n\
         mv /var/log/rot.log /var/log/rot.log.1; printf 'c\\n' > /var/log/rot.log; sleep 1.6\n\
         echo d >> /var/log/rot.log; sleep 0.3\n\
         cp /var/log/rot.log /var/log/rot.log.2; : > /var/log/rot.log; sleep 0.3; echo e >> /var/log/rot.log; sleep 0.5\n\
         kill $session; wait\n\
         echo OUT; cat /tmp/out; echo ERR; cat /tmp/err\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let shown: Vec<&str> = stdout
        .split("OUT\n")
        .nth(1)
        .unwrap_or_default()
        .split("ERR\n")
        .next()
        .unwrap_or_default()
        .lines()
        .collect();
    assert_eq!(shown, vec!["a", "b", "c", "d", "e"], "{stdout}");
    assert!(stdout.contains("has been replaced") && stdout.contains("file truncated"), "{stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_fifo_as_a_redirection_target_is_refused_without_blocking_the_session() {
    let setup = format!("{DIAG}\nmkfifo /u01/pipe; chmod 0666 /u01/pipe");
    let start = std::time::Instant::now();
    let (out, err, code) = run_line(&setup, "sudocat /var/log/cage-test.log > /u01/pipe");
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "the monitor did not block");
    assert_eq!((code, out.as_str()), (126, ""), "{err}");
    assert!(err.contains("/u01/pipe") && err.contains("not a regular file"), "{err}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudorm_removes_under_read_write_rules_without_following_links_or_mounts() {
    let setup = format!(
        "{DIAG}\n\
         echo x > /u01/old.log; chown root:root /u01/old.log; chmod 0600 /u01/old.log\n\
         ln -s /var/log/cage-test.log /u01/link\n\
         ln -s /etc /u01/etcdir\n\
         mkdir -p /u01/tree/sub /u01/withmount/m; echo y > /u01/tree/sub/f\n\
         mount -t tmpfs cage-inner /u01/withmount/m; echo keep > /u01/withmount/m/keep\n"
    );
    let check = "; echo; for p in /u01/old.log /u01/link /var/log/cage-test.log /u01/tree /u01/withmount/m/keep /etc/passwd; do [ -e \"$p\" ] || [ -L \"$p\" ] && echo \"HAS $p\" || echo \"GONE $p\"; done";
    let run = |line: &str| {
        let quoted = line.replace('\'', "'\\''");
        let body = format!(
            "{setup}\nset +e\nas_operator /usr/local/bin/cage -c '{quoted}' 2>&1; echo \"EXIT=$?\"{check}\n"
        );
        text(&sandbox(&body).stdout)
    };
    let out = run("sudorm /u01/old.log");
    assert!(out.contains("EXIT=0") && out.contains("GONE /u01/old.log"), "{out}");
    let out = run("sudorm /u01/link");
    assert!(
        out.contains("GONE /u01/link") && out.contains("HAS /var/log/cage-test.log"),
        "the link, not its target: {out}"
    );
    let out = run("sudorm /u01/etcdir/passwd");
    assert!(!out.contains("EXIT=0") && out.contains("HAS /etc/passwd"), "{out}");
    let out = run("sudorm /u01/tree");
    assert!(out.contains("is a directory (use -r)") && out.contains("HAS /u01/tree"), "{out}");
    let out = run("sudorm -r /u01/tree");
    assert!(out.contains("EXIT=0") && out.contains("GONE /u01/tree"), "{out}");
    let out = run("sudorm -r /u01/withmount");
    assert!(out.contains("crosses into another mount") && out.contains("HAS /u01/withmount/m/keep"), "{out}");
    let out = run("sudorm -f /u01/missing");
    assert!(out.contains("EXIT=0"), "{out}");
}

/// INFRA_CPS_ONLY lists /root/blackout.sh; the sandbox gets its own /root for it.
const ROOT_SCRIPT: &str = "grant --actions INFRA_CPS_ONLY --duration 1h --req REQ-RX\n\
     mount -t tmpfs -o mode=0700 cage-test-root /root\n\
     printf '#!/bin/sh\\necho uid=$(id -u)\\nenv | sort\\n' > /root/blackout.sh\n\
     chmod 0755 /root/blackout.sh\n\
     printf '#!/bin/sh\\nid\\n' > /root/other.sh; chmod 0755 /root/other.sh";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn rootexec_runs_a_listed_script_as_root_with_a_fixed_environment() {
    let out = sandbox(&format!(
        "{ROOT_SCRIPT}\nBASH_ENV=/u01/evil ENV=/u01/evil LD_PRELOAD=/u01/x.so \
         setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'rootexec /root/blackout.sh a1'\n"
    ));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("uid=0\n"), "{stdout} {}", text(&out.stderr));
    for leaked in ["BASH_ENV", "ENV=/u01", "LD_PRELOAD"] {
        assert!(!stdout.contains(leaked), "{leaked} reached the script: {stdout}");
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn rootexec_refuses_unlisted_writable_changed_scripts_and_assignments() {
    let (_, err, code) = run_line(ROOT_SCRIPT, "rootexec /root/other.sh");
    assert_eq!(
        (code, err.as_str()),
        (126, "cage: denied: rootexec: `/root/other.sh` is not a listed script\n")
    );
    let writable = format!("{ROOT_SCRIPT}\nchmod 0775 /root/blackout.sh");
    let (out, err, code) = run_line(&writable, "rootexec /root/blackout.sh");
    assert_eq!((code, out.as_str()), (126, ""));
    assert!(err.contains("/root/blackout.sh is writable by group or others"), "{err}");
    let parent = format!("{ROOT_SCRIPT}\nchmod 0770 /root");
    let (_, err, code) = run_line(&parent, "rootexec /root/blackout.sh");
    assert!(code == 126 && err.contains("/root is writable by group or others"), "{err}");
    let pinned = format!(
        "{ROOT_SCRIPT}\nprintf '\\n[layer.cps.root_exec_sha256]\\n\"/root/blackout.sh\" = \"%s\"\\n' \
         \"$(sha256sum /root/blackout.sh | cut -c1-64)\" >> /etc/cage/policies/INFRA_CPS_ONLY.toml\n\
         echo '# changed' >> /root/blackout.sh"
    );
    let (out, err, code) = run_line(&pinned, "rootexec /root/blackout.sh");
    assert_eq!((code, out.as_str()), (126, ""));
    assert!(err.contains("does not match its pinned sha256"), "{err}");
    let (out, err, code) = run_line(ROOT_SCRIPT, "BASH_ENV=/u01/evil rootexec /root/blackout.sh");
    assert_eq!((code, out.as_str()), (126, ""), "{err}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn su_opens_a_nested_session_as_a_listed_user_and_exit_returns() {
    let body = format!(
        "{DIAG}\nuseradd --create-home --home-dir /home/ecra ecra\nset +e\n\
         {{ sleep 1; echo 'su - ecra'; sleep 1; ps -eo user:12,comm | grep -w cage | sort -u > /tmp/ps\n\
            echo pwd; sleep 1; echo exit; sleep 1; echo pwd; sleep 1; echo exit; }} \
         | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null > /tmp/out 2>&1\n\
         cat /tmp/out; echo '--- ps'; cat /tmp/ps; echo '--- records'; cat /var/log/cage/audit.jsonl\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let (session, rest) = stdout.split_once("--- ps\n").expect("ps");
    let (ps, jsonl) = rest.split_once("--- records\n").expect("records");
    assert!(session.contains("ecra@cps-test:cps /home/ecra"), "the prompt is ecra's: {session}");
    assert!(session.contains("\n/home/ecra\r"), "{session}");
    assert!(session.contains("\n/home/optest\r"), "exit returned to the outer session: {session}");
    assert!(ps.contains("ecra") && ps.contains("optest") && ps.contains("root"), "REPLs and monitor: {ps}");
    let records: Vec<serde_json::Value> =
        jsonl.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let su = records.iter().find(|r| r["event"] == "su").expect("an su record");
    assert_eq!((su["user"].as_str(), su["req_auth_id"].as_str()), (Some("ecra"), Some("REQ-42")));
    let nested: Vec<&serde_json::Value> = records.iter().filter(|r| r["su_user"] == "ecra").collect();
    assert!(nested.iter().any(|r| r["event"] == "command" && r["argv"][0] == "pwd"), "{nested:?}");
    assert!(nested.iter().all(|r| r["loginid"] == "optest" && r["req_auth_id"] == "REQ-42"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn su_refuses_root_options_and_sessions_without_a_terminal() {
    for line in ["su - root", "su root -c id", "su -s /bin/sh ecra", "su - oracle"] {
        let (out, err, code) = run_line(DIAG, line);
        assert_eq!((code, out.as_str()), (126, ""), "{line}: {err}");
    }
    let (_, err, code) = run_line(DIAG, "su - ecra");
    assert_eq!((code, err.as_str()), (126, "cage: denied: su needs an interactive session (ssh -t)\n"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn lines_typed_ahead_are_kept_for_the_next_prompts() {
    // Three lines reach the terminal at once, before the first prompt: each one runs.
    let body = format!(
        "{DIAG}\nset +e\n\
         {{ sleep 1; printf 'pwd\\nsudohead -n 1 /var/log/cage-test.log\\nexit\\n'; sleep 3; }} \
         | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage; echo STATUS=$?' /dev/null\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\n/home/optest\r"), "{stdout}");
    assert!(stdout.contains("\nfirst line\r"), "the second line ran: {stdout}");
    assert!(stdout.contains("STATUS=0"), "`exit` ended the session: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_command_past_the_time_limit_is_stopped_and_recorded() {
    let setup = format!("{DIAG}\nprintf '[limits]\\ncommand_timeout = \"2s\"\\n' >> /etc/cage/cage.toml");
    let start = std::time::Instant::now();
    let (out, err, code) = run_line(&setup, "sudotail -f /var/log/cage-test.log");
    let took = start.elapsed();
    assert_eq!((code, out.as_str()), (137, "first line\nsecond line\n"), "{err}");
    assert_eq!(err, "cage: stopped after 2s (the command time limit)\n");
    assert!(took < std::time::Duration::from_secs(6), "took {took:?}");
    let out = sandbox(&format!(
        "{setup}\nset +e\nas_operator /usr/local/bin/cage -c 'sudotail -f /var/log/cage-test.log' >/dev/null 2>&1\n\
         grep '\"event\":\"exit\"' /var/log/cage/audit.jsonl\n"
    ));
    let exit: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("one exit record");
    assert_eq!((exit["signal"].as_i64(), exit["timed_out"].as_bool()), (Some(9), Some(true)), "{exit}");
}

/// A CA, an operator key and a certificate: `cert ID VALIDITY` writes /tmp/auth the way sshd's
/// ExposeAuthInfo does, owned by the operator.
const CERTS: &str = "ssh-keygen -q -t ed25519 -N '' -f /tmp/ca; ssh-keygen -q -t ed25519 -N '' -f /tmp/op\n\
     cert() { rm -f /tmp/op-cert.pub; ssh-keygen -q -s /tmp/ca -I \"$1\" -n optest -V \"$2\" \
       -O extension:cage-actions@cage=INFRA_DIAG /tmp/op.pub 2>/dev/null\n\
       printf 'publickey %s\\n' \"$(cut -d' ' -f1,2 /tmp/op-cert.pub)\" > /tmp/auth; chown optest /tmp/auth; }";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_certificate_login_must_agree_with_the_grant_and_ends_with_the_certificate() {
    let run =
        "SSH_USER_AUTH=/tmp/auth setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage";
    let out = sandbox(&format!(
        "{DIAG}\n{CERTS}\nset +e\n\
         cert REQ-42 +1h; {run} -c grant; echo \"MATCH=$?\"\n\
         cert REQ-OTHER +1h; {run} -c grant; echo \"OTHER=$?\"\n\
         cert REQ-42 +1h; chown root /tmp/auth; {run} -c grant; echo \"ROOTS=$?\"\n\
         cert REQ-42 +3s; {run} -c 'sudotail -f /var/log/cage-test.log' >/dev/null; echo \"SHORT=$?\"\n"
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("request REQ-42") && stdout.contains("MATCH=0"), "{stdout} {stderr}");
    assert!(stdout.contains("OTHER=1") && stdout.contains("ROOTS=1"), "{stdout}");
    assert!(
        stderr.contains("cage: login refused: the session's certificate: issued for request REQ-OTHER but the grant is for REQ-42"),
        "{stderr}"
    );
    assert!(stderr.contains("/tmp/auth is not a small regular file of optest's"), "{stderr}");
    assert!(stderr.contains("cage: session ended: the session's certificate expired at"), "{stderr}");
    assert!(stdout.contains("SHORT=137"), "the command was killed: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn what_a_full_access_command_leaves_running_ends_with_the_session() {
    // `setsid -f` detaches a daemon that would outlive cage; the session's cgroup does not let it.
    let out = sandbox(
        "grant --actions INFRA_FULL --duration 1h --req REQ-FULL\nset +e\n\
         as_operator /usr/local/bin/cage -c 'setsid -f sleep 4242' </dev/null >/dev/null 2>&1; echo \"EXIT=$?\"\n\
         sleep 0.2; pgrep -f 'sleep 4242' >/dev/null && echo SURVIVED || echo GONE\n\
         pkill -f 'sleep 4242'\n",
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("EXIT=0"), "{stdout} {}", text(&out.stderr));
    assert!(stdout.contains("GONE"), "the detached sleep survived the session: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jailed_command_holds_the_groups_the_login_gave_the_operator() {
    let body = "cat > /etc/cage/policies/TEST_ID.toml <<'P'\n\
        [layer.cps.alias.mygroups]\nbinary = \"/usr/bin/id\"\nargs = [\"-Gn\"]\n\
        P\n\
        grant --actions TEST_ID --duration 1h --req REQ-ID\n\
        groupadd opsextra && usermod -aG opsextra optest\n\
        echo \"login: $(as_operator /usr/local/bin/cage -c mygroups)\"\n\
        echo \"cleared: $(setpriv --reuid=optest --regid=optest --clear-groups /usr/local/bin/cage -c mygroups)\"\n";
    let out = sandbox(body);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("login: optest opsextra\n"), "{stdout} {}", text(&out.stderr));
    // Groups the caller does not hold are not added back from the user database.
    assert!(stdout.contains("cleared: optest\n"), "{stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn after_the_first_login_each_line_still_finds_its_aliases_and_help_lists_them_all() {
    // The first login parses the profiles and keeps them (policy::cache); later ones read
    // them back, a `-c` line with only the aliases its words name.
    let body = format!(
        "{DIAG}\nset +e\nfor line in 'du -s /u01' \"d'u' -s /u01\" 'help all' 'du -s /u01 && help all'; do\n\
         as_operator /usr/local/bin/cage -c \"$line\" > /tmp/out 2>&1; echo \"[$line] $?\"\n\
         grep -c '^  journalctl\\|^  curl\\|^  du ' /tmp/out\ndone\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let expected = "[du -s /u01] 0\n0\n[d'u' -s /u01] 0\n0\n[help all] 0\n3\n[du -s /u01 && help all] 0\n3\n";
    assert_eq!(stdout, expected, "{}", text(&out.stderr));
}
