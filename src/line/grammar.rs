//! Builds the command list from tokens: commands, pipelines, connectors and redirection targets.
#![forbid(unsafe_code)]

use std::mem;
use std::ops::Range;

use super::error::{LineError, LineErrorKind};
use super::lexer::{Separator, Token};
use super::{Command, Connector, Line, ListItem, Pipeline, Redirect, RedirectOp, Word};

/// Assembles a `Line` from tokens, refusing empty commands and redirections without a target.
pub(super) fn parse_tokens(tokens: Vec<Token>) -> Result<Line, LineError> {
    let mut builder = Builder::new();
    let mut tokens = tokens.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word { word, assignment_eq } => builder.word(word, assignment_eq)?,
            Token::Redirect { op, span } => {
                let target = target(op, span.start, &mut tokens)?;
                builder.redirect(op, span, target);
            }
            Token::Separator { separator, offset } => builder.separator(separator, offset)?,
        }
    }
    builder.finish()
}

/// The word a redirection writes to or reads from, taken from `tokens`; `2>&1` takes none.
fn target(
    op: RedirectOp,
    op_start: usize,
    tokens: &mut impl Iterator<Item = Token>,
) -> Result<Option<Word>, LineError> {
    if op == RedirectOp::ErrToOut {
        return Ok(None);
    }
    match tokens.next() {
        Some(Token::Word { word, .. }) => Ok(Some(word)),
        Some(other) => Err(LineError::at(other.offset(), LineErrorKind::RedirectTargetIsOperator)),
        None => Err(LineError::at(op_start, LineErrorKind::MissingRedirectTarget)),
    }
}

struct Builder {
    items: Vec<ListItem>,
    /// How the pipeline being built joins the previous one.
    connector: Option<Connector>,
    stages: Vec<Command>,
    command: Command,
    /// The last separator seen: the one to blame if the line ends where a command should be.
    last_separator: usize,
}

/// The command being built starts with no words; it is only handed out once it has one.
fn no_command() -> Command {
    Command { argv: Vec::new(), redirects: Vec::new() }
}

impl Builder {
    fn new() -> Self {
        Builder {
            items: Vec::new(),
            connector: None,
            stages: Vec::new(),
            command: no_command(),
            last_separator: 0,
        }
    }

    fn word(&mut self, word: Word, assignment_eq: Option<usize>) -> Result<(), LineError> {
        if let (true, Some(eq)) = (self.command.argv.is_empty(), assignment_eq) {
            return Err(LineError::at(eq, LineErrorKind::Assignment));
        }
        self.command.argv.push(word);
        Ok(())
    }

    /// Records a redirection; its span runs from the operator to the end of its target.
    fn redirect(&mut self, op: RedirectOp, op_span: Range<usize>, target: Option<Word>) {
        let end = target.as_ref().map_or(op_span.end, |w| w.span.end);
        let span = op_span.start..end;
        self.command.redirects.push(Redirect { op, target, span });
    }

    fn separator(&mut self, separator: Separator, offset: usize) -> Result<(), LineError> {
        let command = self.take_command(offset)?;
        self.stages.push(command);
        self.last_separator = offset;
        if let Separator::List(next) = separator {
            self.end_pipeline();
            self.connector = Some(next);
        }
        Ok(())
    }

    /// The finished command; one with no word is refused, blaming its first redirection or,
    /// with none, the separator that `offset` points at.
    fn take_command(&mut self, offset: usize) -> Result<Command, LineError> {
        if self.command.argv.is_empty() {
            return Err(match self.command.redirects.first() {
                Some(r) => LineError::at(r.span.start, LineErrorKind::MissingCommandName),
                None => LineError::at(offset, LineErrorKind::EmptyCommand),
            });
        }
        Ok(mem::replace(&mut self.command, no_command()))
    }

    fn end_pipeline(&mut self) {
        let stages = mem::take(&mut self.stages);
        self.items.push(ListItem {
            connector: self.connector.unwrap_or(Connector::First),
            pipeline: Pipeline { stages },
        });
    }

    /// The line may end after a command, after a `;`, or be blank; not after `|`, `&&`, `||`.
    fn finish(mut self) -> Result<Line, LineError> {
        let nothing_pending = self.command.argv.is_empty() && self.command.redirects.is_empty();
        let may_end_here = self.stages.is_empty() && matches!(self.connector, None | Some(Connector::Seq));
        match (nothing_pending, may_end_here) {
            (true, true) => {}
            (true, false) => return Err(LineError::at(self.last_separator, LineErrorKind::EmptyCommand)),
            (false, _) => {
                let command = self.take_command(self.last_separator)?;
                self.stages.push(command);
                self.end_pipeline();
            }
        }
        Ok(Line { items: self.items })
    }
}
