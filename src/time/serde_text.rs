//! Serde support: a [`Timestamp`] is read and written as an RFC 3339 string.
#![forbid(unsafe_code)]

use super::Timestamp;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

impl Serialize for Timestamp {
    /// Writes the exact form, so a fraction of a second survives a round trip.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339_exact())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string such as \"2026-11-22T20:15:40Z\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(s).map_err(E::custom)
    }

    /// The `toml` crate hands an unquoted TOML date-time to a visitor as a map; without
    /// this, the user would read "invalid type: map", which does not say what to fix.
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Timestamp, A::Error> {
        Err(de::Error::custom(
            "a timestamp must be a quoted RFC 3339 string such as \"2026-11-22T20:15:40Z\"",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Doc {
        at: Timestamp,
    }

    fn at(s: &str) -> Timestamp {
        match Timestamp::parse_rfc3339(s) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_quoted_string_deserializes() {
        let doc: Result<Doc, _> = toml::from_str("at = \"2026-11-22T20:15:40+01:00\"");
        assert_eq!(doc.ok(), Some(Doc { at: at("2026-11-22T19:15:40Z") }));
    }

    #[test]
    fn serializing_keeps_the_fraction_only_when_there_is_one() {
        let whole = toml::to_string(&Doc { at: at("2026-11-22T20:15:40Z") });
        assert_eq!(whole.ok().as_deref(), Some("at = \"2026-11-22T20:15:40Z\"\n"));
        let frac = toml::to_string(&Doc { at: at("2026-11-22T20:15:40.5Z") });
        assert_eq!(frac.ok().as_deref(), Some("at = \"2026-11-22T20:15:40.500000000Z\"\n"));
    }

    #[test]
    fn bad_values_name_the_problem() {
        let err = |text| match toml::from_str::<Doc>(text) {
            Ok(doc) => panic!("accepted {doc:?}"),
            Err(e) => e.message().to_string(),
        };
        assert_eq!(err("at = \"2026-13-01T00:00:00Z\""), "invalid month 13 in `2026-13-01T00:00:00Z`");
        assert!(err("at = 2026-11-22T20:15:40Z").contains("must be a quoted RFC 3339 string"));
        assert!(err("at = 5").starts_with("invalid type: integer `5`, expected an RFC 3339"));
    }
}
