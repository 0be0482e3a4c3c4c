//! Strict RFC 3339 parsing: `2026-11-22T20:15:40.5+02:00` to a UTC [`Timestamp`].
#![forbid(unsafe_code)]

use super::{shown, TimeError, Timestamp, EPOCH};
use jiff::civil::{Date, DateTime};

/// An example shown in syntax errors, so the fix is obvious.
const EXAMPLE: &str = "2026-11-22T20:15:40Z";

/// The fields of a timestamp as written, before range checks; each is at most 4 digits.
struct Fields {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Seconds east of UTC.
    offset: i64,
}

/// Parses a full RFC 3339 date-time with an explicit offset; see [`Timestamp::parse_rfc3339`].
///
/// The syntax is checked here, by a cursor that says what it expected and where; jiff only
/// receives fields of the right shape, so none of its leniencies (a space for `T`, missing
/// seconds, `+0200`, bracketed time zones, a clamped leap second) can reach a grant.
pub(super) fn parse(s: &str) -> Result<Timestamp, TimeError> {
    if s.is_empty() {
        return Err(TimeError::new(format!("empty timestamp; expected e.g. `{EXAMPLE}`")));
    }
    let fields = Cursor { s, pos: 0 }.fields()?;
    let local = civil(&fields, s)?;
    let secs = local.duration_since(EPOCH).as_secs() - fields.offset;
    Timestamp::from_unix(secs, fields.nanos).ok_or_else(|| {
        TimeError::new(format!("`{}` is outside years 0000-9999 once converted to UTC", shown(s)))
    })
}

/// The date and time as written, in whole seconds; refuses fields that are well-formed digits
/// but not a real date or time of day, naming the field (jiff's own errors would not).
fn civil(f: &Fields, s: &str) -> Result<DateTime, TimeError> {
    let bad = |what: String| Err(TimeError::new(format!("{what} in `{}`", shown(s))));
    if !(1..=12).contains(&f.month) {
        return bad(format!("invalid month {:02}", f.month));
    }
    // Four digits fit an i16, two an i8: the casts below cannot truncate.
    let (year, month) = (f.year as i16, f.month as i8);
    let month_days = Date::new(year, month, 1).map_or(0, |first| first.days_in_month() as u32);
    if f.day == 0 || f.day > month_days {
        return bad(format!("invalid day {:02} ({:04}-{:02} has {month_days} days)", f.day, f.year, f.month));
    }
    if f.hour > 23 {
        return bad(format!("invalid hour {:02}", f.hour));
    }
    if f.minute > 59 {
        return bad(format!("invalid minute {:02}", f.minute));
    }
    if f.second == 60 {
        return bad("leap second 60 is not supported".to_string());
    }
    if f.second > 59 {
        return bad(format!("invalid second {:02}", f.second));
    }
    let (day, hour, minute, second) = (f.day as i8, f.hour as i8, f.minute as i8, f.second as i8);
    DateTime::new(year, month, day, hour, minute, second, 0).or_else(|e| bad(format!("invalid date ({e})")))
}

/// A position in the input; every method consumes exactly what it expects or fails.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn fields(mut self) -> Result<Fields, TimeError> {
        let year = self.number(4, "a 4-digit year")?;
        self.byte(b"-", "`-` after the year")?;
        let month = self.number(2, "a 2-digit month")?;
        self.byte(b"-", "`-` after the month")?;
        let day = self.number(2, "a 2-digit day")?;
        self.byte(b"Tt", "`T` between date and time")?;
        let hour = self.number(2, "a 2-digit hour")?;
        self.byte(b":", "`:` after the hour")?;
        let minute = self.number(2, "a 2-digit minute")?;
        self.byte(b":", "`:` after the minute")?;
        let second = self.number(2, "2-digit seconds")?;
        let nanos = self.fraction()?;
        let offset = self.offset()?;
        if self.pos < self.s.len() {
            return Err(self.expected("the end after the UTC offset"));
        }
        Ok(Fields { year, month, day, hour, minute, second, nanos, offset })
    }

    /// Optional `.` and 1 to 9 digits, as nanoseconds.
    fn fraction(&mut self) -> Result<u32, TimeError> {
        if self.peek() != Some(b'.') {
            return Ok(0);
        }
        self.pos += 1;
        let start = self.pos;
        let mut nanos = 0;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == 9 {
                return Err(self.error("fraction of a second longer than 9 digits"));
            }
            nanos = nanos * 10 + u32::from(digit - b'0');
            self.pos += 1;
        }
        let count = self.pos - start;
        if count == 0 {
            return Err(self.expected("digits after `.`"));
        }
        // Scale to nanoseconds: `.5` is 500_000_000.
        Ok(nanos * 10u32.pow(9 - count as u32))
    }

    /// `Z`, `z`, or `+HH:MM` / `-HH:MM`, as seconds east of UTC.
    fn offset(&mut self) -> Result<i64, TimeError> {
        let sign = match self.peek() {
            Some(b'Z' | b'z') => {
                self.pos += 1;
                return Ok(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(self.expected("a UTC offset (`Z`, `+HH:MM` or `-HH:MM`)")),
        };
        self.pos += 1;
        let hours = self.number(2, "2-digit offset hours")?;
        self.byte(b":", "`:` in the UTC offset")?;
        let minutes = self.number(2, "2-digit offset minutes")?;
        if hours > 23 || minutes > 59 {
            return Err(self.error(&format!("invalid UTC offset {hours:02}:{minutes:02}")));
        }
        Ok(sign * (i64::from(hours) * 3_600 + i64::from(minutes) * 60))
    }

    /// Exactly `width` ASCII digits.
    fn number(&mut self, width: usize, what: &str) -> Result<u32, TimeError> {
        let mut value = 0;
        for _ in 0..width {
            match self.peek().filter(u8::is_ascii_digit) {
                Some(digit) => value = value * 10 + u32::from(digit - b'0'),
                None => return Err(self.expected(what)),
            }
            self.pos += 1;
        }
        Ok(value)
    }

    /// One byte out of `allowed`.
    fn byte(&mut self, allowed: &[u8], what: &str) -> Result<(), TimeError> {
        match self.peek() {
            Some(b) if allowed.contains(&b) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.expected(what)),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn expected(&self, what: &str) -> TimeError {
        self.error(&format!("expected {what}"))
    }

    /// Everything before `pos` is ASCII (or we would have failed earlier), so the byte
    /// position is also the character position.
    fn error(&self, problem: &str) -> TimeError {
        TimeError::new(format!(
            "{problem} at character {} of `{}` (format: `{EXAMPLE}`)",
            self.pos + 1,
            shown(self.s)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(s: &str) -> (i64, u32) {
        match parse(s) {
            Ok(t) => (t.unix_secs(), t.subsec_nanos()),
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn error(s: &str) -> String {
        match parse(s) {
            Ok(t) => panic!("`{s}` should be refused, got {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn utc_timestamps_parse() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), (0, 0));
        assert_eq!(unix("2026-11-22T20:15:40Z"), (1_795_378_540, 0));
        assert_eq!(unix("2026-11-22t20:15:40z"), (1_795_378_540, 0));
        assert_eq!(unix("1969-12-31T23:59:59Z"), (-1, 0));
    }

    #[test]
    fn fractions_of_1_to_9_digits_become_nanoseconds() {
        assert_eq!(unix("2026-11-22T20:15:40.5Z").1, 500_000_000);
        assert_eq!(unix("2026-11-22T20:15:40.123456789Z").1, 123_456_789);
        assert_eq!(unix("2026-11-22T20:15:40.000000001Z").1, 1);
        assert!(error("2026-11-22T20:15:40.1234567890Z")
            .starts_with("fraction of a second longer than 9 digits at character 30"));
        assert!(error("2026-11-22T20:15:40.Z").starts_with("expected digits after `.`"));
    }

    #[test]
    fn offsets_are_subtracted_to_get_utc() {
        let utc = unix("2026-11-22T20:15:40Z");
        assert_eq!(unix("2026-11-22T22:15:40+02:00"), utc);
        assert_eq!(unix("2026-11-22T14:45:40-05:30"), utc);
        assert_eq!(unix("2026-11-23T01:45:40+05:30"), utc);
        assert_eq!(unix("2026-11-22T20:15:40-00:00"), utc);
        assert!(error("2026-11-22T20:15:40+24:00").starts_with("invalid UTC offset 24:00"));
        assert!(error("2026-11-22T20:15:40+02:60").starts_with("invalid UTC offset 02:60"));
        assert!(error("2026-11-22T20:15:40+0200").starts_with("expected `:` in the UTC offset"));
    }

    #[test]
    fn a_missing_offset_is_refused() {
        assert_eq!(
            error("2026-11-22T20:15:40"),
            "expected a UTC offset (`Z`, `+HH:MM` or `-HH:MM`) at character 20 of \
             `2026-11-22T20:15:40` (format: `2026-11-22T20:15:40Z`)"
        );
    }

    #[test]
    fn impossible_dates_and_times_are_refused() {
        assert_eq!(error("2026-13-01T00:00:00Z"), "invalid month 13 in `2026-13-01T00:00:00Z`");
        assert!(error("2026-00-01T00:00:00Z").starts_with("invalid month 00"));
        assert_eq!(
            error("2026-02-30T00:00:00Z"),
            "invalid day 30 (2026-02 has 28 days) in `2026-02-30T00:00:00Z`"
        );
        assert!(error("2026-04-31T00:00:00Z").starts_with("invalid day 31 (2026-04 has 30"));
        assert!(error("2026-01-00T00:00:00Z").starts_with("invalid day 00"));
        assert!(error("2026-01-01T24:00:00Z").starts_with("invalid hour 24"));
        assert!(error("2026-01-01T00:60:00Z").starts_with("invalid minute 60"));
        assert!(error("2026-12-31T23:59:60Z").starts_with("leap second 60 is not supported"));
        assert!(error("2026-01-01T00:00:61Z").starts_with("invalid second 61"));
    }

    #[test]
    fn february_29_exists_only_in_leap_years() {
        assert_eq!(unix("2024-02-29T00:00:00Z").0, 1_709_164_800);
        assert_eq!(unix("2000-02-29T00:00:00Z").0, 951_782_400);
        assert!(error("2026-02-29T00:00:00Z").starts_with("invalid day 29 (2026-02 has 28"));
        assert!(error("1900-02-29T00:00:00Z").starts_with("invalid day 29 (1900-02 has 28"));
    }

    #[test]
    fn only_years_0000_to_9999_in_utc_are_accepted() {
        assert_eq!(unix("0000-01-01T00:00:00Z").0, -62_167_219_200);
        assert_eq!(unix("9999-12-31T23:59:59.999999999Z"), (253_402_300_799, 999_999_999));
        assert!(error("9999-12-31T23:30:00-01:00").contains("outside years 0000-9999"));
        assert!(error("0000-01-01T00:30:00+01:00").contains("outside years 0000-9999"));
        assert!(error("10000-01-01T00:00:00Z").starts_with("expected `-` after the year"));
        assert!(error("-001-01-01T00:00:00Z").starts_with("expected a 4-digit year"));
    }

    #[test]
    fn syntax_errors_say_what_was_expected_and_where() {
        assert_eq!(error(""), "empty timestamp; expected e.g. `2026-11-22T20:15:40Z`");
        assert!(
            error("2026-11-22 20:15:40Z").starts_with("expected `T` between date and time at character 11")
        );
        assert!(error("2026-11-22").starts_with("expected `T` between date and time at character 11"));
        assert!(error("2026-1-22T20:15:40Z").starts_with("expected a 2-digit month at character 7"));
        assert!(error("2026-11-22T20:15:40Zjunk").starts_with("expected the end after the UTC offset"));
        assert!(error("2026-11-22T20:15:40Z ").starts_with("expected the end"));
        assert!(error("２026-11-22T20:15:40Z").starts_with("expected a 4-digit year at character 1"));
        assert!(error("2026-11-22T20:15:40\u{1b}[2J").contains("`2026-11-22T20:15:40\\x1b[2J`"));
    }

    #[test]
    fn forms_jiff_would_accept_are_still_refused() {
        assert!(error("2026-11-22T20:15Z").starts_with("expected `:` after the minute at character 17"));
        assert!(error("20261122T201540Z").starts_with("expected `-` after the year"));
        assert!(error("2026-11-22T20:15:40,5Z").starts_with("expected a UTC offset"));
        assert!(error("2026-11-22T20:15:40Z[UTC]").starts_with("expected the end after the UTC offset"));
        assert!(error("2026-11-22T20:15:40+02:00:00").starts_with("expected the end after the UTC offset"));
        assert!(error("2026-11-22T20:15:40+25:00").starts_with("invalid UTC offset 25:00"));
        assert!(error("+002026-11-22T20:15:40Z").starts_with("expected a 4-digit year at character 1"));
        assert!(error("2026-11-22T20:15:40+02").starts_with("expected `:` in the UTC offset"));
    }

    #[test]
    fn prefixes_and_single_byte_changes_never_panic() {
        let good = "2026-11-22T20:15:40.123456789+05:30";
        for end in 0..=good.len() {
            let _ = parse(&good[..end]);
        }
        for i in 0..good.len() {
            for byte in [b'0', b'9', b'-', b':', b'.', b'+', b'Z', b'x', b' '] {
                let mut bytes = good.as_bytes().to_vec();
                bytes[i] = byte;
                let _ = parse(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}
