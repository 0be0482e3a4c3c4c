//! Types of a parsed command line (the lexer lands separately).
#![forbid(unsafe_code)]

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    In,
    Out,
    Append,
    ErrOut,
    ErrAppend,
    ErrToOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    pub target: Option<Word>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

impl Command {
    pub fn name(&self) -> &str {
        self.argv.first().map_or("", |w| w.text.as_str())
    }

    pub fn args(&self) -> &[Word] {
        self.argv.get(1..).unwrap_or(&[])
    }

    pub fn argv_strings(&self) -> Vec<String> {
        self.argv.iter().map(|w| w.text.clone()).collect()
    }
}
