//! Known answers for the audit trail (docs/audit-format.md): the files in tests/vectors/ are
//! what cage's writer produces for the records described here, byte for byte, and what every
//! verifier must say of them and of their tampered copies is in tests/vectors/expected.txt:
//! `cage::audit::verify`, `cagectl audit verify` and the independent tools/cage-verify-trail.
//! A change to the canonical form (key order, escaping, serde_json's `preserve_order`) fails
//! here before it can make existing trails unverifiable.

use std::path::{Path, PathBuf};
use std::process::Command;

use cage::audit::canonical::to_text;
use cage::audit::chain::{seal, verify, GENESIS};
use cage::audit::record::unsealed;
use cage::audit::{Entry, SessionFields, Verdict};
use cage::time::Timestamp;
use serde_json::{json, Map, Value};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

fn operator() -> SessionFields {
    SessionFields {
        session: "5e55a0b1c2d3e4f5a6b7c8d9e0f1a2b3".into(),
        req_auth_id: "REQ-7f3a9c01".into(),
        loginid: "opctl_7f3a9c01".into(),
        uid: 60001,
        host: "cps01".into(),
        layer: "cps".into(),
        tty: Some("/dev/pts/3".into()),
        srchost: Some("192.0.2.7".into()),
        pid: 4242,
        su_user: None,
    }
}

fn admin() -> SessionFields {
    SessionFields {
        session: "ad000000000000000000000000000001".into(),
        req_auth_id: String::new(),
        loginid: "root".into(),
        uid: 0,
        tty: None,
        srchost: None,
        pid: 5151,
        ..operator()
    }
}

/// 2027-01-15T08:00:00Z plus `secs`, with nanoseconds as the writer takes them.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000 + secs, 123_456_789).expect("in range")
}

fn command(title: &[u8], argv: &[&str], decision: Verdict) -> Entry {
    let mut entry = Entry::new("command");
    entry.cwd = Some("/home/opctl_7f3a9c01".into());
    entry.title = title.to_vec();
    entry.argv = argv.iter().map(|a| a.to_string()).collect();
    entry.decision = Some(decision);
    entry
}

/// The records of tests/vectors/chain.jsonl: one session, as cage writes it.
fn session() -> Vec<(SessionFields, Entry, Timestamp)> {
    let line = b"sudohead -n 1 /var/log/messages";
    let argv = ["sudohead", "-n", "1", "/var/log/messages"];
    let mut allowed = command(line, &argv, Verdict::Allow).with("paths", json!(["/var/log/messages"]));
    allowed.rule = Some("INFRA_DIAG/cps/file_commands[sudohead]".into());
    let mut exit = Entry::new("exit").with("status", 0).with("duration_ms", 4);
    (exit.cwd, exit.title, exit.argv) = (allowed.cwd.clone(), line.to_vec(), allowed.argv.clone());
    let mut read = Entry::new("file").with("operation", "read").with("path", "/var/log/messages");
    read = read.with("bytes", 1234).with("syslog_unsent", 2);
    read.cwd = allowed.cwd.clone();
    let bidi = "sudocat /u01/evil\u{202e}gol.txt\u{1b}[2J";
    let refused = command(bidi.as_bytes(), &[], Verdict::Deny)
        .with("reason", "the line contains U+202E (RIGHT-TO-LEFT OVERRIDE) at byte 17");
    let not_utf8 = command(b"sudocat /u01/\xff\xfe.log", &[], Verdict::Deny)
        .with("reason", "the line is not valid UTF-8 at byte 13");
    let entries = [
        Entry::new("login").with("actions", json!(["INFRA_DIAG"])).with("expires", "2027-01-15T16:00:00Z"),
        allowed,
        read,
        exit,
        refused,
        not_utf8,
        Entry::new("logout").with("reason", "exit"),
    ];
    entries.into_iter().zip(0..).map(|(e, i)| (operator(), e, at(i * 7))).collect()
}

/// The records of tests/vectors/rotated.jsonl: the rotation that continues chain.jsonl, then
/// an admin's change.
fn rotated() -> Vec<(SessionFields, Entry, Timestamp)> {
    let rotate = Entry::new("rotate").with("prev_file", "chain.jsonl");
    let mut grant = Entry::new("grant").with("action", "revoked").with("by", "alice");
    grant = grant.with("reason", "done early");
    grant.argv = ["cagectl", "revoke", "REQ-7f3a9c01", "--reason", "done early"].map(String::from).to_vec();
    let fields =
        SessionFields { loginid: "opctl_7f3a9c01".into(), req_auth_id: "REQ-7f3a9c01".into(), ..admin() };
    vec![(admin(), rotate, at(3_600)), (fields, grant, at(3_601))]
}

/// The records of tests/vectors/v1.jsonl: format version 1, which wrote every character
/// other than the C0 controls as it was.
fn version_1() -> Vec<(SessionFields, Entry, Timestamp)> {
    let bidi =
        command("ls evil\u{202e}txt.exe\u{7f}".as_bytes(), &[], Verdict::Deny).with("reason", "refused");
    vec![(operator(), Entry::new("login"), at(0)), (operator(), bidi, at(1))]
}

/// `records` sealed into lines after `prev` from `seq`, with `v` set to `version`.
fn written(records: &[(SessionFields, Entry, Timestamp)], seq: u64, prev: &str, version: u64) -> String {
    let (mut out, mut prev) = (String::new(), prev.to_string());
    for (i, (fields, entry, ts)) in records.iter().enumerate() {
        let mut record = unsealed(fields, entry, seq + i as u64, &prev, *ts);
        record.insert("v".into(), version.into());
        let (line, hash) = seal(record);
        out.push_str(&line);
        out.push('\n');
        prev = hash;
    }
    out
}

fn vector(name: &str) -> String {
    let path = Path::new(DIR).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The last line's `(seq, hash)`.
fn head(file: &str) -> (u64, String) {
    let last: Value = serde_json::from_str(file.lines().last().expect("a record")).expect("json");
    (last["seq"].as_u64().expect("seq"), last["hash"].as_str().expect("hash").to_string())
}

#[test]
fn the_writer_produces_the_vectors_byte_for_byte() {
    let chain = written(&session(), 1, GENESIS, 2);
    assert_eq!(chain, vector("chain.jsonl"), "the chain's records are written differently");
    let (seq, hash) = head(&chain);
    assert_eq!(written(&rotated(), seq + 1, &hash, 2), vector("rotated.jsonl"), "the rotation differs");
    assert_eq!(written(&version_1(), 1, GENESIS, 1), vector("v1.jsonl"), "version 1 differs");
}

#[test]
fn the_hash_of_a_record_is_that_of_its_line_without_the_hash_member() {
    let mut checked = 0;
    for name in ["chain.jsonl", "rotated.jsonl", "v1.jsonl"] {
        for line in vector(name).lines() {
            let hash = serde_json::from_str::<Value>(line).expect("json")["hash"]
                .as_str()
                .expect("hash")
                .to_string();
            let input = line.replace(&format!(",\"hash\":\"{hash}\""), "");
            assert_eq!(cage::audit::sha256_hex(input.as_bytes()), hash, "{name}: {line}");
            checked += 1;
        }
    }
    assert_eq!(checked, 11);
}

#[test]
fn keys_are_in_byte_order_whatever_order_they_were_inserted_in() {
    let mut record = Map::new();
    for key in ["ü", "tty", "title_hex", "title", "ts", "su_user", "Z", "_", "a"] {
        record.insert(key.into(), Value::Null);
    }
    let expected = r#"{"Z":null,"_":null,"a":null,"su_user":null,"title":null,"title_hex":null,"ts":null,"tty":null,"ü":null}"#;
    assert_eq!(to_text(&Value::Object(record.clone()), 2), expected, "serde_json's preserve_order is on?");
    assert_eq!(to_text(&Value::Object(record), 1), expected);
}

#[test]
fn every_verifier_says_what_expected_txt_says() {
    let scratch = tampered_copies();
    let mut cases = 0;
    for line in vector("expected.txt").lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (files, verdict) = line.split_once(" -> ").unwrap_or_else(|| panic!("bad line {line:?}"));
        let paths: Vec<PathBuf> = files.split(' ').map(|f| locate(f, &scratch)).collect();
        let expected = Said::read(verdict);
        if let [only] = &paths[..] {
            assert_eq!(library(only), expected, "cage::audit::verify on {files}");
        }
        assert_eq!(cagectl(&paths), expected, "cagectl audit verify {files}");
        assert_eq!(python(&paths), expected, "tools/cage-verify-trail {files}");
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} cases");
}

/// What a verifier says of some files: all of them verify with this many records in all,
/// or the first broken record is at this line of this file (its name in expected.txt).
#[derive(Debug, PartialEq, Eq)]
enum Said {
    Verified(usize),
    Broken(String, usize),
}

impl Said {
    fn read(text: &str) -> Said {
        let parsed = match text.split_once(' ') {
            Some(("ok", n)) => n.parse().ok().map(Said::Verified),
            Some(("broken", at)) => {
                at.rsplit_once(':').and_then(|(f, l)| Some(Said::Broken(f.into(), l.parse().ok()?)))
            }
            _ => None,
        };
        parsed.unwrap_or_else(|| panic!("bad verdict {text:?}"))
    }
}

/// The name expected.txt uses for `path`.
fn named(path: &str) -> String {
    let path = path.strip_prefix(&format!("{DIR}/")).unwrap_or(path);
    path.split_once("/tampered/").map_or(path.to_string(), |(_, f)| format!("tampered/{f}"))
}

fn locate(name: &str, scratch: &Path) -> PathBuf {
    match name.strip_prefix("tampered/") {
        Some(file) => scratch.join("tampered").join(file),
        None => Path::new(DIR).join(name),
    }
}

fn library(path: &Path) -> Said {
    let text = std::fs::read(path).expect("vector");
    match verify(&text) {
        Ok(verified) => Said::Verified(verified.records),
        Err(broken) => Said::Broken(named(&path.display().to_string()), broken.line),
    }
}

/// `FILE: ...` lines of a verifier's output: records per file, or where it broke.
fn said(status: Option<i32>, out: &str, records: impl Fn(&str) -> Option<usize>, broken: &str) -> Said {
    let mut total = 0;
    for line in out.lines() {
        let Some((file, rest)) = line.split_once(": ") else { continue };
        if let Some(at) = rest.strip_prefix(broken) {
            let number: String = at.chars().take_while(char::is_ascii_digit).collect();
            return Said::Broken(named(file), number.parse().expect("a line number"));
        }
        total += records(rest).unwrap_or_else(|| panic!("unexpected output {line:?}"));
    }
    assert_eq!(status, Some(0), "{out}");
    Said::Verified(total)
}

/// cagectl is a package of its own (cagectl/): a build of the workspace (`cargo nextest run`
/// at the root, `make tests`) leaves it next to cage.
fn cagectl(paths: &[PathBuf]) -> Said {
    let bin = Path::new(env!("CARGO_BIN_EXE_cage")).with_file_name("cagectl");
    assert!(bin.exists(), "{} is missing: build the workspace (cargo build at the root)", bin.display());
    let out = Command::new(bin).args(["audit", "verify"]).args(paths).output();
    let out = out.expect("run cagectl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `ok, 7 records, starts the chain, ...`
    let records = |rest: &str| rest.strip_prefix("ok, ")?.split(' ').next()?.parse().ok();
    said(out.status.code(), &stdout, records, "BROKEN at line ")
}

fn python(paths: &[PathBuf]) -> Said {
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/cage-verify-trail");
    let out = Command::new("python3").arg(tool).args(paths).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `7 records, seq 1..7, ok`
    let records = |rest: &str| rest.split(' ').next()?.parse().ok();
    said(out.status.code(), &stdout, records, "line ")
}

/// Tampered copies of chain.jsonl (7 records), written to a scratch directory whose
/// `tampered/` holds them under the names expected.txt gives.
fn tampered_copies() -> PathBuf {
    let scratch = std::env::temp_dir().join(format!("cage-audit-vectors-{}", std::process::id()));
    let dir = scratch.join("tampered");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let chain = vector("chain.jsonl");
    let lines: Vec<&str> = chain.lines().collect();
    let file = |lines: &[&str]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let without = |skip: usize| file(&[&lines[..skip], &lines[skip + 1..]].concat());
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let mut relinked: Map<String, Value> = serde_json::from_str(lines[1]).expect("json");
    relinked.insert("title".into(), "sudohead -n 1 /etc/hostname".into());
    relinked.remove("hash");
    let relinked = seal(relinked).0;
    let hash = head(&file(&lines[..2])).1;
    let copies = [
        ("changed-byte.jsonl", chain.replacen("\"bytes\":1234", "\"bytes\":1235", 1)),
        ("changed-hash.jsonl", chain.replacen(&hash, &flipped(&hash), 1)),
        ("removed-record.jsonl", without(2)),
        ("first-removed.jsonl", without(0)),
        ("reordered.jsonl", file(&swapped)),
        ("rewritten.jsonl", file(&[&lines[..1], &[relinked.as_str()], &lines[2..]].concat())),
        ("cut-short.jsonl", chain.trim_end_matches('\n').to_string()),
        ("last-removed.jsonl", without(lines.len() - 1)),
    ];
    for (name, text) in copies {
        assert_ne!(text, chain, "{name} is a copy that changes something");
        std::fs::write(dir.join(name), text).expect("write a tampered copy");
    }
    scratch
}

/// `hash` with its first digit changed.
fn flipped(hash: &str) -> String {
    let first = if hash.starts_with('0') { "1" } else { "0" };
    format!("{first}{}", &hash[1..])
}
