//! UTC timestamps and durations for grants: RFC 3339 in and out, the calendar from `jiff`.
//!
//! A `Timestamp` is Unix seconds and nanoseconds, not a `jiff::Timestamp`: jiff keeps its
//! instants a day short of 9999-12-31 (so that any UTC offset still gives a civil date-time),
//! while every RFC 3339 time up to 9999-12-31T23:59:59.999999999Z must stay a valid grant end.
//! jiff's civil `DateTime`, which reaches that last nanosecond, does the calendar both ways.
#![forbid(unsafe_code)]

mod duration;
mod rfc3339;
mod serde_text;

pub use duration::{format_remaining, parse_duration};

use crate::shown::shown;
use jiff::civil::{datetime, DateTime};
use jiff::SignedDuration;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 1970-01-01T00:00:00, the civil time of Unix second 0 in UTC.
const EPOCH: DateTime = datetime(1970, 1, 1, 0, 0, 0, 0);

/// 0000-01-01T00:00:00Z: the first instant RFC 3339 can write (four-digit years only).
const MIN_SECS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z: the last whole second RFC 3339 can write.
const MAX_SECS: i64 = 253_402_300_799;
const NANOS_PER_SEC: u32 = 1_000_000_000;

/// An instant in UTC with nanosecond precision, between years 0000 and 9999 inclusive.
///
/// The range is exactly what RFC 3339 can express, so every `Timestamp` can be written
/// back out; constructors return `None` or an error rather than a value outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    // Field order matters: the derived `Ord` compares seconds first.
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// The earliest representable instant, 0000-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp { secs: MIN_SECS, nanos: 0 };
    /// The latest representable instant, 9999-12-31T23:59:59.999999999Z.
    pub const MAX: Timestamp = Timestamp { secs: MAX_SECS, nanos: NANOS_PER_SEC - 1 };

    /// `secs` since 1970-01-01T00:00:00Z plus `nanos`; `None` if `nanos` is not below
    /// one second or the instant is outside years 0000-9999.
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Self> {
        let in_range = (MIN_SECS..=MAX_SECS).contains(&secs) && nanos < NANOS_PER_SEC;
        in_range.then_some(Timestamp { secs, nanos })
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds past [`Self::unix_secs`], always below one second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The current system time, clamped to [`Self::MIN`]..=[`Self::MAX`].
    ///
    /// Clamping instead of failing keeps callers simple; a clock that far off makes every
    /// grant either expired or not yet valid, which fails closed.
    pub fn now() -> Self {
        let epoch = Timestamp { secs: 0, nanos: 0 };
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => epoch.checked_add(after).unwrap_or(Self::MAX),
            Err(before) => epoch.checked_sub(before.duration()).unwrap_or(Self::MIN),
        }
    }

    /// Parses RFC 3339 such as `2026-11-22T20:15:40Z`, `2026-11-22t20:15:40.5+02:00`.
    ///
    /// Strict: four-digit years, an explicit offset, 1 to 9 fraction digits, real calendar
    /// dates only, and no leap second (60), which Unix time cannot represent anyway.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        rfc3339::parse(s)
    }

    /// `2026-11-22T20:15:40Z`, whole seconds (the fraction is dropped, not rounded).
    pub fn to_rfc3339(&self) -> String {
        // Precision 0: jiff truncates the fraction away.
        format!("{:.0}Z", self.civil())
    }

    /// `2026-11-22T20:15:40.000000123Z`, always nine fraction digits, for audit records.
    pub fn to_rfc3339_nanos(&self) -> String {
        format!("{:.9}Z", self.civil())
    }

    /// The shortest exact form: whole seconds when there is no fraction, else nine digits.
    /// Used when writing files, where dropping the fraction would change the grant.
    pub fn to_rfc3339_exact(&self) -> String {
        if self.nanos == 0 {
            self.to_rfc3339()
        } else {
            self.to_rfc3339_nanos()
        }
    }

    /// The civil date and time in UTC.
    fn civil(&self) -> DateTime {
        // Years 0000-9999 are inside DateTime's range, so the addition cannot fail; nanos is
        // below one second, so it fits an i32.
        let since_epoch = SignedDuration::new(self.secs, self.nanos as i32);
        EPOCH.checked_add(since_epoch).unwrap_or(DateTime::MAX)
    }

    /// `self + d`, or `None` past [`Self::MAX`].
    pub fn checked_add(&self, d: Duration) -> Option<Self> {
        let mut secs = self.secs.checked_add(i64::try_from(d.as_secs()).ok()?)?;
        let mut nanos = self.nanos + d.subsec_nanos();
        if nanos >= NANOS_PER_SEC {
            nanos -= NANOS_PER_SEC;
            secs = secs.checked_add(1)?;
        }
        Self::from_unix(secs, nanos)
    }

    /// `self - d`, or `None` before [`Self::MIN`]; only a clock before 1970 needs it.
    fn checked_sub(&self, d: Duration) -> Option<Self> {
        let mut secs = self.secs.checked_sub(i64::try_from(d.as_secs()).ok()?)?;
        let mut nanos = self.nanos;
        if nanos < d.subsec_nanos() {
            nanos += NANOS_PER_SEC;
            secs = secs.checked_sub(1)?;
        }
        Self::from_unix(secs, nanos - d.subsec_nanos())
    }

    /// How long after `earlier` this instant is; `None` if `earlier` is later.
    pub fn duration_since(&self, earlier: Timestamp) -> Option<Duration> {
        if earlier > *self {
            return None;
        }
        // Both are within years 0000-9999, so the difference fits easily.
        let (mut secs, mut nanos) = (self.secs - earlier.secs, self.nanos);
        if nanos < earlier.nanos {
            secs -= 1;
            nanos += NANOS_PER_SEC;
        }
        Some(Duration::new(u64::try_from(secs).ok()?, nanos - earlier.nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Why a timestamp or duration was refused, as one line quoting the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(String);

impl TimeError {
    fn new(message: impl Into<String>) -> Self {
        TimeError(message.into())
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        match Timestamp::parse_rfc3339(s) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn range_constants_match_the_calendar() {
        assert_eq!(MIN_SECS, datetime(0, 1, 1, 0, 0, 0, 0).duration_since(EPOCH).as_secs());
        assert_eq!(MAX_SECS, datetime(9999, 12, 31, 23, 59, 59, 0).duration_since(EPOCH).as_secs());
        assert_eq!(Timestamp::MIN.to_rfc3339(), "0000-01-01T00:00:00Z");
        assert_eq!(Timestamp::MAX.to_rfc3339_nanos(), "9999-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn from_unix_refuses_out_of_range_values() {
        assert!(Timestamp::from_unix(0, 999_999_999).is_some());
        assert!(Timestamp::from_unix(0, 1_000_000_000).is_none());
        assert!(Timestamp::from_unix(MAX_SECS + 1, 0).is_none());
        assert!(Timestamp::from_unix(MIN_SECS - 1, 0).is_none());
        assert!(Timestamp::from_unix(i64::MIN, u32::MAX).is_none());
    }

    #[test]
    fn formatting_writes_utc_with_or_without_nanoseconds() {
        let t = at("2026-11-22T22:15:40.000000123+02:00");
        assert_eq!(t.to_rfc3339(), "2026-11-22T20:15:40Z");
        assert_eq!(t.to_string(), "2026-11-22T20:15:40Z");
        assert_eq!(t.to_rfc3339_nanos(), "2026-11-22T20:15:40.000000123Z");
        assert_eq!(t.to_rfc3339_exact(), "2026-11-22T20:15:40.000000123Z");
        assert_eq!(at("1969-12-31T23:59:59.5Z").to_rfc3339_nanos(), "1969-12-31T23:59:59.500000000Z");
        assert_eq!(at("2024-02-29T12:00:00Z").to_rfc3339_exact(), "2024-02-29T12:00:00Z");
    }

    #[test]
    fn whole_seconds_truncate_the_fraction_rather_than_round() {
        let t = at("2026-12-31T23:59:59.999999999Z");
        assert_eq!(t.to_rfc3339(), "2026-12-31T23:59:59Z");
        assert_eq!(at("1969-12-31T23:59:59.999999999Z").to_rfc3339(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn the_last_day_of_9999_is_kept_although_jiff_timestamps_end_before_it() {
        let t = at("9999-12-31T12:00:00.5Z");
        assert!(t.unix_secs() > jiff::Timestamp::MAX.as_second());
        assert_eq!(t.to_rfc3339_exact(), "9999-12-31T12:00:00.500000000Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339_exact()), Ok(t));
    }

    #[test]
    fn formatting_and_parsing_agree_across_the_whole_range() {
        // A week and 1h 1m 1s: 3_661 is coprime with 86_400, so every second of the day comes
        // up, while the days drift through every month of every kind of year.
        let mut secs = MIN_SECS;
        let mut previous = String::new();
        while secs <= MAX_SECS {
            let t = Timestamp { secs, nanos: 0 };
            let text = t.to_rfc3339();
            assert_eq!(Timestamp::parse_rfc3339(&text), Ok(t));
            assert!(text > previous, "{text} after {previous}");
            previous = text;
            secs += 7 * 86_400 + 3_661;
        }
    }

    #[test]
    fn parse_and_format_round_trip() {
        for s in
            ["0000-01-01T00:00:00Z", "1900-03-01T00:00:00Z", "2000-02-29T23:59:59Z", "9999-12-31T23:59:59Z"]
        {
            assert_eq!(at(s).to_rfc3339(), s);
        }
    }

    #[test]
    fn ordering_compares_seconds_then_nanoseconds() {
        assert!(at("2026-01-01T00:00:00.1Z") > at("2026-01-01T00:00:00Z"));
        assert!(at("2026-01-01T00:00:01Z") > at("2026-01-01T00:00:00.9Z"));
        assert!(at("1969-12-31T23:59:59.9Z") < at("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn adding_carries_nanoseconds_and_stops_at_the_end_of_9999() {
        let t = at("2026-11-22T20:15:40.7Z");
        let later = t.checked_add(Duration::from_millis(1_500));
        assert_eq!(later, Some(at("2026-11-22T20:15:42.2Z")));
        assert_eq!(t.checked_add(Duration::from_secs(8 * 3_600)), Some(at("2026-11-23T04:15:40.7Z")));
        assert_eq!(Timestamp::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(Timestamp::MIN.checked_sub(Duration::from_nanos(1)), None);
    }

    #[test]
    fn duration_since_borrows_nanoseconds_and_refuses_negative_spans() {
        let (a, b) = (at("2026-11-22T20:15:40.2Z"), at("2026-11-22T20:15:42.1Z"));
        assert_eq!(b.duration_since(a), Some(Duration::from_millis(1_900)));
        assert_eq!(a.duration_since(b), None);
        assert_eq!(a.duration_since(a), Some(Duration::ZERO));
        assert_eq!(
            Timestamp::MAX.duration_since(Timestamp::MIN),
            Some(Duration::new(MAX_SECS as u64 + MIN_SECS.unsigned_abs(), 999_999_999))
        );
    }

    #[test]
    fn now_is_after_this_code_was_written() {
        assert!(Timestamp::now() > at("2025-01-01T00:00:00Z"));
    }
}
