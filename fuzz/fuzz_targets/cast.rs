//! Session recordings (asciicast v2, what `asciinema play` reads back): the input is a
//! sequence of reads from either side of the terminal, written as cage's recorder writes
//! them. Properties: each line of the cast is JSON (a header, then `[seconds, code, text]`);
//! the text of each direction is exactly the UTF-8 reading of all its bytes together, however
//! the reads cut its characters; the digest and size reported are those of the bytes written.
#![no_main]

use cage::audit::sha256_hex;
use cage::session::recording::cast::{Cast, Header, Kind};
use cage_fuzz::Input;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let header = Header { width: 80, height: 24, timestamp: 1_800_000_000, term: Some("xterm"), title: "t" };
    let mut cast = Cast::start(Vec::new(), &header).expect("a header is written");
    let (mut typed, mut shown) = (Vec::new(), Vec::new());
    let mut seconds = 0.0;
    while !input.is_empty() {
        let kind = input.pick(&[Kind::Input, Kind::Output, Kind::Resize]);
        seconds += f64::from(input.byte()) / 7.0;
        let read = input.bytes(64);
        cast.event(seconds, kind, read).expect("writing to memory");
        match kind {
            Kind::Input => typed.extend_from_slice(read),
            Kind::Output => shown.extend_from_slice(read),
            Kind::Resize => {}
        }
    }
    // A last read of plain text completes both directions: nothing is left held back.
    for kind in [Kind::Input, Kind::Output] {
        cast.event(seconds, kind, b".").expect("writing to memory");
    }
    typed.push(b'.');
    shown.push(b'.');
    let (bytes, summary) = cast.finish().expect("finish");
    assert_eq!((summary.sha256, summary.bytes), (sha256_hex(&bytes), bytes.len() as u64));
    let text = std::str::from_utf8(&bytes).expect("a cast is UTF-8");
    let mut lines = text.split_terminator('\n');
    let head: Value = serde_json::from_str(lines.next().expect("a header")).expect("the header is JSON");
    assert_eq!(head["version"], 2);
    let (mut read_typed, mut read_shown) = (String::new(), String::new());
    for line in lines {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let (at, code, data) = (event[0].as_f64(), event[1].as_str(), event[2].as_str());
        assert!(at.is_some_and(|t| t >= 0.0) && data.is_some_and(|d| !d.is_empty()), "{line}");
        match code {
            Some("i") => read_typed.push_str(data.unwrap_or_default()),
            Some("o") => read_shown.push_str(data.unwrap_or_default()),
            Some("r") => {}
            other => panic!("event code {other:?}"),
        }
    }
    assert_eq!(read_typed, String::from_utf8_lossy(&typed));
    assert_eq!(read_shown, String::from_utf8_lossy(&shown));
});
