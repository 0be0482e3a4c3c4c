//! Root tests: what a command that did not run says, by why. A refusal is a denial (126,
//! `cage: denied:`, a deny record); an operand the operator must fix is not (1, as a shell
//! says it); a program this host lacks is not found (127); a failure of cage's own is an
//! error (125, `cage: error:`, the `exit` record says what failed), never a denial. In the
//! sandbox (integration/session/sandbox.sh), as INFRA_DIAG plus a test action on cps.

mod support;

use serde_json::Value;
use support::{sandbox, text};

const SETUP: &str = r#"
set +e
cat > /etc/cage/policies/TEST_FAIL.toml <<'P'
[layer.cps.alias.noexec]
binary = "/usr/local/bin/noexec"
[layer.cps.alias.badinterp]
binary = "/usr/local/bin/badinterp"
[layer.cps.alias.mark]
binary = "/usr/bin/mktemp"
args = ["/u01/ran.XXXXXX"]
[layer.cps.files]
tool_rw = ["/u01"]
P
printf '#!/bin/sh\necho hi\n' > /usr/local/bin/noexec; chmod 0644 /usr/local/bin/noexec
printf '#!/nonexistent/interpreter\n' > /usr/local/bin/badinterp; chmod 0755 /usr/local/bin/badinterp
grant --actions INFRA_DIAG,TEST_FAIL --duration 1h --req REQ-F
install -d /u01
"#;

/// Runs `line` as the operator: (stderr, exit status, the line's records after the login).
fn run(line: &str) -> (String, i32, Vec<Value>) {
    let body = format!(
        "{SETUP}\nas_operator /usr/local/bin/cage -c '{line}' 2>/tmp/err >/dev/null; echo \"EXIT=$?\"\n\
         echo '--- err'; cat /tmp/err; echo '--- trail'; cat /var/log/cage/audit.jsonl\n"
    );
    let stdout = text(&sandbox(&body).stdout);
    let (head, rest) = stdout.split_once("--- err\n").unwrap_or_else(|| panic!("{stdout}"));
    let (err, trail) = rest.split_once("--- trail\n").expect("trail");
    let status = head.trim().strip_prefix("EXIT=").and_then(|s| s.parse().ok()).expect("status");
    let records = trail
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| ["command", "exit", "file"].contains(&r["event"].as_str().unwrap_or("")))
        .collect();
    (err.to_string(), status, records)
}

fn denials(records: &[Value]) -> usize {
    records.iter().filter(|r| r["decision"] == "deny").count()
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_redirection_into_a_missing_directory_is_the_operators_to_fix_not_a_denial() {
    let (err, status, records) = run("journalctl -n 1 > /u01/nodir/out.txt");
    assert_eq!(status, 1, "{err}");
    assert_eq!(err, "cage: /u01/nodir/out.txt: cannot be created: the directory /u01/nodir does not exist\n");
    assert_eq!(denials(&records), 0, "{records:#?}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_program_missing_on_this_host_is_not_found_not_denied() {
    let (err, status, records) = run("noexec");
    assert_eq!(
        (status, err.as_str()),
        (127, "cage: `/usr/local/bin/noexec` is not installed on this host\n")
    );
    assert_eq!(denials(&records), 0, "{records:#?}");
    let exit = records.iter().find(|r| r["event"] == "exit").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!((exit["status"].as_i64(), exit["not_started"].as_bool()), (Some(127), Some(true)));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jail_that_cannot_exec_is_cages_error_shown_and_recorded_as_one() {
    let (err, status, records) = run("badinterp");
    assert_eq!(status, 125, "{err}");
    assert!(err.starts_with("cage: error: starting the jail: ") && !err.contains("denied"), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert_eq!(denials(&records), 0, "{records:#?}");
    let exit = records.iter().find(|r| r["event"] == "exit").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(exit["status"].as_i64(), Some(125), "{exit}");
    assert!(exit["error"].as_str().is_some_and(|e| e.contains("starting the jail")), "{exit}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_builtins_output_cannot_be_redirected_and_saying_so_is_a_denial() {
    let (err, status, records) = run("pwd > /u01/where.txt");
    assert_eq!(status, 126, "{err}");
    assert_eq!(err, "cage: denied: `pwd` is built into cage: its output cannot be redirected\n");
    assert_eq!(denials(&records), 1, "{records:#?}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jailed_command_whose_record_cannot_be_written_never_starts() {
    // A jail is made while its `command` record is written, and its program waits at its exec
    // for the record. The audit directory is its own mount, read-only for the second `mark`.
    let body = format!(
        "{SETUP}\nchmod 1777 /u01; mount -t tmpfs -o mode=0700 cage-audit /var/log/cage\n\
         {{ sleep 1.5; echo mark; sleep 1.5; mount -o remount,ro /var/log/cage; echo mark; sleep 1.5\n\
            mount -o remount,rw /var/log/cage; echo mark; sleep 1.5; echo exit; }} | script -qfc \
            'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null > /tmp/out 2>&1\n\
         cat /tmp/out; echo '--- marks'; ls /u01 | grep -c '^ran\\.'; echo '--- trail'; cat /var/log/cage/audit.jsonl\n"
    );
    let stdout = text(&sandbox(&body).stdout);
    let (session, rest) = stdout.split_once("--- marks\n").unwrap_or_else(|| panic!("{stdout}"));
    let (marks, trail) = rest.split_once("--- trail\n").expect("trail");
    assert!(session.contains("cage: error: recording the command: audit unavailable ("), "{session}");
    assert!(!session.contains("denied"), "a trail that fails is not a refusal: {session}");
    assert_eq!(marks, "2\n", "the unrecorded `mark` ran, or the session stopped: {session}");
    let records: Vec<Value> = trail.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ran = records.iter().filter(|r| r["event"] == "command" && r["argv"] == serde_json::json!(["mark"]));
    assert_eq!(ran.count(), 2, "{trail}");
}
