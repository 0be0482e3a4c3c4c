//! Reading the trail (`cagectl audit show`, `tail`, `export`), on any lines: each line that
//! is a JSON object is shown as a table row, exported in the OAC layout and matched against
//! a filter. Properties: a row is one line in which no character a terminal would obey
//! appears (a record cannot paint the admin's terminal); an export is JSON whose `time`, when
//! there is one, has asctime's shape.
#![no_main]

use cage::time::Timestamp;
use cage_fuzz::obeyed_by_terminals;
use cagectl::audit_export::oac;
use cagectl::audit_show::{row, Filter};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let (filter_text, trail) = data.split_at(data.iter().position(|&b| b == b'\n').unwrap_or(0));
    let filter = filter(&String::from_utf8_lossy(filter_text));
    for line in trail.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(record) = serde_json::from_slice::<Map<String, Value>>(line) else { continue };
        let shown = row(&record);
        assert!(!shown.chars().any(obeyed_by_terminals), "{shown:?}");
        let exported = oac(&record);
        let _ = serde_json::to_string(&exported).expect("an export is JSON");
        if let Some(time) = exported["time"].as_str() {
            let shape = time.len() == 24 && time.as_bytes()[3] == b' ' && time.as_bytes()[19] == b' ';
            assert!(shape, "{time:?} is not asctime's shape");
        }
        let _ = filter.matches(&record);
    }
});

/// A filter from the first line: `FIELD=VALUE` pairs separated by spaces.
fn filter(text: &str) -> Filter {
    let mut filter = Filter::default();
    for (key, value) in text.split(' ').filter_map(|pair| pair.split_once('=')) {
        let time = Timestamp::parse_rfc3339(value).ok();
        match key {
            "req" => filter.req = Some(value.into()),
            "login" => filter.login = Some(value.into()),
            "session" => filter.session = Some(value.into()),
            "since" => filter.since = time,
            "until" => filter.until = time,
            "event" => filter.events = value.split(',').map(str::to_string).collect(),
            _ => {}
        }
    }
    filter
}
