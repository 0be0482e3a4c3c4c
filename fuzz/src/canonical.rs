//! The canonical form of an audit record as docs/audit-format.md specifies it, written from
//! that text alone (not with serde_json's serializer), to hold cage's writer and `verify`
//! to the specification.

use std::fmt::Write;

use serde_json::Value;

/// The characters a version 2 record writes as `\uXXXX`, besides U+0000 to U+001F.
const ESCAPED_FROM_V2: &[(u32, u32)] = &[
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
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

/// The format version a record's canonical form follows: its `v` when that is an integer
/// of at least 2, else 1.
pub fn version(record: &Value) -> u64 {
    match record.get("v").and_then(Value::as_u64) {
        Some(v) if v >= 2 => 2,
        _ => 1,
    }
}

/// The canonical text of `value` (a record, or any value in it) for format `version`;
/// `None` when it holds a number that is not an integer, which no canonical form has.
pub fn text(value: &Value, version: u64) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, value, version)?;
    Some(out)
}

fn write_value(out: &mut String, value: &Value, version: u64) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => write!(out, "{u}").ok()?,
            (None, Some(i)) => write!(out, "{i}").ok()?,
            (None, None) => return None,
        },
        Value::String(s) => write_string(out, s, version),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, version)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key, version);
                out.push(':');
                write_value(out, &members[key], version)?;
            }
            out.push('}');
        }
    }
    Some(())
}

fn write_string(out: &mut String, s: &str, version: u64) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if version >= 2 && ESCAPED_FROM_V2.iter().any(|&(lo, hi)| (lo..=hi).contains(&(c as u32))) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
