//! Why a line was refused, and the one-sentence message an operator sees for it.
#![forbid(unsafe_code)]

use std::fmt;

use super::shown::describe;
use super::{MAX_LINE_BYTES, MAX_STAGES};

/// A refused line: the byte offset of the offending character and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub offset: usize,
    pub kind: LineErrorKind,
}

/// One variant per reason a line is refused; the data is the offending character where it varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineErrorKind {
    TooLong,
    TooManyStages,
    InvalidUtf8(u8),
    Nul,
    LineBreak(char),
    ControlChar(char),
    InvisibleChar(char),
    LookAlike { found: char, looks_like: char },
    Dollar,
    Backtick,
    UnterminatedQuote(char),
    TrailingBackslash,
    Background,
    Subshell(char),
    ProcessSubstitution(char),
    Brace(char),
    Glob(char),
    Tilde,
    Comment,
    Bang,
    Assignment,
    HereDoc,
    HereString,
    ReadWriteRedirect,
    Clobber,
    FdDuplication,
    BothOutputs,
    FdNumber,
    MissingRedirectTarget,
    RedirectTargetIsOperator,
    EmptyCommand,
    MissingCommandName,
}

impl LineError {
    pub(super) fn at(offset: usize, kind: LineErrorKind) -> Self {
        LineError { offset, kind }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.message(), self.offset)
    }
}

impl std::error::Error for LineError {}

impl LineErrorKind {
    /// The reason in words, naming the offending character safely (never raw if unprintable).
    /// One flat table, so every reason's wording can be read and reviewed in one place.
    fn message(&self) -> String {
        use LineErrorKind::*;
        match *self {
            TooLong => format!("the line is longer than the {MAX_LINE_BYTES}-byte limit"),
            TooManyStages => format!(
                "a pipeline may have at most {MAX_STAGES} stages: they all start at once, each in its own jail"
            ),
            InvalidUtf8(b) => format!("byte \\x{b:02x} is not valid UTF-8"),
            Nul => "a NUL byte (\\x00) is not allowed".into(),
            LineBreak(c) => format!(
                "a line break ({}) is not allowed inside a line: one line is one command list",
                describe(c)
            ),
            ControlChar(c) => format!(
                "control character {} is not allowed: it could change what the terminal shows",
                describe(c)
            ),
            InvisibleChar(c) => format!(
                "invisible character {} is not allowed: the line would not read as what runs",
                describe(c)
            ),
            LookAlike { found, looks_like } => format!(
                "{} looks like '{looks_like}' and is not allowed: type the ASCII character if you mean it",
                describe(found)
            ),
            Dollar => "'$' is not allowed: cage does no expansion (there is no shell)".into(),
            Backtick => "'`' is not allowed: cage does no command substitution (there is no shell)".into(),
            UnterminatedQuote(q) => format!("unterminated quote: this {q} is never closed"),
            TrailingBackslash => "'\\' at the end of the line escapes nothing: lines do not continue".into(),
            Background => "'&' is not allowed: cage runs no background jobs".into(),
            Subshell(c) => format!("'{c}' is not allowed: cage has no subshells or functions"),
            ProcessSubstitution(c) => format!("'{c}(' is not allowed: cage does no process substitution"),
            Brace(c) => unquoted(c, "cage has no brace expansion or command groups"),
            Glob(c) => unquoted(c, "globs are not supported yet"),
            Tilde => unquoted('~', "cage does no tilde expansion"),
            Comment => unquoted('#', "cage has no comments"),
            Bang => unquoted('!', "cage has no history expansion or negation"),
            Assignment => "a command cannot start with NAME=value: cage sets no environment variables".into(),
            HereDoc => "'<<' (here-document) is not supported".into(),
            HereString => "'<<<' (here-string) is not supported".into(),
            ReadWriteRedirect => "'<>' is not supported: use '<' to read or '>' to write".into(),
            Clobber => "'>|' is not supported: use '>'".into(),
            FdDuplication => "descriptor duplication ('>&', '<&') is not supported: only '2>&1' is".into(),
            BothOutputs => "'&>' and '|&' are not supported: write '2>&1' explicitly".into(),
            FdNumber => "only descriptors 1 and 2 can be redirected (as '>' and '2>')".into(),
            MissingRedirectTarget => "the redirection has no file name after it".into(),
            RedirectTargetIsOperator => "a redirection needs a file name here, not an operator".into(),
            EmptyCommand => "empty command: an operator needs a command on each side".into(),
            MissingCommandName => "redirections need a command to apply to".into(),
        }
    }
}

/// Message for a character that is special only when unquoted, so quoting is the way out.
fn unquoted(c: char, why: &str) -> String {
    format!("'{c}' is not allowed unquoted: {why}; quote it to use it literally")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_character_and_the_offset() {
        let e = LineError::at(5, LineErrorKind::Dollar);
        assert_eq!(e.to_string(), "'$' is not allowed: cage does no expansion (there is no shell) at byte 5");
    }

    #[test]
    fn display_escapes_control_and_invisible_characters() {
        let esc = LineError::at(3, LineErrorKind::ControlChar('\u{1b}'));
        assert!(esc.to_string().contains("\\x1b"), "{esc}");
        let rlo = LineError::at(0, LineErrorKind::InvisibleChar('\u{202e}'));
        assert!(rlo.to_string().contains("U+202E"), "{rlo}");
        let semi = LineErrorKind::LookAlike { found: '\u{37e}', looks_like: ';' };
        let text = LineError::at(2, semi).to_string();
        assert!(text.contains("U+037E looks like ';'"), "{text}");
        assert!(!text.contains('\u{37e}'), "{text}");
    }

    #[test]
    fn every_message_is_one_line_of_plain_text() {
        let kinds = [
            LineErrorKind::LineBreak('\n'),
            LineErrorKind::ControlChar('\u{9b}'),
            LineErrorKind::InvalidUtf8(0xff),
            LineErrorKind::UnterminatedQuote('\''),
            LineErrorKind::EmptyCommand,
        ];
        for kind in kinds {
            let text = LineError::at(1, kind).to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
            assert!(text.ends_with(" at byte 1"), "{text}");
        }
    }
}
