//! The audit writer and `verify` together: records made of the fuzzer's choices (any text,
//! titles that are not UTF-8, members of every JSON type, format versions 1 and 2) are sealed
//! into a chain as cage writes it, and a rotation continues it in a second file. Properties:
//! each line is the canonical form docs/audit-format.md specifies; both files verify, the
//! second continuing the first; a title reads back exactly; and the chain is refused with a
//! record removed, two records swapped, its end cut, or any one byte changed.
#![no_main]

use cage::audit::chain::{seal, verify, GENESIS};
use cage::audit::record::{unsealed, Entry, SessionFields, Verdict};
use cage::time::Timestamp;
use cage_fuzz::{canonical, Input};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const EVENTS: &[&str] = &["login", "logout", "command", "exit", "exec", "file", "su", "grant"];

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let fields = session(&mut input);
    let ts = Timestamp::from_unix(i64::from(input.u32()), input.u32() % 1_000_000_000).expect("in range");
    let (mut lines, mut titles, mut prev) = (Vec::new(), Vec::new(), GENESIS.to_string());
    for seq in 1..=u64::from(input.byte() % 6 + 1) {
        let entry = entry(&mut input);
        let mut record = unsealed(&fields, &entry, seq, &prev, ts);
        match input.byte() % 4 {
            0 => _ = record.insert("v".into(), 1.into()),
            1 => _ = record.remove("v"),
            _ => {}
        }
        let (line, hash) = seal(record);
        titles.push(entry.title);
        lines.push(line);
        prev = hash;
    }
    let file = joined(&lines);
    let verified = verify(file.as_bytes()).unwrap_or_else(|e| panic!("{e} in {file}"));
    assert_eq!(
        (verified.records, verified.last.hash.as_str(), verified.continues),
        (lines.len(), prev.as_str(), None)
    );
    for (line, title) in lines.iter().zip(&titles) {
        let value: Value = serde_json::from_str(line).expect("a record is JSON");
        assert_eq!(canonical::text(&value, canonical::version(&value)).as_deref(), Some(line.as_str()));
        assert_eq!(value["title"], String::from_utf8_lossy(title).as_ref());
        let hex: String = title.iter().map(|b| format!("{b:02x}")).collect();
        let expected_hex = std::str::from_utf8(title).is_err().then_some(hex.as_str());
        assert_eq!(value.get("title_hex").and_then(Value::as_str), expected_hex, "{line}");
    }
    let rotate = Entry::new("rotate").with("prev_file", "audit.jsonl.20270115T080000Z");
    let (first, _) = seal(unsealed(&fields, &rotate, lines.len() as u64 + 1, &prev, ts));
    let next = verify(format!("{first}\n").as_bytes()).expect("the rotated file verifies");
    assert_eq!(next.continues, Some(verified.last), "the rotated file continues the chain");
    tampered(&lines, &file, &mut input);
});

/// Every way of breaking `lines` that `verify` must refuse.
fn tampered(lines: &[String], file: &str, input: &mut Input) {
    let refused =
        |text: &str, what: &str| assert!(verify(text.as_bytes()).is_err(), "{what} verified: {text}");
    refused(&file[..file.len() - 1], "the end cut");
    // Records removed from the end of a file leave a shorter chain, which still verifies.
    if lines.len() >= 2 {
        let gone = usize::from(input.byte()) % (lines.len() - 1);
        let kept: Vec<String> =
            lines.iter().enumerate().filter(|(i, _)| *i != gone).map(|(_, l)| l.clone()).collect();
        refused(&joined(&kept), "a record removed");
        let mut swapped = lines.to_vec();
        swapped.swap(gone, (gone + 1) % lines.len());
        refused(&joined(&swapped), "two records swapped");
    }
    let mut bytes = file.as_bytes().to_vec();
    let at = input.u32() as usize % bytes.len();
    bytes[at] ^= input.byte().max(1);
    assert!(verify(&bytes).is_err(), "byte {at} changed and still verified");
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn session(input: &mut Input) -> SessionFields {
    let maybe = |input: &mut Input| input.flip().then(|| input.text(16));
    SessionFields {
        session: input.text(32),
        req_auth_id: input.text(16),
        loginid: input.text(16),
        uid: input.u32(),
        host: input.text(16),
        layer: input.text(8),
        tty: maybe(input),
        srchost: maybe(input),
        pid: input.u32(),
        su_user: maybe(input),
    }
}

fn entry(input: &mut Input) -> Entry {
    let mut entry = Entry::new(input.pick(EVENTS));
    entry.cwd = input.flip().then(|| input.text(24));
    entry.title = input.bytes(48).to_vec();
    entry.argv = (0..input.byte() % 4).map(|_| input.text(16)).collect();
    entry.decision = input.pick(&[None, Some(Verdict::Allow), Some(Verdict::Deny)]);
    entry.rule = input.flip().then(|| input.text(24));
    for _ in 0..input.byte() % 3 {
        let key = input.text(12);
        entry.extra.insert(key, value(input, 2));
    }
    entry
}

/// A JSON value of any type the writer can be given (integers, never fractions).
fn value(input: &mut Input, depth: u8) -> Value {
    match input.byte() % if depth == 0 { 5 } else { 7 } {
        0 => Value::Null,
        1 => Value::Bool(input.flip()),
        2 => Value::from(input.u64()),
        3 => Value::from(input.u64() as i64),
        4 => Value::String(input.text(32)),
        5 => Value::Array((0..input.byte() % 3).map(|_| value(input, depth - 1)).collect()),
        _ => Value::Object(
            (0..input.byte() % 3).map(|_| (input.text(8), value(input, depth - 1))).collect::<Map<_, _>>(),
        ),
    }
}
