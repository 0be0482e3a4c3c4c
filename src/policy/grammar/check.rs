//! Matching an alias's arguments against its grammar.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;

use super::{ArgKind, ArgSpec, Grammar, Repeat, ValueKind};

/// Why a grammar refused the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrammarError {
    Refused { token: String, reason: String },
    OptionNotAllowed { option: String, allowed: Vec<String> },
    MissingValue { option: String, kind: ValueKind },
    BadValue { option: Option<String>, value: String, kind: ValueKind },
    FlagTakesNoValue { option: String },
    SubcommandNotAllowed { word: String, allowed: Vec<String> },
    MissingSubcommand { allowed: Vec<String> },
    UnexpectedArgument { word: String },
    MissingArgument { expected: String },
}

/// A refusal and the index (into the operator's arguments) of the word it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarDenial {
    pub at: Option<usize>,
    pub error: GrammarError,
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrammarError::Refused { token, reason } => write!(f, "`{token}` is refused: {reason}"),
            GrammarError::OptionNotAllowed { option, allowed } if allowed.is_empty() => {
                write!(f, "option `{option}` is not allowed (no options are)")
            }
            GrammarError::OptionNotAllowed { option, allowed } => {
                write!(f, "option `{option}` is not allowed (allowed: {})", allowed.join(" "))
            }
            GrammarError::MissingValue { option, kind } => {
                write!(f, "option `{option}` needs a value (<{kind}>)")
            }
            GrammarError::BadValue { option: Some(o), value, kind } => {
                write!(f, "`{value}` is not a valid <{kind}> for `{o}`")
            }
            GrammarError::BadValue { option: None, value, kind } => {
                write!(f, "`{value}` is not a valid <{kind}>")
            }
            GrammarError::FlagTakesNoValue { option } => {
                write!(f, "option `{option}` takes no value")
            }
            GrammarError::SubcommandNotAllowed { word, allowed } => {
                write!(f, "`{word}` is not allowed (allowed: {})", allowed.join(" "))
            }
            GrammarError::MissingSubcommand { allowed } => {
                write!(f, "a subcommand is needed (allowed: {})", allowed.join(" "))
            }
            GrammarError::UnexpectedArgument { word } => write!(f, "unexpected argument `{word}`"),
            GrammarError::MissingArgument { expected } => write!(f, "missing argument {expected}"),
        }
    }
}

/// How often each option allowed once was given, at one level of a grammar.
#[derive(Debug, Default)]
struct Seen(BTreeMap<String, usize>);

/// One argument word and its index among the operator's arguments.
#[derive(Debug, Clone)]
struct Token {
    at: usize,
    text: String,
}

/// What a successful match found, as indices into the operator's arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matched {
    /// Positional words of the innermost level (after subcommands), in order.
    pub positionals: Vec<usize>,
    /// Words of kind `readable`, which the caller must judge against the file rules.
    pub readable: Vec<usize>,
    /// Words of kind `host` or `url`, which the caller must judge against the network mode.
    pub destinations: Vec<usize>,
}

/// The words a match found that the caller must judge further.
#[derive(Default)]
struct Found {
    readable: Vec<usize>,
    destinations: Vec<usize>,
}

impl Found {
    fn note(&mut self, kind: &ValueKind, at: usize) {
        match kind {
            ValueKind::Readable => self.readable.push(at),
            ValueKind::Host | ValueKind::Url => self.destinations.push(at),
            _ => {}
        }
    }
}

type Checked = Result<Matched, GrammarDenial>;

impl Grammar {
    /// Checks the operator's `args` (after the alias name).
    pub fn check(&self, args: &[&str]) -> Checked {
        let tokens = args.iter().enumerate().map(|(at, t)| Token { at, text: t.to_string() });
        self.check_level(tokens.collect(), args.len())
    }

    fn check_level(&self, tokens: Vec<Token>, end: usize) -> Checked {
        let tokens = if self.split { resplit(tokens) } else { tokens };
        let mut positionals: Vec<&Token> = Vec::new();
        let mut found = Found::default();
        let mut seen = Seen::default();
        let mut options_ended = false;
        let mut i = 0;
        while i < tokens.len() {
            let tok = &tokens[i];
            if let Some(reason) = self.refusal_for(&tok.text) {
                return deny(tok.at, refused(&tok.text, reason));
            }
            if positionals.is_empty() && !options_ended {
                if let Some(sub) = self.subs.get(&tok.text) {
                    // What the options before the subcommand named is judged too.
                    let mut matched = sub.check_level(tokens[i + 1..].to_vec(), end)?;
                    matched.readable.splice(0..0, found.readable);
                    matched.destinations.splice(0..0, found.destinations);
                    return Ok(matched);
                }
            }
            if !options_ended && tok.text == "--" {
                options_ended = true;
                i += 1;
            } else if !options_ended && tok.text.starts_with('-') && tok.text != "-" {
                i = self.check_option(&tokens, i, &mut found, &mut seen)?;
            } else if !self.subs.is_empty() && positionals.is_empty() {
                return deny(tok.at, self.sub_error(Some(&tok.text)));
            } else {
                positionals.push(tok);
                i += 1;
            }
        }
        let bare_allowed = self.bare && positionals.is_empty();
        if !self.subs.is_empty() && !bare_allowed {
            return deny(end, self.sub_error(None));
        }
        match_positionals(&self.args, &positionals, end, &mut found)?;
        let positionals = positionals.iter().map(|t| t.at).collect();
        Ok(Matched { positionals, readable: found.readable, destinations: found.destinations })
    }

    fn refusal_for(&self, token: &str) -> Option<&String> {
        let name = token.split('=').next().unwrap_or(token);
        self.refuse.get(token).or_else(|| self.refuse.get(name))
    }

    fn sub_error(&self, word: Option<&str>) -> GrammarError {
        let allowed = self.subs.keys().cloned().collect();
        match word {
            Some(w) => GrammarError::SubcommandNotAllowed { word: w.to_string(), allowed },
            None => GrammarError::MissingSubcommand { allowed },
        }
    }

    /// Checks the option at `tokens[i]`; returns the index of the next unread token.
    fn check_option(
        &self,
        tokens: &[Token],
        i: usize,
        found: &mut Found,
        seen: &mut Seen,
    ) -> Result<usize, GrammarDenial> {
        let tok = &tokens[i];
        let text = tok.text.as_str();
        if text.starts_with("--") || self.option(text).is_some() {
            let (name, inline) = match text.split_once('=') {
                Some((n, v)) if text.starts_with("--") => (n, Some(v)),
                _ => (text, None),
            };
            self.count(seen, name, tok)?;
            return self.take_value(name, inline, tokens, i, found);
        }
        self.check_short_cluster(tokens, i, found, seen)
    }

    /// Counts one more use of the option `name` (by any of its names); refuses one allowed
    /// once that comes again.
    fn count(&self, seen: &mut Seen, name: &str, tok: &Token) -> Result<(), GrammarDenial> {
        let names = self.option(name).map_or_else(|| vec![name.to_string()], |spec| spec.names.clone());
        let Some((once, why)) = names.iter().find_map(|n| self.once.get_key_value(n)) else { return Ok(()) };
        let count = seen.0.entry(once.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            let reason = format!("may be given once ({why})");
            return deny(tok.at, refused(once, &reason));
        }
        Ok(())
    }

    /// getopt-style `-abc` / `-n5`: every flag in the cluster must be allowed.
    fn check_short_cluster(
        &self,
        tokens: &[Token],
        i: usize,
        found: &mut Found,
        seen: &mut Seen,
    ) -> Result<usize, GrammarDenial> {
        let tok = &tokens[i];
        let body = &tok.text[1..];
        for (pos, c) in body.char_indices() {
            let name = format!("-{c}");
            if let Some(reason) = self.refuse.get(&name) {
                return deny(tok.at, refused(&name, reason));
            }
            let Some(spec) = self.option(&name) else {
                return deny(tok.at, self.option_error(&name, &tok.text));
            };
            self.count(seen, &name, tok)?;
            if spec.value.is_some() {
                let rest = &body[pos + c.len_utf8()..];
                let inline = (!rest.is_empty()).then_some(rest);
                return self.take_value(&name, inline, tokens, i, found);
            }
        }
        Ok(i + 1)
    }

    fn option_error(&self, name: &str, token: &str) -> GrammarError {
        let shown = if name == token { name.to_string() } else { format!("{name}` in `{token}") };
        let allowed = self.option_names().into_iter().map(str::to_string).collect();
        GrammarError::OptionNotAllowed { option: shown, allowed }
    }

    fn take_value(
        &self,
        name: &str,
        inline: Option<&str>,
        tokens: &[Token],
        i: usize,
        found: &mut Found,
    ) -> Result<usize, GrammarDenial> {
        let at = tokens[i].at;
        let Some(spec) = self.option(name) else {
            return deny(at, self.option_error(name, &tokens[i].text));
        };
        let Some(kind) = &spec.value else {
            return match inline {
                Some(_) => deny(at, GrammarError::FlagTakesNoValue { option: name.to_string() }),
                None => Ok(i + 1),
            };
        };
        let (value, value_at, next) = match (inline, tokens.get(i + 1)) {
            (Some(v), _) => (v, at, i + 1),
            (None, Some(t)) => (t.text.as_str(), t.at, i + 2),
            (None, None) => {
                let error = GrammarError::MissingValue { option: name.to_string(), kind: kind.clone() };
                return deny(at, error);
            }
        };
        if !kind.accepts(value) {
            let option = Some(name.to_string());
            let error = GrammarError::BadValue { option, value: value.to_string(), kind: kind.clone() };
            return deny(value_at, error);
        }
        found.note(kind, value_at);
        Ok(next)
    }
}

fn match_positionals(
    specs: &[ArgSpec],
    words: &[&Token],
    end: usize,
    found: &mut Found,
) -> Result<(), GrammarDenial> {
    let mut next = 0;
    for spec in specs {
        let mut taken = 0;
        while let Some(tok) = words.get(next) {
            let single = matches!(spec.repeat, Repeat::One | Repeat::Optional);
            if single && taken == 1 {
                break;
            }
            if !arg_matches(&spec.kind, &tok.text) {
                if spec.repeat == Repeat::Optional {
                    break;
                }
                return deny(tok.at, bad_arg(&spec.kind, &tok.text));
            }
            if let ArgKind::Value(kind) = &spec.kind {
                found.note(kind, tok.at);
            }
            taken += 1;
            next += 1;
        }
        if taken == 0 && matches!(spec.repeat, Repeat::One | Repeat::OneOrMore) {
            return deny(end, GrammarError::MissingArgument { expected: describe(&spec.kind) });
        }
    }
    match words.get(next) {
        Some(tok) => deny(tok.at, GrammarError::UnexpectedArgument { word: tok.text.clone() }),
        None => Ok(()),
    }
}

fn arg_matches(kind: &ArgKind, word: &str) -> bool {
    match kind {
        ArgKind::Literal(lit) => lit == word,
        ArgKind::Value(kind) => kind != &ValueKind::Text && kind.accepts(word),
    }
}

fn bad_arg(kind: &ArgKind, word: &str) -> GrammarError {
    match kind {
        ArgKind::Literal(_) => GrammarError::UnexpectedArgument { word: word.to_string() },
        ArgKind::Value(k) => {
            GrammarError::BadValue { option: None, value: word.to_string(), kind: k.clone() }
        }
    }
}

fn describe(kind: &ArgKind) -> String {
    match kind {
        ArgKind::Literal(lit) => format!("`{lit}`"),
        ArgKind::Value(k) => format!("<{k}>"),
    }
}

/// Joins the tokens and splits them on whitespace; each piece keeps its source's index.
fn resplit(tokens: Vec<Token>) -> Vec<Token> {
    tokens
        .into_iter()
        .flat_map(|t| {
            let at = t.at;
            t.text.split_whitespace().map(|w| Token { at, text: w.to_string() }).collect::<Vec<_>>()
        })
        .collect()
}

fn refused(token: &str, reason: &str) -> GrammarError {
    GrammarError::Refused { token: token.to_string(), reason: reason.to_string() }
}

fn deny<T>(at: usize, error: GrammarError) -> Result<T, GrammarDenial> {
    Err(GrammarDenial { at: Some(at), error })
}
