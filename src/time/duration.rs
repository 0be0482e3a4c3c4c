//! Human durations: parsing `1d12h`-style spans and showing time left as `1h 05m`.
#![forbid(unsafe_code)]

use super::{shown, TimeError};
use std::time::Duration;

/// Units in the only order they may appear, largest first, with their length in seconds.
const UNITS: [(char, u64); 5] = [('w', 7 * 86_400), ('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Parses `90s`, `30m`, `8h`, `2d`, `1w` and combinations such as `1d12h` or `1h30m`.
///
/// Units must appear largest first and at most once, so `30m1h` and `1h1h` are refused:
/// a grant length should read one way only. Zero, signs, spaces and overflow are refused.
pub fn parse_duration(s: &str) -> Result<Duration, TimeError> {
    if s.is_empty() {
        return Err(TimeError::new("empty duration; write e.g. `8h` or `1h30m`"));
    }
    let mut total: u64 = 0;
    let mut rest = s;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let (count, unit, tail) = split_component(rest, s)?;
        let index = unit_index(unit, next_unit, s)?;
        let seconds = count
            .checked_mul(UNITS[index].1)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| TimeError::new(format!("duration `{}` is too long", shown(s))))?;
        total = seconds;
        next_unit = index + 1;
        rest = tail;
    }
    if total == 0 {
        return Err(TimeError::new(format!(
            "duration `{}` is zero; a grant must last at least one second",
            shown(s)
        )));
    }
    Ok(Duration::from_secs(total))
}

/// Splits `12h30m` into `(12, 'h', "30m")`; whole input `s` is only for messages.
fn split_component<'a>(rest: &'a str, s: &str) -> Result<(u64, char, &'a str), TimeError> {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(TimeError::new(format!(
            "expected a number in duration `{}` at `{}`",
            shown(s),
            shown(rest)
        )));
    }
    let count = rest[..digits]
        .parse::<u64>()
        .map_err(|_| TimeError::new(format!("duration `{}` is too long", shown(s))))?;
    let mut tail = rest[digits..].chars();
    let unit = tail.next().ok_or_else(|| {
        TimeError::new(format!(
            "missing unit after `{}` in duration `{}` (use w, d, h, m or s)",
            &rest[..digits],
            shown(s)
        ))
    })?;
    Ok((count, unit, tail.as_str()))
}

/// Index of `unit` in [`UNITS`], which must not come before `from`.
fn unit_index(unit: char, from: usize, s: &str) -> Result<usize, TimeError> {
    let index = UNITS.iter().position(|&(u, _)| u == unit).ok_or_else(|| {
        TimeError::new(format!(
            "unknown unit `{}` in duration `{}` (use w, d, h, m or s)",
            shown(&unit.to_string()),
            shown(s)
        ))
    })?;
    if index < from {
        return Err(TimeError::new(format!(
            "unit `{unit}` repeated or out of order in duration `{}` (write largest first, e.g. `1d12h`)",
            shown(s)
        )));
    }
    Ok(index)
}

/// Time left in at most two units: `2d 3h`, `1h 05m`, `4m 10s`, `12s`; `<1s` and `0s` below.
///
/// Truncates rather than rounds, so the time shown is never more than what is left.
pub fn format_remaining(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours) = (secs / 86_400, secs % 86_400 / 3_600);
    let (minutes, seconds) = (secs % 3_600 / 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else if seconds > 0 {
        format!("{seconds}s")
    } else if d.is_zero() {
        "0s".to_string()
    } else {
        "<1s".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        match parse_duration(s) {
            Ok(d) => d.as_secs(),
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn error(s: &str) -> String {
        match parse_duration(s) {
            Ok(d) => panic!("`{s}` should be refused, got {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn single_units_parse() {
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("30m"), 1_800);
        assert_eq!(secs("8h"), 28_800);
        assert_eq!(secs("2d"), 172_800);
        assert_eq!(secs("1w"), 604_800);
    }

    #[test]
    fn combinations_add_up() {
        assert_eq!(secs("1d12h"), 129_600);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs("1w2d3h4m5s"), 604_800 + 172_800 + 10_800 + 240 + 5);
        assert_eq!(secs("1h0m"), 3_600);
    }

    #[test]
    fn malformed_durations_are_refused_with_a_reason() {
        assert_eq!(error(""), "empty duration; write e.g. `8h` or `1h30m`");
        assert!(error("0s").contains("is zero"));
        assert!(error("0h0m").contains("is zero"));
        assert!(error("-5m").contains("expected a number"));
        assert!(error("+5m").contains("expected a number"));
        assert!(error("5").contains("missing unit after `5`"));
        assert!(error("5y").contains("unknown unit `y`"));
        assert!(error("5H").contains("unknown unit `H`"));
        assert!(error("1h 30m").contains("expected a number"));
        assert!(error(" 1h").contains("expected a number"));
        assert!(error("1h ").contains("expected a number"));
        assert!(error("30m1h").contains("out of order"));
        assert!(error("1h1h").contains("repeated"));
        assert!(error("1é").contains("unknown unit `é`"));
        assert!(error("1\u{1b}").contains("unknown unit `\\x1b`"));
    }

    #[test]
    fn overflow_is_refused() {
        assert!(error("99999999999999999999s").contains("too long"));
        assert!(error("18446744073709551615w").contains("too long"));
        assert!(error("213503982334601d25216s").contains("too long"));
        assert_eq!(secs("18446744073709551615s"), u64::MAX);
    }

    #[test]
    fn remaining_time_shows_the_two_largest_units() {
        let show = |s| format_remaining(Duration::from_secs(s));
        assert_eq!(show(2 * 86_400 + 3 * 3_600 + 59), "2d 3h");
        assert_eq!(show(3_600 + 5 * 60 + 59), "1h 05m");
        assert_eq!(show(4 * 60 + 10), "4m 10s");
        assert_eq!(show(4 * 60 + 5), "4m 05s");
        assert_eq!(show(12), "12s");
        assert_eq!(show(0), "0s");
        assert_eq!(format_remaining(Duration::from_millis(300)), "<1s");
        assert_eq!(format_remaining(Duration::MAX), "213503982334601d 7h");
    }
}
