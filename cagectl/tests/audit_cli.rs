//! `cagectl audit show`, `tail` and `export` as an admin runs them, on audit files written the
//! way cage writes them (no root needed: the files are the test's own).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cage::audit::chain::{seal, GENESIS};
use cage::audit::record::unsealed;
use cage::audit::{Entry, SessionFields, Verdict};
use cage::time::Timestamp;

fn cagectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cagectl")).args(args).output().expect("run cagectl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cage-audit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn fields(login: &str, req: &str) -> SessionFields {
    SessionFields {
        session: format!("5e55{login}"),
        req_auth_id: req.into(),
        loginid: login.into(),
        uid: 4001,
        host: "cps1".into(),
        layer: "cps".into(),
        tty: Some("/dev/pts/3".into()),
        srchost: Some("10.0.0.9".into()),
        pid: 812,
        su_user: None,
    }
}

fn command(argv: &[&str], decision: Verdict) -> Entry {
    let mut entry = Entry::new("command");
    entry.argv = argv.iter().map(|a| a.to_string()).collect();
    entry.title = argv.join(" ").into_bytes();
    entry.decision = Some(decision);
    if decision == Verdict::Deny {
        entry = entry.with("reason", "`/etc/shadow` holds secrets and is never reachable");
    }
    entry
}

/// A chained audit file of two sessions, a minute apart, as cage writes it.
fn session_file(path: &Path) {
    let exit = Entry::new("exit").with("status", 0).with("duration_ms", 3);
    let entries = [
        (fields("optest", "REQ-42"), Entry::new("login")),
        (fields("optest", "REQ-42"), command(&["sudotail", "-n", "50", "/var/log/messages"], Verdict::Allow)),
        (fields("optest", "REQ-42"), exit),
        (fields("optest", "REQ-42"), command(&["echo", "\x1b]0;owned\x07\x1b[2J"], Verdict::Deny)),
        (fields("optest", "REQ-42"), Entry::new("logout").with("reason", "exit")),
        (fields("other", "REQ-7"), Entry::new("login")),
    ];
    let (mut prev, mut out) = (GENESIS.to_string(), String::new());
    for (i, (fields, entry)) in entries.iter().enumerate() {
        let ts = Timestamp::from_unix(1_604_388_029 + 60 * (i as i64 / 5), 0).expect("time");
        let (line, hash) = seal(unsealed(fields, entry, i as u64 + 1, &prev, ts));
        out.push_str(&line);
        out.push('\n');
        prev = hash;
    }
    std::fs::write(path, out).expect("audit file");
}

#[test]
fn show_prints_a_table_an_admin_can_read_and_no_escape_sequence() {
    let dir = scratch("show");
    let file = dir.join("audit.jsonl");
    session_file(&file);
    let out = cagectl(&["audit", "show", "--req", "REQ-42", file.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "TIME                 LOGIN         REQ           EVENT    RESULT     COMMAND\n\
         2020-11-03 07:20:29  optest        REQ-42        login\n\
         2020-11-03 07:20:29  optest        REQ-42        command  allow      sudotail -n 50 /var/log/messages\n\
         2020-11-03 07:20:29  optest        REQ-42        exit     status 0\n\
         2020-11-03 07:20:29  optest        REQ-42        command  deny       echo '\\x1b]0;owned\\x07\\x1b[2J'  \
         [`/etc/shadow` holds secrets and is never reachable]\n\
         2020-11-03 07:20:29  optest        REQ-42        logout   exit\n"
    );
    assert!(!stdout.contains('\x1b') && !stdout.contains('\x07'));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_json_prints_the_matching_lines_unchanged() {
    let dir = scratch("json");
    let file = dir.join("audit.jsonl");
    session_file(&file);
    let path = file.to_str().expect("path");
    let out =
        cagectl(&["audit", "show", "--json", "--event", "login", "--since", "2020-11-03T07:21:00Z", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&file).expect("file");
    assert_eq!(text(&out.stdout), format!("{}\n", written.lines().nth(5).expect("6th")));
    let out = cagectl(&["audit", "show", "--since", "yesterday", path]);
    assert_eq!(out.status.code(), Some(2), "a bad time is a usage error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_writes_one_oac_object_per_record() {
    let dir = scratch("export");
    let file = dir.join("audit.jsonl");
    session_file(&file);
    let out =
        cagectl(&["audit", "export", "--format", "oac", "--event", "command", file.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["title"], "sudotail\u{0}-n\u{0}50\u{0}/var/log/messages");
    assert_eq!(lines[0]["time"], "Tue Nov  3 07:20:29 2020");
    assert_eq!((&lines[0]["res"], &lines[1]["res"]), (&"success".into(), &"failure".into()));
    assert_eq!((&lines[0]["rec_id"], &lines[0]["loginid"]), (&2.into(), &"optest".into()));
    let out = cagectl(&["audit", "export", "--format", "csv", file.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("cagectl: unknown export format `csv` (known: oac)\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tail_shows_the_last_records_and_follows_appends_and_rotation() {
    let dir = scratch("tail");
    let file = dir.join("audit.jsonl");
    session_file(&file);
    let path = file.to_str().expect("path");
    let out = cagectl(&["audit", "tail", "-n", "2", "--json", path]);
    let written = std::fs::read_to_string(&file).expect("file");
    let last_two: Vec<&str> = written.lines().skip(4).collect();
    assert_eq!(text(&out.stdout), format!("{}\n", last_two.join("\n")));

    let mut child = Command::new(env!("CARGO_BIN_EXE_cagectl"))
        .args(["audit", "tail", "-f", "-n", "1", "--json", path])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tail -f");
    let (send, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| drop(send.send(l)))
    });
    let next = || lines.recv_timeout(Duration::from_secs(10)).expect("a line within 10 s");
    assert_eq!(next(), written.lines().last().expect("last"));
    // An append, half a line at a time: shown once whole.
    let mut live = std::fs::OpenOptions::new().append(true).open(&file).expect("open");
    live.write_all(b"{\"event\":\"appended\",").expect("half");
    std::thread::sleep(Duration::from_millis(300));
    live.write_all(b"\"seq\":7}\n").expect("rest");
    assert_eq!(next(), "{\"event\":\"appended\",\"seq\":7}");
    // Rotation: a last record in the old file, then the new file.
    live.write_all(b"{\"event\":\"before rotation\"}\n").expect("last old");
    std::fs::rename(&file, dir.join("audit.jsonl.20201103T072200Z")).expect("rename");
    std::fs::write(&file, "{\"event\":\"rotate\"}\n{\"event\":\"after\"}\n").expect("new");
    assert_eq!(next(), "{\"event\":\"before rotation\"}");
    assert_eq!(next(), "{\"event\":\"rotate\"}");
    assert_eq!(next(), "{\"event\":\"after\"}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
