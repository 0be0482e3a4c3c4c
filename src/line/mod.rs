//! The command language: one typed line to a list of pipelines of argv, or a refusal with an offset.
//!
//! There is no shell underneath: each stage is later run as argv, never through `sh -c`. The
//! grammar is a strict subset of POSIX sh, so what an operator types means what sh would make of
//! it, or it is refused. Words split on space and tab; `'...'`, `"..."` and `\` quote as in sh;
//! `|`, `&&`, `||` and `;` join commands; `<`, `>`, `>>`, `2>`, `2>>` and `2>&1` redirect.
//!
//! Checking runs in three passes, each the only place for its rules: `chars` (characters refused
//! anywhere, quoted or not), `lexer` (quoting and unquoted metacharacters), `grammar` (structure).
//! The character pass sees the whole line before quoting is considered, so no lexer state can let
//! one of its characters through.
//!
//! Why each refusal exists:
//! - over `MAX_LINE_BYTES`: bounds the work and the audit record per line.
//! - a pipeline of over `MAX_STAGES` stages: each is a jail, and they all start at once.
//! - invalid UTF-8 (overlong, surrogates): argv, audit and policy all need one unambiguous text.
//! - NUL: it would cut an argument short in the C strings the kernel sees.
//! - newline, carriage return: one typed line must be one command list, and CR hides text.
//! - other C0 controls, DEL, C1: they drive the terminal (ESC, CSI) and can hide or fake text.
//! - invisible and bidi characters: the line on screen and in the audit must be the argv that runs.
//! - look-alikes of `;` `|` `&` `$` `<` `>` `(` `)`, backtick and quotes: `ls；bash` must not
//!   read as two commands.
//! - `$` and backtick, even quoted: cage never expands, and a literal `$(...)` would mislead an
//!   auditor or anything downstream that hands it to a shell.
//! - unterminated quote, trailing `\`: sh would ask for another line; cage has no continuations.
//! - `&` alone: background jobs would outlive the audited command.
//! - `(` `)`: subshells and function definitions (`du () bash`) are the classic escapes.
//! - `<(` `>(`: process substitution runs a hidden command.
//! - `{` `}`: brace expansion and command groups (`{ bash; }`) change what runs.
//! - `*` `?` `[`: globs are not supported yet, and must not pass as literal by surprise.
//! - `~`: tilde expansion would name another user's home.
//! - `#`: a comment would hide the rest of the line from one reader but not another.
//! - `!`: history expansion and pipeline negation.
//! - `NAME=value` as a command's first word: environment assignments (`LD_PRELOAD=x ls`).
//! - `<<`, `<<<`, `<>`, `>|`, `>&`, `&>`, `|&`, other descriptors: features cage does not have,
//!   refused by name rather than read as something else.
//! - empty commands and redirections without a target or command: sh refuses them too.
#![forbid(unsafe_code)]

mod caret;
mod chars;
mod error;
mod grammar;
mod lexer;
mod shown;

use std::ops::Range;

pub use caret::{render_caret, wrap_words};
pub use error::{LineError, LineErrorKind};

/// The longest line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 4096;

/// The most stages one pipeline may have: a pipeline's stages start together, each in its own
/// jail, so without a bound one 4 KB line of `du|du|...` starts over a thousand jails at once
/// (escapes case resources.stages). Commands joined by `;`, `&&`, `||` run one at a time.
pub const MAX_STAGES: usize = 16;

/// A parsed line: pipelines joined by connectors; empty for a blank or whitespace-only line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub items: Vec<ListItem>,
}

/// One pipeline and how it joins the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub connector: Connector,
    pub pipeline: Pipeline,
}

/// How a list item joins the previous one; the first item has `First`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    First,
    /// `;`
    Seq,
    /// `&&`
    And,
    /// `||`
    Or,
}

/// Commands joined by `|`; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub stages: Vec<Command>,
}

/// One command: its argv (never empty) and its redirections in the order typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// A word after quote removal; `span` is its byte range in the input, quotes included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Range<usize>,
}

/// A redirection; `target` is `None` only for `2>&1`. `span` covers the operator and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    pub target: Option<Word>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    In,
    /// `>` or `1>`
    Out,
    /// `>>` or `1>>`
    Append,
    /// `2>`
    ErrOut,
    /// `2>>`
    ErrAppend,
    /// `2>&1`
    ErrToOut,
}

impl RedirectOp {
    /// The operator as written in its canonical form, for audit records and messages.
    pub fn symbol(self) -> &'static str {
        match self {
            RedirectOp::In => "<",
            RedirectOp::Out => ">",
            RedirectOp::Append => ">>",
            RedirectOp::ErrOut => "2>",
            RedirectOp::ErrAppend => "2>>",
            RedirectOp::ErrToOut => "2>&1",
        }
    }
}

/// Parses one typed line (without its terminating newline). Pure: no I/O, no expansion.
pub fn parse_line(input: &[u8]) -> Result<Line, LineError> {
    if input.len() > MAX_LINE_BYTES {
        return Err(LineError::at(MAX_LINE_BYTES, LineErrorKind::TooLong));
    }
    let text = chars::check_characters(input)?;
    let line = grammar::parse_tokens(lexer::tokenize(text)?)?;
    if let Some(extra) = line.items.iter().find_map(|item| item.pipeline.stages.get(MAX_STAGES)) {
        let offset = extra.argv.first().map_or(0, |w| w.span.start);
        return Err(LineError::at(offset, LineErrorKind::TooManyStages));
    }
    Ok(line)
}

impl Line {
    /// Every command of every pipeline, in the order typed.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.items.iter().flat_map(|item| item.pipeline.stages.iter())
    }
}

impl Command {
    /// The command name (`argv[0]`); empty only for a hand-built command with no argv.
    pub fn name(&self) -> &str {
        self.argv.first().map_or("", |w| w.text.as_str())
    }

    /// The arguments after the name.
    pub fn args(&self) -> &[Word] {
        self.argv.get(1..).unwrap_or_default()
    }

    pub fn argv_strings(&self) -> Vec<String> {
        self.argv.iter().map(|w| w.text.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Line {
        parse_line(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn refused(input: &[u8]) -> (usize, LineErrorKind) {
        match parse_line(input) {
            Err(e) => (e.offset, e.kind),
            Ok(line) => panic!("{input:?} accepted as {line:?}"),
        }
    }

    #[test]
    fn connectors_and_pipes_build_items_and_stages() {
        let line = parsed("a | b && c; d || e;");
        let shape: Vec<(Connector, usize)> =
            line.items.iter().map(|i| (i.connector, i.pipeline.stages.len())).collect();
        use Connector::*;
        assert_eq!(shape, [(First, 2), (And, 1), (Seq, 1), (Or, 1)]);
        let names: Vec<&str> = line.commands().map(Command::name).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn redirect_spans_cover_operator_and_target() {
        let line = parsed("cat <  in 2>&1 >>'o u'");
        let Some(cmd) = line.commands().next() else {
            panic!("no command");
        };
        let spans: Vec<Range<usize>> = cmd.redirects.iter().map(|r| r.span.clone()).collect();
        assert_eq!(spans, [4..9, 10..14, 15..22]);
        assert_eq!(cmd.redirects[2].target.as_ref().map(|w| w.text.as_str()), Some("o u"));
        assert_eq!(cmd.argv_strings(), ["cat"]);
    }

    #[test]
    fn the_operator_without_a_command_is_blamed() {
        assert_eq!(refused(b"a;;b"), (2, LineErrorKind::EmptyCommand));
        assert_eq!(refused(b"a || ;"), (5, LineErrorKind::EmptyCommand));
        assert_eq!(refused(b"a |"), (2, LineErrorKind::EmptyCommand));
        assert_eq!(refused(b"a | >x"), (4, LineErrorKind::MissingCommandName));
    }

    #[test]
    fn length_is_checked_before_anything_else() {
        let mut long = vec![b'a'; MAX_LINE_BYTES];
        assert!(parse_line(&long).is_ok());
        long.push(0);
        assert_eq!(refused(&long), (MAX_LINE_BYTES, LineErrorKind::TooLong));
        let stages = vec!["du"; MAX_STAGES].join(" | ");
        assert!(parse_line(format!("{stages}; {stages}").as_bytes()).is_ok(), "a list runs one at a time");
        let one_more = format!("{stages} | du");
        assert_eq!(refused(one_more.as_bytes()), (stages.len() + 3, LineErrorKind::TooManyStages));
    }

    #[test]
    fn command_accessors_never_panic_on_a_hand_built_command() {
        let empty = Command { argv: Vec::new(), redirects: Vec::new() };
        assert_eq!((empty.name(), empty.args().len()), ("", 0));
    }
}
