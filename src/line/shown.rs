//! How a character of a refused line is shown in a message: never raw when it could paint
//! or reorder the terminal.
#![forbid(unsafe_code)]

/// Names a character for a message: controls as `\x1b`, other non-ASCII as `U+202E`, so nothing
/// unprintable or deceptive reaches the terminal raw.
pub(super) fn describe(c: char) -> String {
    match c {
        _ if c.is_ascii_control() => crate::shown::escaped(c),
        _ if c.is_ascii() => format!("'{c}'"),
        _ => format!("U+{:04X}", u32::from(c)),
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
