//! How a character of a refused line is shown in a message: never raw when it could paint
//! or reorder the terminal.
#![forbid(unsafe_code)]

/// How a C0 control or DEL is written wherever it is shown: `\t`, `\n`, `\r` or `\x1b`.
pub(super) fn escape_ascii_control(c: char) -> Option<String> {
    match c {
        '\t' => Some("\\t".into()),
        '\n' => Some("\\n".into()),
        '\r' => Some("\\r".into()),
        _ if c.is_ascii_control() => Some(format!("\\x{:02x}", u32::from(c))),
        _ => None,
    }
}

/// Names a character for a message: controls as `\x1b`, other non-ASCII as `U+202E`, so nothing
/// unprintable or deceptive reaches the terminal raw.
pub(super) fn describe(c: char) -> String {
    match escape_ascii_control(c) {
        Some(escaped) => escaped,
        None if c.is_ascii() => format!("'{c}'"),
        None => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_never_returns_the_raw_character_for_non_ascii() {
        assert_eq!(describe('\u{1b}'), "\\x1b");
        assert_eq!(describe('\u{37e}'), "U+037E");
        assert_eq!(describe('\u{e0001}'), "U+E0001");
        assert_eq!(describe(';'), "';'");
    }
}
