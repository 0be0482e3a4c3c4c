//! Root tests of the interactive prompt as an operator types at it (under `script`, a real
//! pty): bytes that are not UTF-8 and a very long line are refused like any refused line, the
//! session goes on and answers at once; and `cage --help` / `--version` answer without a
//! grant. In the sandbox (integration/session/sandbox.sh).

mod support;

use std::time::{Duration, Instant};

use support::{sandbox, text, TEST_BLOCK};

const DIAG: &str = "grant --actions INFRA_DIAG --duration 1h --req REQ-P";

/// Types `input` (a shell command writing to the prompt) into an interactive session, cage
/// alone on its terminal as under sshd (a shell between them would share its foreground
/// process group and die of the Ctrl-C typed for a command); returns
/// what the terminal showed, what `input` noted in /tmp/noted after `--- noted`, then the
/// trail after `--- trail`.
fn typed(input: &str) -> String {
    typed_with(DIAG, input)
}

/// [`typed`], the grant made by `grant` (shell).
fn typed_with(grant: &str, input: &str) -> String {
    let body = format!(
        "{grant}\nset +e\n{{ {input}; }} | script -qefc 'exec setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null; echo STATUS=$?\n\
         echo '--- noted'; cat /tmp/noted 2>/dev/null; echo '--- trail'; cat /var/log/cage/audit.jsonl\n"
    );
    let out = sandbox(&body);
    text(&out.stdout)
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_interactive_login_opens_with_the_grant_and_where_to_start() {
    let out = typed("sleep 1; printf 'exit\\r'; sleep 0.5");
    let (screen, _) = out.split_once("--- trail\n").expect("trail");
    let banner =
        screen.lines().find(|l| l.starts_with("cage: request REQ-P")).unwrap_or_else(|| panic!("{screen}"));
    assert!(banner.contains("INFRA_DIAG until ") && banner.contains("left)"), "{banner}");
    assert!(banner.trim_end().ends_with("Type `help` for what it allows."), "{banner}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn bytes_that_are_not_utf8_are_refused_and_the_session_goes_on() {
    let out = typed("sleep 1; printf 'pwd\\r'; sleep 0.5; printf '\\377\\376 x\\r'; sleep 0.5; printf 'pwd\\r'; sleep 0.5; printf 'exit\\r'; sleep 0.5");
    let (screen, trail) = out.split_once("--- trail\n").expect("trail");
    assert!(screen.contains("cage: denied: the line is not valid UTF-8"), "{screen}");
    assert_eq!(screen.matches("\n/home/optest\r").count(), 2, "the session answered after it: {screen}");
    assert!(screen.contains("STATUS=0"), "{screen}");
    let denial =
        trail.lines().find(|l| l.contains("\"decision\":\"deny\"")).unwrap_or_else(|| panic!("{trail}"));
    assert!(denial.contains("not valid UTF-8"), "{denial}");
    assert!(trail.contains("\"reason\":\"exit\""), "the session ended by `exit`: {trail}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_one_mebibyte_line_is_cut_at_the_limit_and_the_prompt_comes_back_at_once() {
    let started = Instant::now();
    let out = typed(
        "sleep 1; head -c 1048576 /dev/zero | tr '\\0' a; printf '\\r'; sleep 1; printf 'pwd\\r'; sleep 0.5; printf 'exit\\r'; sleep 0.5",
    );
    let took = started.elapsed();
    let (screen, trail) = out.split_once("--- trail\n").expect("trail");
    assert!(
        screen.contains("cage: denied: the line is longer than the 4096-byte limit"),
        "{}",
        &screen[..screen.len().min(2000)]
    );
    assert!(screen.contains("\n/home/optest\r"), "the session answered after it");
    assert!(screen.contains("STATUS=0"), "the session ended by `exit`");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The editor's redraws stay bounded by the limit, not by the square of the line.
    assert!(screen.len() < 1 << 20, "{} bytes of output", screen.len());
    let denials = trail.lines().filter(|l| l.contains("\"decision\":\"deny\"")).count();
    assert_eq!(denials, 1, "one refusal for one line: {denials}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn help_and_version_answer_without_a_grant_or_a_session() {
    let out = sandbox(
        "set +e\n/usr/local/bin/cage --version; echo \"V=$?\"\n/usr/local/bin/cage --help | head -n 3; echo \"H=${PIPESTATUS[0]}\"\n\
         ls /var/log/cage | wc -l | sed 's/^/RECORDS=/'\n",
    );
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("cage {}\nV=0\n", env!("CARGO_PKG_VERSION"))), "{stdout}");
    assert!(stdout.contains("usage: cage ") && stdout.contains("H=0"), "{stdout}");
    assert!(stdout.contains("RECORDS=0"), "no session was opened: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn help_for_one_command_prints_its_usage_and_runs_nothing() {
    let out = sandbox(&format!(
        "{DIAG}\nset +e\nfor line in 'help sudotail' 'tail --help' 'help nosuch'; do\n\
           echo \"--- $line\"; setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c \"$line\" 2>&1; echo \"EXIT=$?\"\n\
         done\necho \"COMMANDS=$(grep -c '\"event\":\"command\"' /var/log/cage/audit.jsonl)\"\n"
    ));
    let stdout = text(&out.stdout);
    let (_, sudotail) = stdout.split_once("--- help sudotail\n").expect("sudotail");
    assert!(
        sudotail.starts_with("sudotail: ")
            && sudotail.contains("usage: sudotail [-n <int>] [-c <int>] [-f] [-F] [<path>]"),
        "{stdout}"
    );
    assert!(sudotail.contains("reads under: /u01/ /var/log/"), "{stdout}");
    let (_, tail) = stdout.split_once("--- tail --help\n").expect("tail");
    assert!(
        tail.starts_with("tail: last lines of a file or a pipe") && tail.contains("usage: tail [-n <int>]"),
        "{stdout}"
    );
    assert!(stdout.contains("cage: help: this grant has no command `nosuch`"), "{stdout}");
    assert_eq!(stdout.matches("EXIT=0").count(), 2, "{stdout}");
    assert!(stdout.contains("COMMANDS=0"), "nothing ran, nothing was recorded as run: {stdout}");
}

/// Waits (at most 20 s) until the jailed `sleep 600` runs, so that the Ctrl-C ends it rather
/// than a prompt it has not left yet.
const UNTIL_IT_RUNS: &str =
    "for _ in $(seq 200); do pgrep -fx 'sleep 600' >/dev/null && break; sleep 0.1; done; sleep 0.5;";

/// The session's monitor (the pid of its `login` record): its children are the session's, not
/// those of whatever else runs on the host.
const MONITOR: &str = "monitor=$(grep -o '\"event\":\"login\"[^}]*' /var/log/cage/audit.jsonl | grep -o '\"pid\":[0-9]*' | cut -d: -f2);";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_command_ended_by_ctrl_c_leaves_no_defunct_child_at_the_prompt() {
    let input = format!(
        "sleep 1; printf 'block\\r'; {UNTIL_IT_RUNS} printf '\\003'; sleep 1; \
         {MONITOR} ps -o stat=,user=,comm= --ppid \"${{monitor:-0}}\" > /tmp/noted; \
         printf 'exit\\r'; sleep 0.5",
    );
    let grant = format!("{TEST_BLOCK}grant --actions INFRA_DIAG,TEST_BLOCK --duration 1h --req REQ-P");
    let out = typed_with(&grant, &input);
    let (screen, rest) = out.split_once("--- noted\n").expect("noted");
    // `exit` ends with the last command's status, as a shell does: 130 after Ctrl-C.
    assert!(screen.contains("STATUS=130"), "the session went on to `exit`: {screen}");
    let (children, _) = rest.split_once("--- trail\n").expect("trail");
    // The monitor's children were found (its REPL at least), and none is defunct.
    assert!(!children.trim().is_empty(), "the monitor's children: {children:?}");
    let defunct: Vec<_> = children.lines().filter(|l| l.starts_with('Z')).collect();
    assert!(defunct.is_empty(), "no defunct process at the prompt after Ctrl-C: {children}");
}
