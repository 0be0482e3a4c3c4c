//! Container tests of what an operator and an auditor meet, over real ssh to the container's
//! sshd (cage installed from its package): help for one command runs nothing, familiar names
//! and pipes into `tail`, the login banner, `cagectl audit play` of a recorded session, the
//! line editor's refusals typed at a prompt, and the action model's facts as written.

#[path = "../tests/facts/rows.rs"]
mod fact_rows;
mod remote;
mod support;

use std::io::Write;

use std::time::Duration;

use fact_rows::Row;
use remote::{grant, in_container, operator, require_container, ssh, ssh_tty, text, Interactive};
use support::quote;

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

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn invalid_utf8_and_a_mebibyte_line_typed_over_ssh_are_refused_and_the_session_answers_at_once() {
    require_container();
    let op = operator("op_typed");
    grant(&op, "INFRA_DIAG", "1h");
    let home = format!("\n/home/{op}\r");
    let mut s = Interactive::start(&op);
    s.wait_for("Type `help` for what it allows.", 1);
    s.send("pwd\r");
    s.wait_within(&home, 1, Duration::from_secs(5));

    s.send_bytes(b"\xff\xfe x\r");
    s.wait_within("cage: denied: the line is not valid UTF-8", 1, Duration::from_secs(5));
    s.send("pwd\r");
    let answered = s.wait_within(&home, 2, Duration::from_secs(5));
    assert!(answered < Duration::from_secs(1), "the session answered after {answered:?}");

    s.send_bytes(&[b'a'; 1 << 20]);
    s.send("\r");
    s.wait_within("cage: denied: the line is longer than the 4096-byte limit", 1, Duration::from_secs(30));
    s.send("pwd\r");
    let answered = s.wait_within(&home, 3, Duration::from_secs(5));
    assert!(answered < Duration::from_secs(1), "the session answered after {answered:?}");

    s.send("exit\r");
    let status = s.wait_exit().unwrap_or_else(|| panic!("exit closes the connection:\n{}", s.text()));
    assert!(status.success(), "the session ended by exit: {status:?}");
    let trail = in_container(&format!("grep '\"loginid\":\"{op}\"' /var/log/cage/audit.jsonl"));
    let trail = text(&trail.stdout);
    let denials: Vec<&str> = trail.lines().filter(|l| l.contains("\"decision\":\"deny\"")).collect();
    assert_eq!(denials.len(), 2, "one denial per refused line: {trail}");
    assert!(denials[0].contains("not valid UTF-8") && denials[1].contains("4096-byte limit"), "{denials:?}");
    assert!(trail.contains("\"reason\":\"exit\""), "the session ended by `exit`: {trail}");
}

/// The rows of tests/facts/actions.txt that must be allowed.
fn allowed_facts() -> Vec<Row<'static>> {
    let rows = fact_rows::rows(include_str!("../tests/facts/actions.txt"));
    let rows = rows.map(|row| row.unwrap_or_else(|text| panic!("not a row of the facts table: {text}")));
    rows.filter(|row| row.verdict.starts_with("allow")).collect()
}

/// Programs of the allowed facts that only read, end by themselves and need no terminal: what
/// the container can run as written (the others restart, reboot, edit, open a prompt or wait
/// for packets).
const RUNNABLE: &[&str] = &[
    "systemctl status",
    "ifconfig",
    "lsof",
    "docker ps",
    "docker logs",
    "docker inspect",
    "ipmitool sel",
    "dbmcli",
    "traceroute",
    "journalctl",
    "du ",
    "imageinfo",
    "imagehistory",
    "curl",
    "crontab -l",
    "ethtool",
    "sudocat ",
    "sudotail -n 50",
    "sudohead -c",
    "sudols",
    "cat ",
    "head -n 5",
    "tail -n 5",
    "ls ",
    "ip addr",
    "lspci",
];

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_models_examples_are_allowed_by_the_installed_explain_and_over_ssh() {
    require_container();
    let facts = allowed_facts();
    assert!(facts.len() >= 200, "only {} allowed facts", facts.len());
    // cagectl explain of the installed package, on its own policies, for every row.
    let script: String = facts
        .iter()
        .map(|Row { actions, layer, line, .. }| {
            format!(
                "cagectl explain --layer {layer} --actions {actions} --login op --cwd /u01 -- {} >/dev/null 2>&1 \
                 || echo {}\n",
                quote(line),
                quote(&format!("refused: {actions} {layer} {line}"))
            )
        })
        .collect();
    let explained = in_container(&script);
    assert_eq!(text(&explained.stdout), "", "explain refused these: {}", text(&explained.stderr));

    // Over ssh, on this cps host: what the container can run, each with a grant of its row.
    let op = operator("op_facts");
    let mut refused = Vec::new();
    let mut ran = 0;
    let runnable = |row: &&Row| row.layer == "cps" && RUNNABLE.iter().any(|p| row.line.starts_with(p));
    for Row { actions, line, .. } in facts.iter().filter(runnable) {
        grant(&op, actions, "1h");
        let (_, err, code) = ssh(&op, line);
        ran += 1;
        if code == 126 || err.contains("cage: denied") {
            refused.push(format!("{actions} `{line}`: {code} {err}"));
        }
    }
    assert!(ran >= 30, "only {ran} rows ran over ssh");
    assert!(refused.is_empty(), "refused over ssh:\n{}", refused.join("\n"));
}
