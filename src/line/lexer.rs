//! Splits a character-checked line into words, separators and redirection operators.
#![forbid(unsafe_code)]

use std::ops::Range;

use super::error::{LineError, LineErrorKind};
use super::{Connector, RedirectOp, Word};

/// How a separator joins what is before it to what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Separator {
    Pipe,
    List(Connector),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// `assignment_eq` is the offset of the `=` when the word starts with an unquoted `NAME=`.
    Word {
        word: Word,
        assignment_eq: Option<usize>,
    },
    Separator {
        separator: Separator,
        offset: usize,
    },
    Redirect {
        op: RedirectOp,
        span: Range<usize>,
    },
}

impl Token {
    pub(super) fn offset(&self) -> usize {
        match self {
            Token::Word { word, .. } => word.span.start,
            Token::Separator { offset, .. } => *offset,
            Token::Redirect { span, .. } => span.start,
        }
    }
}

/// Which output a `>` redirects: `>`/`1>` or `2>`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Stdout,
    Stderr,
}

/// Splits `src` into tokens. `src` has passed `chars::check_characters`, so it holds no `$`,
/// backtick, control or look-alike character; this only has to get the structure right.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, LineError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Characters that end an unquoted word, as in POSIX sh.
fn is_metachar(c: char) -> bool {
    matches!(c, '|' | '&' | ';' | '<' | '>' | '(' | ')')
}

/// A valid environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Characters with a shell meaning that cage does not give them; refused only when unquoted.
fn unquoted_refusal(c: char) -> Option<LineErrorKind> {
    match c {
        '{' | '}' => Some(LineErrorKind::Brace(c)),
        '*' | '?' | '[' => Some(LineErrorKind::Glob(c)),
        '~' => Some(LineErrorKind::Tilde),
        '#' => Some(LineErrorKind::Comment),
        '!' => Some(LineErrorKind::Bang),
        _ => None,
    }
}

struct Lexer<'a> {
    src: &'a str,
    /// Always on a character boundary: it only moves by whole characters.
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let matched = self.peek() == Some(c);
        if matched {
            self.pos += c.len_utf8();
        }
        matched
    }

    /// True where a token ends: end of line, a blank or an operator.
    fn at_delimiter(&self) -> bool {
        self.peek().is_none_or(|c| is_blank(c) || is_metachar(c))
    }

    fn next_token(&mut self) -> Result<Option<Token>, LineError> {
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
        let start = self.pos;
        let token = match self.peek() {
            None => return Ok(None),
            Some('<' | '>') => self.redirection(start, "")?,
            Some('|' | '&' | ';' | '(' | ')') => self.control_operator(start)?,
            Some(_) => match self.fd_number() {
                Some(digits) => self.redirection(start, digits)?,
                None => self.word(start)?,
            },
        };
        Ok(Some(token))
    }

    /// Digits that start a token and touch a `<` or `>` are a descriptor number, as in sh
    /// (`2>x`); anywhere else (`a2>x`, `2 >x`) they are part of a word.
    fn fd_number(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let digits = rest.get(..len)?;
        let touches = matches!(rest.get(len..)?.chars().next(), Some('<' | '>'));
        if len == 0 || !touches {
            return None;
        }
        self.pos += len;
        Some(digits)
    }

    fn control_operator(&mut self, start: usize) -> Result<Token, LineError> {
        let refuse = |kind| Err(LineError::at(start, kind));
        let separator = match (self.bump(), self.peek()) {
            (Some('|'), Some('|')) => Separator::List(Connector::Or),
            (Some('|'), Some('&')) => return refuse(LineErrorKind::BothOutputs),
            (Some('|'), _) => Separator::Pipe,
            (Some('&'), Some('&')) => Separator::List(Connector::And),
            (Some('&'), Some('>')) => return refuse(LineErrorKind::BothOutputs),
            (Some('&'), _) => return refuse(LineErrorKind::Background),
            (Some(';'), _) => Separator::List(Connector::Seq),
            (c, _) => return refuse(LineErrorKind::Subshell(c.unwrap_or('('))),
        };
        if matches!(separator, Separator::List(Connector::And | Connector::Or)) {
            self.bump();
        }
        Ok(Token::Separator { separator, offset: start })
    }

    /// A redirection operator whose optional descriptor `digits` are already consumed.
    fn redirection(&mut self, start: usize, digits: &str) -> Result<Token, LineError> {
        let op = match (digits, self.bump()) {
            ("", Some('<')) => self.after_less(start)?,
            ("" | "1", Some('>')) => self.after_greater(start, Output::Stdout)?,
            ("2", Some('>')) => self.after_greater(start, Output::Stderr)?,
            _ => return Err(LineError::at(start, LineErrorKind::FdNumber)),
        };
        Ok(Token::Redirect { op, span: start..self.pos })
    }

    fn after_less(&mut self, start: usize) -> Result<RedirectOp, LineError> {
        let kind = match self.peek() {
            Some('<') => {
                self.bump();
                match self.peek() {
                    Some('<') => LineErrorKind::HereString,
                    _ => LineErrorKind::HereDoc,
                }
            }
            Some('>') => LineErrorKind::ReadWriteRedirect,
            Some('(') => LineErrorKind::ProcessSubstitution('<'),
            Some('&') => LineErrorKind::FdDuplication,
            _ => return Ok(RedirectOp::In),
        };
        Err(LineError::at(start, kind))
    }

    fn after_greater(&mut self, start: usize, output: Output) -> Result<RedirectOp, LineError> {
        let append = self.eat('>');
        let kind = match self.peek() {
            Some('|') if !append => LineErrorKind::Clobber,
            Some('(') => LineErrorKind::ProcessSubstitution('>'),
            Some('&') => return self.duplication(start, output, append),
            _ => {
                return Ok(match (output, append) {
                    (Output::Stdout, false) => RedirectOp::Out,
                    (Output::Stdout, true) => RedirectOp::Append,
                    (Output::Stderr, false) => RedirectOp::ErrOut,
                    (Output::Stderr, true) => RedirectOp::ErrAppend,
                })
            }
        };
        Err(LineError::at(start, kind))
    }

    /// `>&`: only the exact token `2>&1` is supported.
    fn duplication(&mut self, start: usize, output: Output, append: bool) -> Result<RedirectOp, LineError> {
        self.bump();
        if output == Output::Stderr && !append && self.eat('1') && self.at_delimiter() {
            return Ok(RedirectOp::ErrToOut);
        }
        Err(LineError::at(start, LineErrorKind::FdDuplication))
    }

    fn word(&mut self, start: usize) -> Result<Token, LineError> {
        let mut text = String::new();
        // Still no quote or escape seen: only then can `NAME=` be an assignment, as in sh.
        let mut plain = true;
        let mut assignment_eq = None;
        while let Some(c) = self.peek().filter(|&c| !is_blank(c) && !is_metachar(c)) {
            let at = self.pos;
            self.bump();
            match c {
                '\'' => self.single_quoted(at, &mut text)?,
                '"' => self.double_quoted(at, &mut text)?,
                '\\' => text.push(self.escaped(at)?),
                '=' if plain && assignment_eq.is_none() && is_name(&text) => {
                    assignment_eq = Some(at);
                    text.push(c);
                }
                _ => match unquoted_refusal(c) {
                    Some(kind) => return Err(LineError::at(at, kind)),
                    None => text.push(c),
                },
            }
            plain = plain && !matches!(c, '\'' | '"' | '\\');
        }
        let word = Word { text, span: start..self.pos };
        Ok(Token::Word { word, assignment_eq })
    }

    /// The character after an unquoted backslash, taken literally.
    fn escaped(&mut self, backslash: usize) -> Result<char, LineError> {
        self.bump().ok_or(LineError::at(backslash, LineErrorKind::TrailingBackslash))
    }

    /// Everything up to the closing `'` is literal.
    fn single_quoted(&mut self, open: usize, text: &mut String) -> Result<(), LineError> {
        loop {
            match self.bump() {
                None => return Err(LineError::at(open, LineErrorKind::UnterminatedQuote('\''))),
                Some('\'') => return Ok(()),
                Some(c) => text.push(c),
            }
        }
    }

    /// Inside `"`, a backslash escapes only `"` and `\` (`$`, backtick and newline cannot occur
    /// here); before any other character it stays, as in sh.
    fn double_quoted(&mut self, open: usize, text: &mut String) -> Result<(), LineError> {
        loop {
            match self.bump() {
                None => return Err(LineError::at(open, LineErrorKind::UnterminatedQuote('"'))),
                Some('"') => return Ok(()),
                Some('\\') if matches!(self.peek(), Some('"' | '\\')) => {
                    text.extend(self.bump());
                }
                Some(c) => text.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Vec<String> {
        let tokens = tokenize(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        tokens
            .into_iter()
            .map(|t| match t {
                Token::Word { word, .. } => word.text,
                other => format!("<{}>", other.offset()),
            })
            .collect()
    }

    fn refusal(src: &str) -> (usize, LineErrorKind) {
        match tokenize(src) {
            Err(e) => (e.offset, e.kind),
            Ok(t) => panic!("{src:?} was accepted as {t:?}"),
        }
    }

    #[test]
    fn quotes_join_into_one_word_with_a_span_over_the_quotes() {
        let tokens = tokenize("x b''ash").unwrap_or_default();
        let Some(Token::Word { word, .. }) = tokens.get(1) else {
            panic!("{tokens:?}");
        };
        assert_eq!((word.text.as_str(), word.span.clone()), ("bash", 2..8));
    }

    #[test]
    fn double_quotes_keep_backslashes_that_escape_nothing() {
        assert_eq!(words(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(words(r"'a\b'"), [r"a\b"]);
    }

    #[test]
    fn a_descriptor_number_must_start_the_token() {
        assert_eq!(words("a2>x"), ["a2", "<2>", "x"]);
        assert_eq!(words("a 2 >x"), ["a", "2", "<4>", "x"]);
        assert_eq!(refusal("a 12>x"), (2, LineErrorKind::FdNumber));
    }

    #[test]
    fn only_the_exact_token_2_to_1_duplicates() {
        assert_eq!(refusal("a 2>&12"), (2, LineErrorKind::FdDuplication));
        assert_eq!(refusal("a 2>>&1"), (2, LineErrorKind::FdDuplication));
        assert_eq!(refusal("a 1>&2"), (2, LineErrorKind::FdDuplication));
        assert_eq!(words("a 2>&1|b"), ["a", "<2>", "<6>", "b"]);
    }

    #[test]
    fn assignment_needs_an_unquoted_name_before_the_equals() {
        let eq = |src: &str| match tokenize(src).unwrap_or_default().first() {
            Some(Token::Word { assignment_eq, .. }) => *assignment_eq,
            _ => None,
        };
        assert_eq!(eq("A_1=x"), Some(3));
        assert_eq!(eq("A=\"x y\""), Some(1));
        assert_eq!(eq("'A'=x"), None);
        assert_eq!(eq("A\\=x"), None);
        assert_eq!(eq("1A=x"), None);
        assert_eq!(eq("=x"), None);
    }
}
