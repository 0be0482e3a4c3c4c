//! Shows a refused line safely, with a caret under the offending character.
#![forbid(unsafe_code)]

use super::chars::unicode_trap;
use super::error::LineError;

/// Widest line shown; longer lines are cut around the offending character.
const MAX_COLUMNS: usize = 76;
const ELLIPSIS: &str = "...";

/// One character (or one invalid byte) as shown on the terminal.
struct Piece {
    start: usize,
    shown: String,
    columns: usize,
}

/// Two lines, each ending in `\n`: the input with every control, invalid, invisible or
/// look-alike character escaped (so nothing raw reaches the terminal), and a `^` under the
/// character at `err.offset` (after the last one if the offset is at the end).
pub fn render_caret(input: &[u8], err: &LineError) -> String {
    let pieces = pieces(input);
    let target = pieces
        .iter()
        .rposition(|p| p.start <= err.offset)
        .filter(|_| err.offset < input.len())
        .unwrap_or(pieces.len());
    let (lo, hi) = window(&pieces, target);
    let mut line = String::new();
    let mut caret = None;
    if lo > 0 {
        line.push_str(ELLIPSIS);
    }
    let mut column = line.len();
    for (index, piece) in pieces.iter().enumerate().take(hi).skip(lo) {
        if index == target {
            caret = Some(column);
        }
        line.push_str(&piece.shown);
        column += piece.columns;
    }
    if hi < pieces.len() {
        line.push_str(ELLIPSIS);
    }
    let pad = " ".repeat(caret.unwrap_or(column));
    format!("{line}\n{pad}^\n")
}

/// `text` broken between words so no line is wider than `width` columns (a terminal's),
/// the lines after the first indented by two spaces; a word longer than a line stays whole.
pub fn wrap_words(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = String::with_capacity(text.len() + 8);
    let mut column = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if column > 0 && column + 1 + len > width {
            out.push_str("\n  ");
            column = 2;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
    }
    out
}

/// Splits the input into displayed pieces, keeping each one's byte offset.
fn pieces(input: &[u8]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut base = 0;
    for chunk in input.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            let (shown, columns) = match escape(c) {
                Some(escaped) => {
                    let columns = escaped.len();
                    (escaped, columns)
                }
                None => (c.to_string(), columns(c)),
            };
            pieces.push(Piece { start: base + i, shown, columns });
        }
        base += chunk.valid().len();
        for &byte in chunk.invalid() {
            let shown = format!("\\x{byte:02x}");
            pieces.push(Piece { start: base, columns: shown.len(), shown });
            base += 1;
        }
    }
    pieces
}

/// An escape for anything that could act on or deceive a terminal; tab too, since its width
/// depends on the terminal and would move the caret.
fn escape(c: char) -> Option<String> {
    let deceptive = crate::shown::is_deceptive(c) || unicode_trap(c).is_some();
    deceptive.then(|| crate::shown::escaped(c))
}

/// Terminal columns of a printable character: 0 for common combining marks, 2 for wide East
/// Asian and emoji ranges, else 1. Approximate (no width tables without a dependency), but right
/// for the scripts operators type.
fn columns(c: char) -> usize {
    const COMBINING: &[(char, char)] = &[
        ('\u{0300}', '\u{036F}'),
        ('\u{1AB0}', '\u{1AFF}'),
        ('\u{1DC0}', '\u{1DFF}'),
        ('\u{20D0}', '\u{20FF}'),
        ('\u{FE20}', '\u{FE2F}'),
    ];
    const WIDE: &[(char, char)] = &[
        ('\u{1100}', '\u{115F}'),
        ('\u{2E80}', '\u{303E}'),
        ('\u{3041}', '\u{A4CF}'),
        ('\u{AC00}', '\u{D7A3}'),
        ('\u{F900}', '\u{FAFF}'),
        ('\u{FE30}', '\u{FE4F}'),
        ('\u{FF00}', '\u{FF60}'),
        ('\u{FFE0}', '\u{FFE6}'),
        ('\u{1F300}', '\u{1F64F}'),
        ('\u{1F900}', '\u{1F9FF}'),
        ('\u{20000}', '\u{3FFFD}'),
    ];
    let within = |table: &[(char, char)]| table.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
    if within(COMBINING) {
        0
    } else if within(WIDE) {
        2
    } else {
        1
    }
}

/// The pieces `lo..hi` to show: all if they fit, else the target with some context before it
/// and as much after it as fits.
fn window(pieces: &[Piece], target: usize) -> (usize, usize) {
    let total: usize = pieces.iter().map(|p| p.columns).sum();
    if total <= MAX_COLUMNS {
        return (0, pieces.len());
    }
    let budget = MAX_COLUMNS - 2 * ELLIPSIS.len();
    let width = |i: usize| pieces.get(i).map_or(0, |p| p.columns);
    let (mut lo, mut hi) = (target, (target + 1).min(pieces.len()));
    let mut used = width(target);
    while lo > 0 && used + width(lo - 1) <= budget / 3 {
        lo -= 1;
        used += width(lo);
    }
    while hi < pieces.len() && used + width(hi) <= budget {
        used += width(hi);
        hi += 1;
    }
    while lo > 0 && used + width(lo - 1) <= budget {
        lo -= 1;
        used += width(lo);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_line, LineErrorKind};
    use super::*;

    #[test]
    fn messages_break_between_words_at_the_terminal_width() {
        let said = "cage: denied: '!' is not allowed unquoted: cage has no history expansion or negation; quote it to use it literally at byte 0";
        let wrapped = wrap_words(said, 80);
        assert!(wrapped.lines().all(|l| l.chars().count() <= 80), "{wrapped}");
        assert_eq!(wrapped.replace("\n  ", " "), said, "only spaces became line breaks");
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("  ")), "{wrapped}");
        assert_eq!(wrap_words("short", 80), "short");
    }

    fn caret_for(input: &[u8]) -> String {
        match parse_line(input) {
            Err(e) => render_caret(input, &e),
            Ok(line) => panic!("{input:?} accepted as {line:?}"),
        }
    }

    #[test]
    fn escape_is_shown_escaped_with_the_caret_under_it() {
        assert_eq!(caret_for(b"ls \x1b[2J"), "ls \\x1b[2J\n   ^\n");
    }

    #[test]
    fn multibyte_characters_take_one_column_each() {
        assert_eq!(caret_for("é日 $x".as_bytes()), "é日 $x\n    ^\n");
    }

    #[test]
    fn invalid_bytes_and_bidi_overrides_are_escaped() {
        assert_eq!(caret_for(b"a\xffb"), "a\\xffb\n ^\n");
        assert_eq!(caret_for("a\u{202e}b".as_bytes()), "a\\u{202e}b\n ^\n");
        assert_eq!(caret_for(b"a\x9b"), "a\\x9b\n ^\n");
        assert_eq!(caret_for("a\u{9b}".as_bytes()), "a\\u{9b}\n ^\n");
        assert_eq!(caret_for(b"a\tb\t$"), "a\\tb\\t$\n      ^\n");
    }

    #[test]
    fn a_caret_at_the_end_sits_after_the_last_character() {
        let err = LineError::at(2, LineErrorKind::EmptyCommand);
        assert_eq!(render_caret(b"ab", &err), "ab\n  ^\n");
    }

    #[test]
    fn long_lines_are_cut_around_the_offset() {
        let mut input = vec![b'a'; 300];
        input[200] = b'$';
        let shown = caret_for(&input);
        let (line, caret) = shown.split_once('\n').unwrap_or_default();
        assert!(line.starts_with("...") && line.ends_with("..."), "{line}");
        assert!(line.len() <= MAX_COLUMNS, "{line}");
        assert_eq!(line.as_bytes().get(caret.len() - 2), Some(&b'$'), "{shown}");
    }
}
