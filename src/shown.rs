//! How text from outside (a grant, a policy, a typed line, a record) is shown on a terminal:
//! never raw where it could move the cursor, rewrite the screen or make text read other than
//! it is. The one place that decides which characters those are and how they are written.
#![forbid(unsafe_code)]

/// Characters that act on a terminal or deceive its reader: C0 and C1 controls and DEL,
/// bidirectional marks, embeddings, overrides and isolates, line and paragraph separators,
/// and the zero-width and invisible formats.
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// How `c` is written when it must not be shown raw: `\t`, `\n`, `\r`, `\x1b` for the other
/// ASCII controls and DEL, `\u{202e}` for the rest.
pub fn escaped(c: char) -> String {
    match c {
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        _ if c.is_ascii_control() => format!("\\x{:02x}", u32::from(c)),
        _ => c.escape_unicode().to_string(),
    }
}

/// `text` with every deceptive character escaped.
pub fn shown(text: &str) -> String {
    shown_with(text, false)
}

/// As [`shown`], with `\` doubled too, so that no escape in the output can be mistaken for
/// text that was written that way (a table of records an auditor reads).
pub fn shown_unambiguous(text: &str) -> String {
    shown_with(text, true)
}

fn shown_with(text: &str, double_backslash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' if double_backslash => out.push_str("\\\\"),
            c if is_deceptive(c) => out.push_str(&escaped(c)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_in_the_short_form_and_formats_by_code_point() {
        assert_eq!(shown("a\u{1b}[2Jb\u{202e}c\td\u{9b}"), "a\\x1b[2Jb\\u{202e}c\\td\\u{9b}");
        assert_eq!(shown("x\u{7f}\u{2028}\u{200b}\u{feff}"), "x\\x7f\\u{2028}\\u{200b}\\u{feff}");
    }

    #[test]
    fn the_unambiguous_form_doubles_backslashes_but_not_its_own_escapes() {
        assert_eq!(shown_unambiguous("a\\x1b\u{1b}"), "a\\\\x1b\\x1b");
    }

    #[test]
    fn ordinary_text_in_any_script_is_left_as_it_is() {
        assert_eq!(shown("é日本 ü \\ ok"), "é日本 ü \\ ok");
    }

    #[test]
    fn every_deceptive_character_is_escaped_and_nothing_else() {
        for c in (0..0x3000).filter_map(char::from_u32) {
            let out = shown(&c.to_string());
            assert_eq!(out != c.to_string(), is_deceptive(c), "{:?}", c);
            assert!(!out.chars().any(is_deceptive), "{:?}", c);
        }
    }
}
