//! The canonical JSON text of a record: keys in byte order (serde_json's map), no whitespace,
//! serde_json's escaping, and from format version 2 on every character that shows nothing or
//! reorders what a reader sees (C1 controls, DEL, Unicode format characters such as bidi
//! overrides and zero-width ones, line and paragraph separators) escaped as `\uXXXX`, so the
//! raw trail reads in a SIEM or an editor as it was typed (docs/audit.md).
#![forbid(unsafe_code)]

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Value;

/// The first format version whose canonical form escapes invisible characters.
pub const ESCAPES_INVISIBLE: u64 = 2;

/// Unicode's format characters (general category Cf, Unicode 15.1).
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is written as `\uXXXX` in a version 2 record (serde_json already escapes
/// U+0000 to U+001F).
pub fn invisible(c: char) -> bool {
    let code = c as u32;
    // Printable ASCII, nearly every character of a record, is never escaped.
    if code < 0x7F {
        return false;
    }
    matches!(code, 0x7F..=0x9F | 0x2028 | 0x2029) || FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// serde_json's compact form, with invisible characters escaped (UTF-16 escapes, as JSON has).
struct Visible;

impl Formatter for Visible {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.bytes().all(|b| b < 0x7F) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if !invisible(c) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` as the canonical text of a record of format `version`.
pub fn to_text(value: &Value, version: u64) -> String {
    let mut out = Vec::new();
    let written = match version >= ESCAPES_INVISIBLE {
        true => value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, Visible)),
        false => value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, CompactFormatter)),
    };
    // Writing to a Vec cannot fail, and serde_json writes only UTF-8.
    match written {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_2_escapes_bidi_zero_width_and_c1_and_keeps_the_rest() {
        let value = serde_json::json!({"title": "a\u{202e}b\u{200b}c\u{85}d\u{7f}\u{e0041}é日\u{1b}"});
        assert_eq!(to_text(&value, 2), r#"{"title":"a\u202eb\u200bc\u0085d\u007f\udb40\udc41é日\u001b"}"#);
        assert_eq!(to_text(&value, 1), value.to_string(), "version 1 is serde_json's form");
        let back: Value = serde_json::from_str(&to_text(&value, 2)).expect("json");
        assert_eq!(back, value, "the escapes read back as the same text");
    }
}
