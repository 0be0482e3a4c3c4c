//! RFC 3339 times and durations (grants, requests, `--since`, `--duration`). Properties: a
//! time that parses is written back, in each of cage's forms, as text that parses to the same
//! instant (whole seconds: the same second); a duration that parses is positive and reads the
//! same written in seconds or largest unit first; adding it to a time and measuring back
//! gives it again.
#![no_main]

use std::time::Duration;

use cage::time::{format_remaining, parse_duration, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339_exact()), Ok(t), "{text}");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339_nanos()), Ok(t), "{text}");
        let second = Timestamp::from_unix(t.unix_secs(), 0);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).ok(), second, "{text}");
    }
    if let Ok(d) = parse_duration(text) {
        assert!(!d.is_zero() && d.subsec_nanos() == 0, "{text}: {d:?}");
        assert_eq!(parse_duration(&format!("{}s", d.as_secs())), Ok(d), "{text}");
        assert_eq!(parse_duration(&largest_first(d)), Ok(d), "{text}");
        let _ = format_remaining(d);
        for start in [Timestamp::MIN, Timestamp::from_unix(1_800_000_000, 999_999_999).expect("in range")] {
            if let Some(end) = start.checked_add(d) {
                assert_eq!(end.duration_since(start), Some(d), "{text} after {start:?}");
            }
        }
    }
});

/// `d` as `1w2d3h4m5s`, units without a count left out.
fn largest_first(d: Duration) -> String {
    let mut rest = d.as_secs();
    let mut out = String::new();
    for (unit, secs) in [('w', 604_800), ('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if rest >= secs {
            out.push_str(&format!("{}{unit}", rest / secs));
            rest %= secs;
        }
    }
    out
}
