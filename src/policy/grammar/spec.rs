//! Parsing the compact spec strings of a grammar: `"-n, --lines <int>"` and `"<word>*"`.
#![forbid(unsafe_code)]

use super::{ArgKind, ArgSpec, OptionSpec, Repeat, ValueKind};

/// Parses an option spec: comma-separated names, then an optional `<kind>`.
pub fn parse_option_spec(spec: &str) -> Result<OptionSpec, String> {
    let (names_part, value) = match spec.find('<') {
        Some(i) => (&spec[..i], Some(parse_value(&spec[i..])?)),
        None => (spec, None),
    };
    let names: Vec<String> =
        names_part.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
    if names.is_empty() {
        return Err(format!("option spec `{spec}` names no option"));
    }
    if let Some(bad) = names.iter().find(|n| !is_option_name(n)) {
        return Err(format!("`{bad}` is not an option name (expected `-x` or `--long`, no spaces or `=`)"));
    }
    Ok(OptionSpec { names, value })
}

fn is_option_name(name: &str) -> bool {
    name.starts_with('-')
        && name.len() >= 2
        && name != "--"
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn parse_value(text: &str) -> Result<ValueKind, String> {
    let inner = text
        .trim()
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .ok_or_else(|| format!("value `{text}` must be written `<kind>`"))?;
    ValueKind::parse(inner).ok_or_else(|| unknown_kind(inner))
}

fn unknown_kind(kind: &str) -> String {
    format!(
        "unknown value kind `{kind}` (expected int, name, unit, host, url, word, path, readable, text or a|b|c)"
    )
}

/// Parses a positional spec: `<kind>` or a literal word, then `?`, `*` or `+`.
pub fn parse_arg_spec(spec: &str) -> Result<ArgSpec, String> {
    let (body, repeat) = match spec.chars().last() {
        Some('?') => (&spec[..spec.len() - 1], Repeat::Optional),
        Some('*') => (&spec[..spec.len() - 1], Repeat::Many),
        Some('+') => (&spec[..spec.len() - 1], Repeat::OneOrMore),
        _ => (spec, Repeat::One),
    };
    let kind = if let Some(inner) = body.strip_prefix('<').and_then(|b| b.strip_suffix('>')) {
        if inner == "text" {
            return Err("`<text>` is only allowed as an option value".to_string());
        }
        ArgKind::Value(ValueKind::parse(inner).ok_or_else(|| unknown_kind(inner))?)
    } else if ValueKind::Word.accepts(body) && !body.contains(['<', '>', ' ']) {
        ArgKind::Literal(body.to_string())
    } else {
        return Err(format!("argument spec `{spec}` is neither `<kind>` nor a plain word"));
    };
    Ok(ArgSpec { kind, repeat })
}

/// A list of positional specs is matched greedily, so only the last may repeat.
pub fn check_arg_order(specs: &[ArgSpec]) -> Result<(), String> {
    let last = specs.len().saturating_sub(1);
    match specs.iter().position(|s| matches!(s.repeat, Repeat::Many | Repeat::OneOrMore)) {
        Some(i) if i != last => Err("only the last argument spec may end in `*` or `+`".into()),
        _ => Ok(()),
    }
}
