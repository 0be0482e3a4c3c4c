use super::chain::{seal, verify, GENESIS};
use super::record::{unsealed, Entry, SessionFields, Verdict};
use crate::time::Timestamp;
use serde_json::json;

fn fields() -> SessionFields {
    SessionFields {
        session: "5e55".into(),
        req_auth_id: "REQ-1".into(),
        loginid: "opctl_7f3a".into(),
        uid: 4001,
        host: "cps1".into(),
        layer: "cps".into(),
        tty: Some("/dev/pts/3".into()),
        srchost: Some("10.0.0.9".into()),
        pid: 77,
        su_user: None,
    }
}

fn command(title: &[u8], argv: &[&str]) -> Entry {
    let mut entry = Entry::new("command");
    entry.title = title.to_vec();
    entry.argv = argv.iter().map(|a| a.to_string()).collect();
    entry.decision = Some(Verdict::Allow);
    entry.rule = Some("INFRA_DIAG/cps/aliases[df]".into());
    entry
}

/// A file of `entries` chained from the start, as the writer would produce it.
fn file_of(entries: &[Entry]) -> Vec<u8> {
    let (mut prev, mut out) = (GENESIS.to_string(), Vec::new());
    let ts = Timestamp::from_unix(1_800_000_000, 123).expect("time");
    for (i, entry) in entries.iter().enumerate() {
        let (line, hash) = seal(unsealed(&fields(), entry, i as u64 + 1, &prev, ts));
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        prev = hash;
    }
    out
}

fn five() -> Vec<u8> {
    let lines: Vec<Entry> = (0..5).map(|i| command(format!("df -h {i}").as_bytes(), &["df", "-h"])).collect();
    file_of(&lines)
}

fn lines(file: &[u8]) -> Vec<Vec<u8>> {
    file.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
}

#[test]
fn an_untouched_chain_verifies() {
    let verified = verify(&five()).expect("verifies");
    assert_eq!(verified.records, 5);
    assert_eq!(verified.last.seq, 5);
    assert_eq!(verified.continues, None);
    assert_eq!(verify(b"").expect("empty").records, 0);
}

#[test]
fn a_record_has_every_field_and_its_hash_covers_them() {
    let file = five();
    let first: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&lines(&file)[0]).expect("json");
    for key in [
        "v",
        "seq",
        "ts",
        "event",
        "session",
        "req_auth_id",
        "loginid",
        "uid",
        "host",
        "layer",
        "tty",
        "srchost",
        "pid",
        "cwd",
        "title",
        "argv",
        "decision",
        "rule",
        "prev",
        "hash",
    ] {
        assert!(first.contains_key(key), "missing {key}");
    }
    assert_eq!(first["ts"], "2027-01-15T08:00:00.000000123Z");
    assert_eq!(first["prev"], GENESIS);
}

#[test]
fn editing_one_byte_is_found_at_its_line() {
    let mut file = five();
    let at = file.windows(7).position(|w| w == b"df -h 2").expect("third title") + 6;
    file[at] = b'9';
    let broken = verify(&file).expect_err("edited");
    assert_eq!((broken.line, broken.seq), (3, Some(3)), "{broken}");
}

#[test]
fn a_changed_value_with_a_recomputed_hash_breaks_the_next_link() {
    let file = five();
    let mut all = lines(&file);
    // Rewrite record 2 consistently (new title, new hash): record 3's prev no longer matches.
    let mut record: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&all[1]).expect("json");
    record.insert("title".into(), "innocent".into());
    all[1] = seal(record).0.into_bytes();
    let broken = verify(&join(&all)).expect_err("relinked");
    assert_eq!((broken.line, broken.seq), (3, Some(3)), "{broken}");
    assert!(broken.what.contains("prev"), "{broken}");
}

#[test]
fn deleting_a_line_is_found() {
    let mut all = lines(&five());
    all.remove(2);
    let broken = verify(&join(&all)).expect_err("deleted");
    assert_eq!((broken.line, broken.seq), (3, Some(4)), "{broken}");
    assert!(broken.what.contains("missing"), "{broken}");
}

#[test]
fn deleting_the_first_line_is_found() {
    let mut all = lines(&five());
    all.remove(0);
    let broken = verify(&join(&all)).expect_err("deleted");
    assert_eq!(broken.line, 1, "{broken}");
}

#[test]
fn swapping_two_lines_is_found() {
    let mut all = lines(&five());
    all.swap(1, 2);
    let broken = verify(&join(&all)).expect_err("swapped");
    assert_eq!(broken.line, 2, "{broken}");
}

#[test]
fn truncating_the_tail_is_found() {
    let file = five();
    let broken = verify(&file[..file.len() - 30]).expect_err("truncated");
    assert_eq!(broken.line, 5, "{broken}");
    assert!(broken.what.contains("cut short"), "{broken}");
}

#[test]
fn hostile_arguments_cannot_forge_a_record() {
    let nasty = [
        "a\nb",
        "\"},{\"event\":\"logout\"",
        "\x1b[2J\x1b]0;owned\x07",
        "tab\there\r\n",
        "nul\u{0}byte",
        "\u{2028}line separator",
    ];
    let mut entries: Vec<Entry> = nasty.iter().map(|a| command(a.as_bytes(), &["echo", a])).collect();
    entries.push(command(b"bad \xff\xfe utf8", &["x"]));
    let file = file_of(&entries);
    let all = lines(&file);
    assert_eq!(all.len(), entries.len(), "one line per record");
    for (line, arg) in all.iter().zip(nasty) {
        assert!(!line.iter().any(|&b| b < 0x20), "raw control character in {line:?}");
        let record: serde_json::Value = serde_json::from_slice(line).expect("parses");
        assert_eq!(record["argv"][1], arg, "kept unredacted");
    }
    let last: serde_json::Value = serde_json::from_slice(&all[all.len() - 1]).expect("parses");
    assert_eq!(last["title_hex"], "62616420fffe2075746638");
    verify(&file).expect("verifies");
}

#[test]
fn records_syslog_missed_are_still_written_and_counted_in_later_ones() {
    use std::os::unix::net::UnixDatagram;
    use std::sync::Arc;

    use super::{Audit, Target};

    let dir = std::env::temp_dir().join(format!("cage-audit-syslog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (file, socket) = (dir.join("audit.jsonl"), dir.join("log"));
    let daemon = UnixDatagram::bind(&socket).expect("bind");
    let audit = Audit {
        target: Target::File(file.to_str().expect("path").into()),
        syslog: Some(socket.clone()),
        unsent: Arc::default(),
        fields: fields(),
    };
    audit.record(&command(b"df -h", &["df", "-h"])).expect("first");
    audit.record(&Entry::new("logout")).expect("second");
    drop(daemon);
    // No daemon any more: the records are still written, and say how many syslog missed.
    audit.record(&Entry::new("login")).expect("third");
    audit.record(&Entry::new("logout")).expect("fourth");
    let written = std::fs::read(&file).expect("file");
    verify(&written).expect("verifies");
    let all = lines(&written);
    let unsent: Vec<serde_json::Value> = all
        .iter()
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).expect("json")["syslog_unsent"].clone())
        .collect();
    assert_eq!(unsent, [serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null, 1.into()]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syslog_gets_each_record_line_as_written_in_order() {
    use std::os::unix::net::UnixDatagram;
    use std::sync::Arc;

    use super::{Audit, Target};

    let dir = std::env::temp_dir().join(format!("cage-audit-syslog-lines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (file, socket) = (dir.join("audit.jsonl"), dir.join("log"));
    let daemon = UnixDatagram::bind(&socket).expect("bind");
    let audit = Audit {
        target: Target::File(file.to_str().expect("path").into()),
        syslog: Some(socket),
        unsent: Arc::default(),
        fields: fields(),
    };
    let mut denied = command(b"sudocat /etc/shadow", &["sudocat", "/etc/shadow"]);
    denied.decision = Some(Verdict::Deny);
    audit.record(&Entry::new("login")).expect("login");
    audit.record(&denied).expect("deny");
    let written = std::fs::read(&file).expect("file");
    let mut buf = vec![0u8; 65536];
    for (line, pri) in lines(&written).iter().zip(["<86>1 ", "<85>1 "]) {
        let n = daemon.recv(&mut buf).expect("message");
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(message.starts_with(pri), "{message}");
        assert!(message.ends_with(&*String::from_utf8_lossy(line)), "{message}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invisible_characters_are_escaped_in_the_raw_trail_and_still_read_as_typed() {
    let typed = ["rev\u{202e}txt.exe", "zero\u{200b}width", "c1\u{85}next", "tag\u{e0041}"];
    let entries: Vec<Entry> = typed.iter().map(|t| command(t.as_bytes(), &["echo", t])).collect();
    let file = file_of(&entries);
    let text = String::from_utf8(file.clone()).expect("utf-8");
    for raw in ['\u{202e}', '\u{200b}', '\u{85}', '\u{e0041}'] {
        assert!(!text.contains(raw), "{raw:?} written raw: {text}");
    }
    assert!(text.contains(r"rev\u202etxt.exe") && text.contains(r"tag\udb40\udc41"), "{text}");
    for (line, t) in lines(&file).iter().zip(typed) {
        let record: serde_json::Value = serde_json::from_slice(line).expect("parses");
        assert_eq!((record["title"].as_str(), record["v"].as_u64()), (Some(t), Some(2)));
    }
    verify(&file).expect("verifies");
    // The same record with the character written raw is not canonical: an edit.
    let raw = text.replacen(r"\u202e", "\u{202e}", 1);
    assert!(verify(raw.as_bytes()).is_err_and(|b| b.what.contains("canonical")), "raw bidi accepted");
}

#[test]
fn a_trail_of_version_1_records_still_verifies() {
    // Version 1 hashed and wrote serde_json's own form, invisible characters raw.
    let mut prev = GENESIS.to_string();
    let mut file = Vec::new();
    for (seq, title) in [(1u64, "plain"), (2, "bidi\u{202e}raw")] {
        let ts = Timestamp::from_unix(1_800_000_000, 0).expect("time");
        let mut record = unsealed(&fields(), &command(title.as_bytes(), &["echo"]), seq, &prev, ts);
        record.insert("v".into(), 1.into());
        let hash = super::chain::sha256_hex(serde_json::Value::Object(record.clone()).to_string().as_bytes());
        record.insert("hash".into(), hash.clone().into());
        file.extend_from_slice(serde_json::Value::Object(record).to_string().as_bytes());
        file.push(b'\n');
        prev = hash;
    }
    assert!(String::from_utf8_lossy(&file).contains('\u{202e}'));
    assert_eq!(verify(&file).expect("a version 1 trail verifies").records, 2);
}

#[test]
fn a_number_that_is_not_an_integer_is_not_canonical() {
    // Found by the audit_verify fuzz target: `"uid":600.1` with its hash made right verified,
    // though the canonical form has integers only (docs/audit-format.md).
    for fraction in [json!(4.5), json!(1.0), json!([0, 2.5]), json!({"ms": -0.5})] {
        let ts = Timestamp::from_unix(1_800_000_000, 0).expect("time");
        let entry = Entry::new("exit").with("duration_ms", fraction.clone());
        let (line, _) = seal(unsealed(&fields(), &entry, 1, GENESIS, ts));
        let broken = verify(format!("{line}\n").as_bytes()).expect_err("a fraction verified");
        assert_eq!((broken.line, broken.seq), (1, Some(1)), "{fraction}: {broken}");
        assert!(broken.what.contains("canonical"), "{fraction}: {broken}");
    }
}

#[test]
fn the_chain_goes_on_from_the_last_records_seq_and_hash_and_refuses_a_bad_last_record() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("cage-head-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("audit.jsonl");
    let head_of = |bytes: &[u8]| {
        std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes)).expect("write");
        super::file::last_record(&std::fs::File::open(&path).expect("open")).map_err(|e| e.to_string())
    };
    let file = five();
    let last: serde_json::Value = serde_json::from_slice(lines(&file).last().expect("line")).expect("json");
    let head = head_of(&file).expect("head");
    assert_eq!((head.seq, Some(head.hash.as_str())), (5, last["hash"].as_str()));
    for bad in [
        &b"{\"seq\":6}\n"[..],
        b"{\"seq\":\"6\",\"hash\":\"ab\"}\n",
        b"[6]\n",
        b"{\"seq\":6,\"hash\":\"a\",\"seq\":7}\n",
    ] {
        let mut file = file.clone();
        file.extend_from_slice(bad);
        let error = head_of(&file).expect_err(&String::from_utf8_lossy(bad));
        assert!(error.contains("last record is not valid"), "{error}");
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
