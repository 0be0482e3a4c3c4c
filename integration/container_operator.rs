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

/// An interactive ssh session whose screen a thread gathers, so a test can wait for a text.
struct Screen {
    session: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Screen {
    fn open(login: &str) -> Screen {
        use std::io::Read;
        let mut session = ssh_tty(login);
        let mut stdout = session.stdout.take().expect("stdout");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let gathered = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                gathered.lock().expect("screen").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Screen { session, seen }
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        self.session.stdin.as_mut().expect("stdin").write_all(bytes).expect("typing");
    }

    /// How long until `text` appears `count` times on the screen, waiting up to `limit`.
    fn wait_for(&self, text: &str, count: usize, limit: Duration) -> Duration {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if self.seen.lock().expect("screen").matches(text).count() >= count {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let seen = self.seen.lock().expect("screen");
        panic!("`{text}` not seen {count} times in {limit:?}: {}", &seen[seen.len().saturating_sub(2000)..]);
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn invalid_utf8_and_a_mebibyte_line_typed_over_ssh_are_refused_and_the_session_answers_at_once() {
    require_container();
    let op = operator("op_typed");
    grant(&op, "INFRA_DIAG", "1h");
    let home = format!("\n/home/{op}\r");
    let mut screen = Screen::open(&op);
    screen.wait_for("Type `help` for what it allows.", 1, Duration::from_secs(10));
    screen.type_bytes(b"pwd\r");
    screen.wait_for(&home, 1, Duration::from_secs(5));

    screen.type_bytes(b"\xff\xfe x\r");
    screen.wait_for("cage: denied: the line is not valid UTF-8", 1, Duration::from_secs(5));
    screen.type_bytes(b"pwd\r");
    let answered = screen.wait_for(&home, 2, Duration::from_secs(5));
    assert!(answered < Duration::from_secs(1), "the session answered after {answered:?}");

    screen.type_bytes(&[b'a'; 1 << 20]);
    screen.type_bytes(b"\r");
    screen.wait_for("cage: denied: the line is longer than the 4096-byte limit", 1, Duration::from_secs(30));
    screen.type_bytes(b"pwd\r");
    let answered = screen.wait_for(&home, 3, Duration::from_secs(5));
    assert!(answered < Duration::from_secs(1), "the session answered after {answered:?}");

    screen.type_bytes(b"exit\r");
    let status = screen.session.wait().expect("ssh");
    assert!(status.success(), "the session ended by exit: {status:?}");
    let trail = in_container(&format!("grep '\"loginid\":\"{op}\"' /var/log/cage/audit.jsonl"));
    let trail = text(&trail.stdout);
    let denials: Vec<&str> = trail.lines().filter(|l| l.contains("\"decision\":\"deny\"")).collect();
    assert_eq!(denials.len(), 2, "one denial per refused line: {trail}");
    assert!(denials[0].contains("not valid UTF-8") && denials[1].contains("4096-byte limit"), "{denials:?}");
    assert!(trail.contains("\"reason\":\"exit\""), "the session ended by `exit`: {trail}");
}

/// `word` quoted for sh.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The rows of tests/facts/actions.txt that must be allowed: (actions, layer, line).
fn allowed_facts() -> Vec<(&'static str, &'static str, &'static str)> {
    let table = include_str!("../tests/facts/actions.txt");
    let rows = table.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    rows.filter_map(|row| {
        let mut fields = row.split_whitespace();
        let (actions, layer, verdict) = (fields.next()?, fields.next()?, fields.next()?);
        let line = row.split_once(verdict)?.1.trim();
        verdict.starts_with("allow").then_some((actions, layer, line))
    })
    .collect()
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
        .map(|(actions, layer, line)| {
            format!(
                "cagectl explain --layer {layer} --actions {actions} --login op --cwd /u01 -- {} >/dev/null 2>&1 \
                 || echo {}\n",
                quoted(line),
                quoted(&format!("refused: {actions} {layer} {line}"))
            )
        })
        .collect();
    let explained = in_container(&script);
    assert_eq!(text(&explained.stdout), "", "explain refused these: {}", text(&explained.stderr));

    // Over ssh, on this cps host: what the container can run, each with a grant of its row.
    let mut refused = Vec::new();
    let mut ran = 0;
    for (actions, _, line) in facts
        .iter()
        .filter(|(_, layer, line)| *layer == "cps" && RUNNABLE.iter().any(|p| line.starts_with(p)))
    {
        let op = operator("op_facts");
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
