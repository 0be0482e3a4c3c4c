//! A small, strict parser for `--flag value` style arguments.
#![forbid(unsafe_code)]

use std::ffi::OsString;

/// A mistake in the invocation; shown with the usage text, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Parsed options (`--name value` or `--name=value`), positionals, and what follows `--`.
#[derive(Debug, Default)]
pub struct Parsed {
    pub options: Vec<(String, String)>,
    pub positionals: Vec<String>,
    pub after_dashes: Vec<OsString>,
    /// Options that take no value (`--create-user`), when given.
    pub flags: Vec<String>,
}

impl Parsed {
    /// Parses `args`, accepting only the options in `known` (each takes one value).
    pub fn parse(args: &[OsString], known: &[&str]) -> Result<Parsed, UsageError> {
        Self::parse_with_flags(args, known, &[])
    }

    /// Like [`Parsed::parse`], also accepting the value-less options in `flags`.
    pub fn parse_with_flags(args: &[OsString], known: &[&str], flags: &[&str]) -> Result<Parsed, UsageError> {
        let mut parsed = Parsed::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                parsed.after_dashes = iter.cloned().collect();
                break;
            }
            let text = utf8(arg)?;
            let Some(option) = text.strip_prefix("--") else {
                // A short option no subcommand knows is refused, never taken for a file name.
                if text.len() > 1 && text.starts_with('-') {
                    return Err(UsageError(format!("unknown option {text}")));
                }
                parsed.positionals.push(text);
                continue;
            };
            if flags.contains(&option) {
                if parsed.has(option) {
                    return Err(UsageError(format!("--{option} given twice")));
                }
                parsed.flags.push(option.to_string());
                continue;
            }
            let named = option.split_once('=').map_or(option, |(n, _)| n);
            if !known.contains(&named) {
                return Err(UsageError(format!("unknown option --{named}")));
            }
            let (name, value) = match option.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let value = iter.next().ok_or_else(|| UsageError(format!("--{option} needs a value")))?;
                    (option.to_string(), utf8(value)?)
                }
            };
            if parsed.get(&name).is_some() {
                return Err(UsageError(format!("--{name} given twice")));
            }
            parsed.options.push((name, value));
        }
        Ok(parsed)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn require(&self, name: &str) -> Result<&str, UsageError> {
        self.get(name).ok_or_else(|| UsageError(format!("--{name} is required")))
    }
}

fn utf8(arg: &OsString) -> Result<String, UsageError> {
    arg.to_str().map(str::to_string).ok_or_else(|| UsageError(format!("argument {arg:?} is not valid UTF-8")))
}
