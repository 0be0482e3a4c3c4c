//! `help NAME` and `NAME --help`: the usage the session's profile accepts for one command,
//! read from the same grammars and rules the decision uses (nothing runs).
#![forbid(unsafe_code)]

use super::files;
use crate::policy::grammar::{ArgKind, ArgSpec, Grammar, Repeat};
use crate::policy::{Alias, AliasTarget, FileCommand, Profile, RunAs};

/// The builtins, each with its usage.
const BUILTINS: &[(&str, &str)] = &[
    ("help", "help [NAME]: what this grant allows, or how to use one command"),
    ("exit", "exit: ends the session (also `logout`, Ctrl-D)"),
    ("logout", "logout: ends the session"),
    ("pwd", "pwd: the working directory"),
    ("cd", "cd [DIR]: changes the working directory (within the readable paths)"),
    ("history", "history: the lines of this session"),
    ("grant", "grant: the grant in force and the time left"),
    ("clear", "clear: clears the terminal"),
];

/// How to use `name` in a session of `profile`; `None` when the profile has no such command.
pub fn usage(profile: &Profile, name: &str) -> Option<String> {
    if let Some((_, text)) = BUILTINS.iter().find(|(n, _)| *n == name) {
        return Some(format!("{text}\n"));
    }
    if let Some(command) = FileCommand::parse(name) {
        let granted = profile.file_commands.contains_key(&command) || profile.full_access.is_some();
        return granted.then(|| file_command(profile, name, command, None));
    }
    if let Some((command, _)) = super::familiar::familiar(profile, name) {
        return Some(file_command(profile, name, command, None));
    }
    match name {
        "rootexec" if !profile.root_exec.is_empty() => {
            let scripts: Vec<&str> = profile.root_exec.iter().map(|s| s.item.path.as_str()).collect();
            return Some(format!(
                "rootexec SCRIPT [ARG...]: runs a listed script as root\nscripts: {}\n",
                scripts.join(", ")
            ));
        }
        "su" if !profile.su_into.is_empty() => {
            let users: Vec<&str> = profile.su_into.iter().map(|u| u.item.as_str()).collect();
            return Some(format!(
                "su [-] USER: a nested session as a listed user (ssh -t)\nusers: {}\n",
                users.join(", ")
            ));
        }
        _ => {}
    }
    let alias = &profile.aliases.get(name)?.first()?.item;
    Some(match alias.target {
        AliasTarget::Applet(command) => file_command(profile, name, command, Some(&alias.summary)),
        AliasTarget::Binary(ref binary) => alias_usage(name, binary, alias),
    })
}

/// A file command's fixed grammar, and the paths its rules let it read or write.
fn file_command(profile: &Profile, name: &str, command: FileCommand, summary: Option<&String>) -> String {
    let mut text = match summary.filter(|s| !s.is_empty()) {
        Some(summary) => format!("{name}: {summary}\n"),
        None => format!("{name}: cage's {command}, as root within the file rules\n"),
    };
    text.push_str(&format!("usage: {name}{}\n", grammar_line(files::grammar(command))));
    let rules = |list: &[crate::policy::Sourced<crate::policy::PathRule>]| {
        list.iter().map(|r| r.item.written.clone()).collect::<Vec<_>>().join(" ")
    };
    if profile.full_access.is_some() {
        text.push_str("paths: any (full access)\n");
        return text;
    }
    let writes = matches!(command, FileCommand::Sudocp | FileCommand::Sudorm | FileCommand::Sudovi);
    if writes {
        text.push_str(&format!("writes under: {}\n", rules(&profile.read_write)));
    }
    if command != FileCommand::Sudorm {
        text.push_str(&format!(
            "reads under: {} {}\n",
            rules(&profile.read_write),
            rules(&profile.read_only)
        ));
    }
    let denied = rules(&profile.deny);
    if !denied.is_empty() {
        text.push_str(&format!("never: {denied}, and the secret paths\n"));
    }
    text
}

fn alias_usage(name: &str, binary: &str, alias: &Alias) -> String {
    let mut text = match alias.summary.is_empty() {
        true => format!("{name}\n"),
        false => format!("{name}: {}\n", alias.summary),
    };
    let who = match &alias.run_as {
        RunAs::Operator => "as you".to_string(),
        RunAs::Root => "as root".to_string(),
        other => format!("as {}", format!("{other:?}").to_lowercase()),
    };
    let fixed = alias.fixed_args.iter().map(|a| format!(" {a}")).collect::<String>();
    text.push_str(&format!("runs: {binary}{fixed} ({who}, in a jail)\n"));
    match &alias.grammar {
        None => text.push_str(&format!("usage: {name} [ARG...] (any arguments)\n")),
        Some(grammar) => describe(&mut text, name, grammar),
    }
    text
}

/// One level of a grammar (and its subcommands, one line each).
fn describe(text: &mut String, prefix: &str, grammar: &Grammar) {
    if grammar.subs.is_empty() {
        text.push_str(&format!("usage: {prefix}{}\n", grammar_line(grammar)));
    } else {
        for (sub, inner) in &grammar.subs {
            describe(text, &format!("{prefix} {sub}"), inner);
        }
    }
    for (token, why) in &grammar.refuse {
        text.push_str(&format!("  refused: {token} ({why})\n"));
    }
    for (option, why) in &grammar.once {
        text.push_str(&format!("  at most once: {option} ({why})\n"));
    }
}

/// ` [-n <int>] [-f] <path>...` for one level.
fn grammar_line(grammar: &Grammar) -> String {
    let mut line = String::new();
    for option in &grammar.options {
        let value = option.value.as_ref().map_or(String::new(), |v| format!(" <{v}>"));
        line.push_str(&format!(" [{}{value}]", option.names.join("|")));
    }
    for arg in &grammar.args {
        line.push(' ');
        line.push_str(&arg_text(arg));
    }
    line
}

fn arg_text(arg: &ArgSpec) -> String {
    let body = match &arg.kind {
        ArgKind::Literal(word) => word.clone(),
        ArgKind::Value(kind) => format!("<{kind}>"),
    };
    match arg.repeat {
        Repeat::One => body,
        Repeat::Optional => format!("[{body}]"),
        Repeat::Many => format!("[{body}...]"),
        Repeat::OneOrMore => format!("{body}..."),
    }
}
