//! Options and operands of the cage file commands, judged against the file rules.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use super::denial::{Denial, DenyReason};
use super::paths;
use super::plan::*;
use super::Session;
use crate::policy::grammar::{parse_arg_spec, parse_option_spec, Grammar};
use crate::policy::path::{is_within, normalize};
use crate::policy::{FileCommand, Profile};

/// Each command's options and operands, as documented in docs/file-commands.md.
fn spec(command: FileCommand) -> (&'static [&'static str], &'static [&'static str]) {
    match command {
        FileCommand::Sudols => (&["-l", "-a", "-h", "-R"], &["<path>*"]),
        FileCommand::Sudocat => (&[], &["<path>+"]),
        // No path: standard input, in a pipeline (`... | tail -n 5`).
        FileCommand::Sudohead => (&["-n <int>", "-c <int>"], &["<path>?"]),
        FileCommand::Sudotail => (&["-n <int>", "-c <int>", "-f", "-F"], &["<path>?"]),
        FileCommand::Sudocp => (&["-p", "-r"], &["<path>", "<path>"]),
        FileCommand::Sudorm => (&["-r", "-f"], &["<path>+"]),
        FileCommand::Sudovi => (&[], &["<path>"]),
    }
}

pub(super) fn grammar(command: FileCommand) -> &'static Grammar {
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

pub(super) fn decide_file_command(
    profile: &Profile,
    session: &Session,
    command: FileCommand,
    args: &[&str],
    rule: Rule,
) -> Result<ExecPlan, Denial> {
    // A refusal names the command as typed (`tail`, not `sudotail`).
    let matched = grammar(command).check(args).map_err(|d| Denial {
        reason: DenyReason::Grammar { alias: rule.key.clone(), error: d.error, rule: rule.clone() },
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
    if command == FileCommand::Sudocp {
        copy_checks(profile, args, &matched.positionals, &mut operands)?;
    }
    let follows =
        args.iter().any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(['f', 'F']));
    if count == 0 && command == FileCommand::Sudotail && follows {
        let detail = "-f follows a file: name one".to_string();
        return Err(Denial { reason: DenyReason::Usage { command: rule.key.clone(), detail }, at: None });
    }
    if count == 0 && command == FileCommand::Sudols {
        let cwd = operand(profile, command, &session.cwd, Access::Read)
            .map_err(|reason| Denial { reason, at: None })?;
        operands.push(cwd);
    }
    let options =
        args.iter().enumerate().filter(|(i, _)| !matched.positionals.contains(i)).map(|(_, a)| a.to_string());
    let as_directory = matched
        .positionals
        .iter()
        .filter(|&&i| args[i].len() > 1 && args[i].ends_with('/'))
        .map(|&i| normalize(&session.cwd, args[i]))
        .collect();
    let plan = FilePlan { command, options: options.collect(), operands, as_directory };
    Ok(ExecPlan { rule, action: Action::File(plan), redirects: Vec::new() })
}

/// `sudocp`: the path a copy into an existing directory writes (`DST/NAME`) must be writable
/// too, and is added as a third operand; with `-r` (whose destination must be an existing
/// directory), no deny rule or secret may lie inside the source tree or `DST/NAME`, nor a
/// read-only rule inside `DST/NAME` (the recursion on disk does not consult the rules again).
fn copy_checks(
    profile: &Profile,
    args: &[&str],
    positionals: &[usize],
    operands: &mut Vec<PathGrant>,
) -> Result<(), Denial> {
    let [src, dst] = operands.as_slice() else { return Ok(()) };
    let (src, dst) = (src.clone(), dst.clone());
    let at = |i: usize| positionals.get(i).map(|p| p + 1);
    let name = src.path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() {
        let detail = "the source cannot be `/`".to_string();
        return Err(Denial { reason: DenyReason::Usage { command: "sudocp".into(), detail }, at: at(0) });
    }
    let into = format!("{}/{name}", dst.path.trim_end_matches('/'));
    let into = operand(profile, FileCommand::Sudocp, &into, Access::Write)
        .map_err(|reason| Denial { reason, at: at(1) })?;
    let recursive = args.iter().any(|a| a.starts_with('-') && a[1..].contains('r'));
    if recursive && profile.full_access.is_none() {
        let inside = |tree: &str, write: bool| -> Option<String> {
            let denied = profile.deny.iter().map(|d| d.item.path.as_str());
            let read_only = profile.read_only.iter().filter(|_| write).map(|r| r.item.path.as_str());
            // ssh host keys are secrets too (`is_secret`): their directory may not be copied.
            let secrets = crate::policy::path::SECRETS.iter().copied().chain(["/etc/ssh"]);
            let found = secrets.chain(denied).chain(read_only).find(|p| is_within(p, tree) && *p != tree);
            found.map(|p| format!("`{tree}` holds `{p}`, which this copy may not read or write"))
        };
        if is_within(&into.path, &src.path) {
            let detail = format!("`{}` lies inside the tree it would copy", into.path);
            return Err(Denial {
                reason: DenyReason::Usage { command: "sudocp -r".into(), detail },
                at: at(1),
            });
        }
        // With -r the destination is an existing directory: the tree is written as DST/NAME.
        let refused = inside(&src.path, false)
            .map(|d| (d, at(0)))
            .or_else(|| inside(&into.path, true).map(|d| (d, at(1))));
        if let Some((detail, at)) = refused {
            return Err(Denial { reason: DenyReason::Usage { command: "sudocp -r".into(), detail }, at });
        }
    }
    operands.push(into);
    Ok(())
}

fn operand(
    profile: &Profile,
    command: FileCommand,
    path: &str,
    access: Access,
) -> Result<PathGrant, DenyReason> {
    if profile.full_access.is_some() {
        return Ok(PathGrant::full_access(path, access));
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
