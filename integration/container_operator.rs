//! Container tests of what an operator and an auditor meet, over real ssh to the container's
//! sshd (cage installed from its package): help for one command runs nothing, familiar names
//! and pipes into `tail`, the login banner, and `cagectl audit play` of a recorded session.

mod remote;

use std::io::Write;

use std::time::Duration;

use remote::{grant, in_container, operator, require_container, ssh, ssh_tty, text};

/// The `command` records of `login` so far.
fn commands_of(login: &str) -> usize {
    let out = in_container(&format!(
        "grep '\"loginid\":\"{login}\"' /var/log/cage/audit.jsonl | grep -c '\"event\":\"command\"' || true"
    ));
    text(&out.stdout).trim().parse().unwrap_or(0)
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn help_for_one_command_over_ssh_prints_its_usage_and_runs_nothing() {
    require_container();
    let op = operator("op_helpone");
    grant(&op, "INFRA_DIAG", "1h");
    let (out, err, code) = ssh(&op, "help sudotail");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("usage: sudotail [-n <int>] [-c <int>] [-f] [-F] [<path>]"), "{out}");
    let (out, err, code) = ssh(&op, "tail --help");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("tail: ") && out.contains("usage: tail "), "{out}");
    assert_eq!(commands_of(&op), 0, "help runs nothing and records no command");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn familiar_names_and_pipes_into_tail_over_ssh() {
    require_container();
    let op = operator("op_familiar");
    grant(&op, "INFRA_DIAG", "1h");
    let last = in_container("tail -n 1 /var/log/messages");
    let (out, err, code) = ssh(&op, "sudocat /var/log/messages | tail -n 1");
    assert_eq!((code, out.as_str()), (0, text(&last.stdout).as_str()), "{err}");
    let (listed, err, code) = ssh(&op, "ls /var/log");
    assert_eq!(code, 0, "{err}");
    let (expected, _, _) = ssh(&op, "sudols /var/log");
    assert_eq!(listed, expected, "ls lists as sudols would");
    assert!(listed.lines().any(|l| l == "messages"), "{listed}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_interactive_login_opens_with_its_banner() {
    require_container();
    let op = operator("op_banner");
    grant(&op, "INFRA_DIAG", "1h");
    let mut session = ssh_tty(&op);
    std::thread::sleep(Duration::from_secs(2));
    let _ = session.stdin.as_mut().expect("stdin").write_all(b"exit\r");
    let out = session.wait_with_output().expect("output");
    let all = text(&out.stdout) + &text(&out.stderr);
    let banner = format!("cage: request REQ-{op}: INFRA_DIAG until ");
    assert!(all.contains(&banner) && all.contains("Type `help` for what it allows."), "{all}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_auditor_plays_a_recorded_session_and_an_edited_recording_is_refused() {
    require_container();
    let op = operator("op_played");
    let policy = "cat > /etc/cage/policies/TEST_PLAYED.toml <<'P'\ninherits = [\"INFRA_DIAG\"]\nrecord = \"io\"\n[layer.cps]\nP";
    assert!(in_container(policy).status.success());
    grant(&op, "TEST_PLAYED", "1h");
    let (seen, err, code) = ssh(&op, "pwd; sudohead -n 1 /var/log/messages");
    assert_eq!(code, 0, "{err}");
    let id = in_container(&format!(
        "grep '\"loginid\":\"{op}\"' /var/log/cage/audit.jsonl | grep '\"event\":\"login\"' | tail -1 \
         | sed 's/.*\"session\":\"\\([0-9a-f]*\\)\".*/\\1/'"
    ));
    let id = text(&id.stdout).trim().to_string();
    let played = in_container(&format!("cagectl audit play {id} --speed 100"));
    assert_eq!(
        text(&played.stdout).replace('\r', ""),
        seen,
        "what the operator saw: {}",
        text(&played.stderr)
    );
    let edited = in_container(&format!(
        "echo '[99.0,\"o\",\"forged\"]' >> /var/log/cage/sessions/{id}.cast; cagectl audit play {id}"
    ));
    assert_eq!(edited.status.code(), Some(1));
    assert!(text(&edited.stderr).contains("(edited): not played"), "{}", text(&edited.stderr));
    assert!(!text(&edited.stdout).contains("forged"));
}
