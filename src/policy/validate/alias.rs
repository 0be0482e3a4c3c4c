//! An alias of a profile's layer: its target, fixed arguments, grammar, run_as and
//! capabilities, checked as the rest of the file is.
#![forbid(unsafe_code)]

use super::super::grammar::{self, Grammar};
use super::super::model::*;
use super::super::schema::*;
use super::super::types::*;
use super::super::BUILTIN_NAMES;
use super::{command_name_problem, path_rule, text_map, Checker};

pub(super) fn alias(c: &mut Checker, name: &Text, raw: RawAlias) -> Option<Alias> {
    let alias_name = name.get_ref().clone();
    if let Some(p) = command_name_problem(&alias_name) {
        c.error(name.span(), format!("alias `{alias_name}`: {p}"));
    }
    if FileCommand::parse(&alias_name).is_some() || BUILTIN_NAMES.contains(&alias_name.as_str()) {
        c.error(name.span(), format!("alias `{alias_name}` would shadow a cage command"));
    }
    let (target, loc) = alias_target(c, name, &raw)?;
    Some(Alias {
        name: alias_name,
        target,
        fixed_args: raw.args.iter().map(|a| fixed_arg(c, a)).collect(),
        grammar: raw.grammar.map(|g| grammar(c, g)),
        run_as: raw.run_as.as_ref().map_or(RunAs::Operator, |r| run_as(c, r)),
        caps: raw.caps.iter().filter_map(|cap| capability(c, cap)).collect(),
        tty: raw.tty,
        summary: raw.summary,
        loc,
    })
}

fn alias_target(c: &mut Checker, name: &Text, raw: &RawAlias) -> Option<(AliasTarget, Loc)> {
    match (&raw.binary, &raw.applet) {
        (Some(bin), None) => {
            let rule = path_rule(c, bin)?;
            if bin.get_ref().ends_with('/') {
                c.error(bin.span(), "binary must name a file, not a directory");
            }
            Some((AliasTarget::Binary(rule.path), c.loc(bin.span())))
        }
        (None, Some(app)) => match FileCommand::parse(app.get_ref()) {
            Some(fc) => Some((AliasTarget::Applet(fc), c.loc(app.span()))),
            None => {
                c.error(
                    app.span(),
                    format!("unknown applet `{}` (expected a cage file command)", app.get_ref()),
                );
                None
            }
        },
        _ => {
            c.error(
                name.span(),
                format!("alias `{}` needs exactly one of `binary` or `applet`", name.get_ref()),
            );
            None
        }
    }
}

fn fixed_arg(c: &mut Checker, raw: &Text) -> String {
    if raw.get_ref().chars().any(char::is_control) {
        c.error(raw.span(), "fixed argument contains a control character or NUL");
    }
    raw.get_ref().clone()
}

fn run_as(c: &mut Checker, raw: &Text) -> RunAs {
    match raw.get_ref().as_str() {
        "operator" => RunAs::Operator,
        "root" => RunAs::Root,
        user if is_unix_name(user) => RunAs::User(user.to_string()),
        other => {
            c.error(raw.span(), format!("run_as `{other}` is not operator, root or a user name"));
            RunAs::Operator
        }
    }
}

fn capability(c: &mut Checker, raw: &Text) -> Option<String> {
    let name = raw.get_ref().to_ascii_lowercase();
    let name = name.strip_prefix("cap_").unwrap_or(&name).to_string();
    if !KNOWN_CAPABILITIES.contains(&name.as_str()) {
        c.error(raw.span(), format!("unknown capability `{}`", raw.get_ref()));
    } else if FORBIDDEN_CAPABILITIES.contains(&name.as_str()) {
        c.error(
            raw.span(),
            format!("capability `{name}` would let a command undo its jail; it cannot be granted"),
        );
    } else {
        return Some(name);
    }
    None
}

fn grammar(c: &mut Checker, raw: RawGrammar) -> Grammar {
    let options =
        raw.options.iter().filter_map(|o| spec_or_error(c, o, grammar::parse_option_spec)).collect();
    let args: Vec<_> = raw.args.iter().filter_map(|a| spec_or_error(c, a, grammar::parse_arg_spec)).collect();
    if let Err(e) = grammar::check_arg_order(&args) {
        if let Some(last) = raw.args.last() {
            c.error(last.span(), e);
        }
    }
    let refuse = text_map(c, &raw.refuse, "refused word", |w| w.is_empty().then_some("empty"));
    let once = text_map(c, &raw.once, "option allowed once", |w| {
        (!w.starts_with('-') || w.len() < 2).then_some("not an option name")
    });
    let subs = raw.sub.into_iter().map(|(name, g)| (name.into_inner(), grammar(c, g))).collect();
    Grammar { options, args, subs, refuse, once, split: raw.split, bare: raw.bare }
}

fn spec_or_error<T>(c: &mut Checker, raw: &Text, parse: fn(&str) -> Result<T, String>) -> Option<T> {
    parse(raw.get_ref()).map_err(|e| c.error(raw.span(), e)).ok()
}
