//! Options and operands of the cage file commands, judged against the file rules.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use super::denial::{Denial, DenyReason};
use super::paths;
use super::plan::*;
use super::Session;
use crate::policy::grammar::{parse_arg_spec, parse_option_spec, Grammar};
use crate::policy::path::normalize;
use crate::policy::{FileCommand, Profile};

/// Each command's options and operands, as documented in docs/file-commands.md.
fn spec(command: FileCommand) -> (&'static [&'static str], &'static [&'static str]) {
    match command {
        FileCommand::Sudols => (&["-l", "-a", "-h", "-R"], &["<path>*"]),
        FileCommand::Sudocat => (&[], &["<path>+"]),
        FileCommand::Sudohead => (&["-n <int>", "-c <int>"], &["<path>"]),
        FileCommand::Sudotail => (&["-n <int>", "-c <int>", "-f", "-F"], &["<path>"]),
        FileCommand::Sudocp => (&["-p", "-r"], &["<path>", "<path>"]),
        FileCommand::Sudorm => (&["-r", "-f"], &["<path>+"]),
        FileCommand::Sudovi => (&[], &["<path>"]),
    }
}

fn grammar(command: FileCommand) -> &'static Grammar {
    static GRAMMARS: OnceLock<Vec<Grammar>> = OnceLock::new();
    let all = GRAMMARS.get_or_init(|| FileCommand::ALL.iter().map(|c| build_grammar(*c)).collect());
    let index = FileCommand::ALL.iter().position(|c| *c == command).unwrap_or(0);
    &all[index]
}

fn build_grammar(command: FileCommand) -> Grammar {
    let (options, args) = spec(command);
    Grammar {
        options: options.iter().filter_map(|o| parse_option_spec(o).ok()).collect(),
        args: args.iter().filter_map(|a| parse_arg_spec(a).ok()).collect(),
        ..Grammar::default()
    }
}

/// What each operand needs: the last operand of `sudocp` is written, the rest are read.
fn access_of(command: FileCommand, index: usize, count: usize) -> Access {
    match command {
        FileCommand::Sudorm | FileCommand::Sudovi => Access::Write,
        FileCommand::Sudocp if index + 1 == count => Access::Write,
        _ => Access::Read,
    }
}

pub fn decide_file_command(
    profile: &Profile,
    session: &Session,
    command: FileCommand,
    args: &[&str],
    rule: Rule,
) -> Result<ExecPlan, Denial> {
    let matched = grammar(command).check(args).map_err(|d| Denial {
        reason: DenyReason::Grammar { alias: command.name().to_string(), error: d.error, rule: rule.clone() },
        at: d.at.map(|i| i + 1),
    })?;
    let count = matched.positionals.len();
    let mut operands = Vec::with_capacity(count.max(1));
    for (n, &index) in matched.positionals.iter().enumerate() {
        let path = normalize(&session.cwd, args[index]);
        let grant = operand(profile, command, &path, access_of(command, n, count))
            .map_err(|reason| Denial { reason, at: Some(index + 1) })?;
        operands.push(grant);
    }
    if count == 0 {
        let cwd = operand(profile, command, &session.cwd, Access::Read)
            .map_err(|reason| Denial { reason, at: None })?;
        operands.push(cwd);
    }
    let options =
        args.iter().enumerate().filter(|(i, _)| !matched.positionals.contains(i)).map(|(_, a)| a.to_string());
    let plan = FilePlan { command, options: options.collect(), operands };
    Ok(ExecPlan { rule, action: Action::File(plan), redirects: Vec::new() })
}

fn operand(
    profile: &Profile,
    command: FileCommand,
    path: &str,
    access: Access,
) -> Result<PathGrant, DenyReason> {
    if profile.full_access.is_some() {
        return Ok(PathGrant { path: path.to_string(), access, base: "/".to_string(), rule: None });
    }
    let grant = paths::judge(profile, path, access)?;
    if command == FileCommand::Sudorm && grant.path == grant.base {
        let rule = grant.rule.clone();
        return Err(match rule {
            Some(rule) => DenyReason::RuleRoot { path: grant.path, rule },
            None => DenyReason::PathOutside { path: grant.path, write: true },
        });
    }
    Ok(grant)
}
