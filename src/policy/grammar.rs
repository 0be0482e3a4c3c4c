//! Argument grammars: which options, subcommands and arguments an alias accepts.
//!
//! A grammar is an allow-list. Option parsing follows getopt (combined short flags,
//! attached values, `--long=value`) so cage sees what the program will see: a refused
//! flag hidden in a cluster (`tcpdump -nz`) is still refused. Long options must be
//! written in full; getopt's prefix abbreviations are refused because they are not listed.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

mod check;
mod spec;

pub use check::{GrammarDenial, GrammarError, Matched};
pub use spec::{check_arg_order, parse_arg_spec, parse_option_spec};

/// What a grammar accepts at one level (the alias itself, or one of its subcommands).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grammar {
    pub options: Vec<OptionSpec>,
    pub args: Vec<ArgSpec>,
    pub subs: BTreeMap<String, Grammar>,
    /// Tokens refused with an explanation (options or subcommands), checked first.
    pub refuse: BTreeMap<String, String>,
    /// Options allowed at most once, with why more is refused (`lspci -xxx`: a repeated flag
    /// is another option, one the tool's manual warns about). Counted across clusters.
    #[serde(default)]
    pub once: BTreeMap<String, String>,
    /// With subcommands: the command may also be run with none (and no positional word),
    /// as a tool that opens its own prompt (`dgmgrl`).
    #[serde(default)]
    pub bare: bool,
    /// The remaining arguments are joined and re-split on whitespace before matching,
    /// as CLIs such as `cellcli -e` do with their command text.
    pub split: bool,
}

/// One allowed option, with its synonyms (`-n`, `--lines`) and the value it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub names: Vec<String>,
    pub value: Option<ValueKind>,
}

/// One positional slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgSpec {
    pub kind: ArgKind,
    pub repeat: Repeat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgKind {
    /// Exactly this word.
    Literal(String),
    Value(ValueKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Repeat {
    One,
    Optional,
    Many,
    OneOrMore,
}

/// The shape a value must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    /// Decimal digits, optionally with a leading `+` (as in `tail -n +5`).
    Int,
    /// An identifier: letters, digits and `._:@+=,-`, not starting with `-`, no `/`.
    Name,
    /// A systemd unit name: letters, digits and `:_.@\-`, not starting with `-`.
    Unit,
    /// A host name or address.
    Host,
    /// An `http://` or `https://` URL (never `file://`, `dict://`, `gopher://`, ...).
    Url,
    /// A plain word: not starting with `-`, without `;|&$` or backtick.
    Word,
    /// A path, not starting with `-`; the jail decides what it reaches.
    Path,
    /// A path that must lie inside the profile's readable file rules.
    Readable,
    /// Any text (only as an option value).
    Text,
    /// One of a fixed list.
    OneOf(Vec<String>),
}

impl ValueKind {
    pub fn parse(name: &str) -> Option<ValueKind> {
        Some(match name {
            "int" => ValueKind::Int,
            "name" => ValueKind::Name,
            "unit" => ValueKind::Unit,
            "host" => ValueKind::Host,
            "url" => ValueKind::Url,
            "word" => ValueKind::Word,
            "path" => ValueKind::Path,
            "readable" => ValueKind::Readable,
            "text" => ValueKind::Text,
            list if list.contains('|') => ValueKind::OneOf(list.split('|').map(str::to_string).collect()),
            _ => return None,
        })
    }

    /// True when `value` has this shape.
    pub fn accepts(&self, value: &str) -> bool {
        let starts_clean = !value.is_empty() && !value.starts_with('-');
        match self {
            ValueKind::Int => is_int(value),
            ValueKind::Name => starts_clean && chars_in(value, "._:@+=,-") && !value.contains('/'),
            ValueKind::Unit => starts_clean && chars_in(value, ":_.@\\-"),
            ValueKind::Host => starts_clean && chars_in(value, "._:-[]%") && value.len() <= 253,
            ValueKind::Url => is_web_url(value),
            ValueKind::Word => starts_clean && !value.contains([';', '|', '&', '$', '`']),
            ValueKind::Path | ValueKind::Readable => starts_clean,
            ValueKind::Text => true,
            ValueKind::OneOf(list) => list.iter().any(|v| v == value),
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ValueKind::Int => "int",
            ValueKind::Name => "name",
            ValueKind::Unit => "unit",
            ValueKind::Host => "host",
            ValueKind::Url => "url",
            ValueKind::Word => "word",
            ValueKind::Path => "path",
            ValueKind::Readable => "readable",
            ValueKind::Text => "text",
            ValueKind::OneOf(list) => return write!(f, "{}", list.join("|")),
        };
        f.write_str(name)
    }
}

fn is_int(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or(value);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn chars_in(value: &str, extra: &str) -> bool {
    value.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_web_url(value: &str) -> bool {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    scheme_ok && value.len() <= 2048 && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Grammar {
    /// The option spec named `name` at this level.
    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        self.options.iter().find(|o| o.names.iter().any(|n| n == name))
    }

    /// All option names at this level, for messages.
    pub fn option_names(&self) -> Vec<&str> {
        self.options.iter().flat_map(|o| o.names.iter().map(String::as_str)).collect()
    }
}

#[cfg(test)]
mod tests;
