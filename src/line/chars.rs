//! Character rules that hold everywhere in a line, quoted or not, and safe names for characters.
#![forbid(unsafe_code)]

use super::error::{LineError, LineErrorKind};

/// Invisible, blank-looking or direction-changing characters (inclusive ranges). Each can make
/// a line read differently on screen or in the audit trail from the argv that runs.
const INVISIBLE: &[(char, char)] = &[
    ('\u{00A0}', '\u{00A0}'),   // no-break space: looks like a word break, is not one
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark (bidi)
    ('\u{115F}', '\u{1160}'),   // Hangul fillers
    ('\u{1680}', '\u{1680}'),   // Ogham space mark: a space separator like U+2000..
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian variation selectors and vowel separator
    ('\u{2000}', '\u{200F}'),   // spaces, zero-width space/joiners, LRM/RLM
    ('\u{2028}', '\u{202F}'),   // line/paragraph separators, bidi embeddings and overrides
    ('\u{205F}', '\u{206F}'),   // math space, word joiner, invisible operators, bidi isolates
    ('\u{3000}', '\u{3000}'),   // ideographic space
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FE00}', '\u{FE0F}'),   // variation selectors
    ('\u{FEFF}', '\u{FEFF}'),   // byte order mark / zero-width no-break space
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler
    ('\u{FFF0}', '\u{FFFB}'),   // unassigned specials and interlinear annotation marks
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical symbol format controls
    ('\u{E0000}', '\u{E0FFF}'), // tags and variation selectors supplement
];

/// Characters that look like a shell metacharacter or quote, and the ASCII character they mimic:
/// `ls；bash` reads as two commands but is one word.
const LOOK_ALIKES: &[(char, char)] = &[
    ('\u{037E}', ';'),
    ('\u{FF1B}', ';'),
    ('\u{FE54}', ';'),
    ('\u{204F}', ';'),
    ('\u{2E35}', ';'),
    ('\u{FF5C}', '|'),
    ('\u{01C0}', '|'),
    ('\u{2223}', '|'),
    ('\u{2502}', '|'),
    ('\u{23D0}', '|'),
    ('\u{FFE8}', '|'),
    ('\u{FF06}', '&'),
    ('\u{FE60}', '&'),
    ('\u{FF04}', '$'),
    ('\u{FE69}', '$'),
    ('\u{FF40}', '`'),
    ('\u{02CB}', '`'),
    ('\u{1FEF}', '`'),
    ('\u{FF1C}', '<'),
    ('\u{FE64}', '<'),
    ('\u{2039}', '<'),
    ('\u{FF1E}', '>'),
    ('\u{FE65}', '>'),
    ('\u{203A}', '>'),
    ('\u{FF08}', '('),
    ('\u{FF09}', ')'),
    ('\u{FE59}', '('),
    ('\u{FE5A}', ')'),
    ('\u{2018}', '\''),
    ('\u{2019}', '\''),
    ('\u{201A}', '\''),
    ('\u{201B}', '\''),
    ('\u{FF07}', '\''),
    ('\u{2032}', '\''),
    ('\u{201C}', '"'),
    ('\u{201D}', '"'),
    ('\u{201E}', '"'),
    ('\u{201F}', '"'),
    ('\u{FF02}', '"'),
    ('\u{2033}', '"'),
];

/// Checks the character rules over the whole line, before any quoting is looked at, so that no
/// lexer state can let one of these characters through. Returns the line as text.
pub(super) fn check_characters(input: &[u8]) -> Result<&str, LineError> {
    // The first chunk is the longest valid prefix; its invalid part is the first bad sequence.
    let Some(chunk) = input.utf8_chunks().next() else {
        return Ok("");
    };
    let valid = chunk.valid();
    if let Some((offset, kind)) = valid.char_indices().find_map(|(i, c)| Some((i, forbidden(c)?))) {
        return Err(LineError::at(offset, kind));
    }
    match chunk.invalid().first() {
        Some(&byte) => Err(LineError::at(valid.len(), LineErrorKind::InvalidUtf8(byte))),
        None => Ok(valid),
    }
}

/// Why `c` may not appear anywhere in a line, quoted or not.
pub(super) fn forbidden(c: char) -> Option<LineErrorKind> {
    let kind = match c {
        '\t' => return None,
        '\0' => LineErrorKind::Nul,
        '\n' | '\r' => LineErrorKind::LineBreak(c),
        '$' => LineErrorKind::Dollar,
        '`' => LineErrorKind::Backtick,
        // Cc is exactly C0, DEL and C1.
        _ if c.is_control() => LineErrorKind::ControlChar(c),
        _ => return unicode_trap(c),
    };
    Some(kind)
}

/// A look-alike or invisible character: printable, but not what it seems on screen.
pub(super) fn unicode_trap(c: char) -> Option<LineErrorKind> {
    if let Some(&(found, looks_like)) = LOOK_ALIKES.iter().find(|(f, _)| *f == c) {
        return Some(LineErrorKind::LookAlike { found, looks_like });
    }
    let invisible = INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
    invisible.then_some(LineErrorKind::InvisibleChar(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(input: &[u8]) -> Option<(usize, LineErrorKind)> {
        check_characters(input).err().map(|e| (e.offset, e.kind))
    }

    #[test]
    fn tab_and_ordinary_letters_pass() {
        assert_eq!(check_characters("a\tbé 日本".as_bytes()), Ok("a\tbé 日本"));
    }

    #[test]
    fn controls_are_refused_with_their_offset() {
        assert_eq!(kind_of(b"ab\x1b[2J"), Some((2, LineErrorKind::ControlChar('\u{1b}'))));
        assert_eq!(kind_of(b"a\x7f"), Some((1, LineErrorKind::ControlChar('\u{7f}'))));
        assert_eq!(kind_of("x\u{9b}".as_bytes()), Some((1, LineErrorKind::ControlChar('\u{9b}'))));
        assert_eq!(kind_of(b"\0"), Some((0, LineErrorKind::Nul)));
        assert_eq!(kind_of(b"a\rb"), Some((1, LineErrorKind::LineBreak('\r'))));
    }

    #[test]
    fn the_first_problem_wins_even_before_invalid_utf8() {
        assert_eq!(kind_of(b"a$\xff"), Some((1, LineErrorKind::Dollar)));
        assert_eq!(kind_of(b"ab\xff$"), Some((2, LineErrorKind::InvalidUtf8(0xff))));
    }

    #[test]
    fn overlong_and_surrogate_encodings_are_invalid_at_their_first_byte() {
        assert_eq!(kind_of(b"ls\xc0\xbb"), Some((2, LineErrorKind::InvalidUtf8(0xc0))));
        assert_eq!(kind_of(b"\xed\xa0\x80"), Some((0, LineErrorKind::InvalidUtf8(0xed))));
    }

    #[test]
    fn range_edges_of_the_invisible_table_are_refused() {
        for c in ['\u{2000}', '\u{200f}', '\u{2028}', '\u{202f}', '\u{e0000}', '\u{e007f}'] {
            assert_eq!(unicode_trap(c), Some(LineErrorKind::InvisibleChar(c)));
        }
        assert_eq!(unicode_trap('\u{2010}'), None, "a hyphen is visible");
    }
}
