//! Locating errors in text files: byte offsets to `FILE:LINE:COL`.
#![forbid(unsafe_code)]

use std::fmt;

/// An error found at a place in a text file, shown as `FILE:LINE:COL: message`;
/// `line` 0 means the file as a whole (it could not be read), shown as `FILE: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl SourceError {
    /// Builds the error for byte `offset` of `text` (clamped to the text's end).
    pub fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(text, offset);
        SourceError { file: file.to_string(), line, col, message: message.into() }
    }
}

impl SourceError {
    /// An error about the file as a whole, such as one that cannot be read.
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        SourceError { file: file.to_string(), line: 0, col: 0, message: message.into() }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

impl std::error::Error for SourceError {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_character_is_line_one_column_one() {
        assert_eq!(line_col("abc", 0), (1, 1));
    }

    #[test]
    fn columns_count_characters_after_the_last_newline() {
        assert_eq!(line_col("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_col("ab\ncdé\nf", 8), (3, 1));
    }

    #[test]
    fn offsets_past_the_end_point_after_the_last_character() {
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn whole_file_errors_have_no_position() {
        assert_eq!(SourceError::whole_file("dir", "unreadable").to_string(), "dir: unreadable");
    }

    #[test]
    fn display_is_file_line_col_message() {
        let e = SourceError::at("p.toml", "a\nbad", 2, "unknown field `x`");
        assert_eq!(e.to_string(), "p.toml:2:1: unknown field `x`");
    }
}
