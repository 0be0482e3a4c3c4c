//! Dispatch on the command name: refusals first, then builtins, rootexec, su, file commands,
//! aliases, path commands and full access, in that order.
#![forbid(unsafe_code)]

use super::denial::{Denial, DenyReason};
use super::familiar::familiar;
use super::plan::*;
use super::{builtin_origin, files, network, paths, Session};
use crate::policy::path::normalize;
use crate::policy::{command_name_problem, Alias, AliasTarget, FileCommand, Profile, RunAs, Sourced};
use std::sync::Arc;

/// Directories searched for a full-access session's commands.
const SYSTEM_PATH: &[&str] = &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

type Decided = Result<ExecPlan, Denial>;

pub(super) fn decide_argv(profile: &Profile, session: &Session, argv: &[&str]) -> Decided {
    let Some((&name, args)) = argv.split_first() else {
        return deny(DenyReason::UnknownCommand { name: String::new() }, None);
    };
    refusals(profile, name)?;
    // `NAME --help`: the usage this grant accepts, for any command it has (nothing runs).
    if args == ["--help"] && super::usage(profile, name).is_some() {
        return Ok(plan(builtin_rule(profile, "help"), Action::Builtin(Builtin::HelpFor(name.to_string()))));
    }
    if let Some(plan) = builtin(profile, session, name, args) {
        return plan;
    }
    match name {
        "rootexec" => return rootexec(profile, session, args),
        "su" => return su(profile, args),
        _ => {}
    }
    if let Some(command) = FileCommand::parse(name) {
        // Full access reads and writes everything, so it needs no file_commands entry.
        let granted = profile.file_commands.get(&command).or(profile.full_access.as_ref());
        let Some(origin) = granted else {
            return deny(DenyReason::FileCommandNotGranted { command }, Some(0));
        };
        return file_command(profile, session, name, command, origin, args);
    }
    if let Some(candidates) = profile.aliases.get(name) {
        return alias(profile, session, name, args, candidates);
    }
    if let Some((command, origin)) = familiar(profile, name) {
        return file_command(profile, session, name, command, origin, args);
    }
    fallback(profile, name, args)
}

/// A file command under the name typed (`sudocat`, or a familiar `cat`), granted by `origin`.
fn file_command(
    profile: &Profile,
    session: &Session,
    name: &str,
    command: FileCommand,
    origin: &crate::policy::Origin,
    args: &[&str],
) -> Decided {
    let rule =
        Rule { origin: origin.clone(), layer: profile.layer, kind: "file_commands", key: name.to_string() };
    files::decide_file_command(profile, session, command, args, rule)
}

/// Blacklist and explicit refusals win over every allowance.
fn refusals(profile: &Profile, name: &str) -> Result<(), Denial> {
    if let Some(entry) = profile.blacklisted(name) {
        let rule = Rule {
            origin: entry.origin.clone(),
            layer: profile.layer,
            kind: "blacklist",
            key: entry.item.clone(),
        };
        return deny(DenyReason::Blacklisted { name: name.to_string(), rule }, Some(0));
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let refused = spellings(base).into_iter().find_map(|n| Some((profile.refuse.get(n)?, n)));
    if let Some((refusal, key)) = refused {
        let rule = Rule {
            origin: refusal.origin.clone(),
            layer: profile.layer,
            kind: "refuse",
            key: key.to_string(),
        };
        let reason = DenyReason::Refused { name: name.to_string(), reason: refusal.item.clone(), rule };
        return deny(reason, Some(0));
    }
    Ok(())
}

/// The names a program may be installed under for one refused name: itself, without a
/// compiler's target triplet (`x86_64-linux-gnu-gcc-12`), without a variant suffix after the
/// first dot (`vim.tiny`, `python3.13`), and without a trailing version (`perl5.36.0`,
/// `gcc-12`, `lua5.3`). A refusal of `perl` must not be bypassed by its hard link
/// `perl5.36.0`, nor `vim` by Debian's `vim.basic`.
fn spellings(base: &str) -> Vec<&str> {
    let untargeted = base.rsplit_once("-linux-gnu-").map_or(base, |(_, tool)| tool);
    let unsuffixed = untargeted.split_once('.').map_or(untargeted, |(stem, _)| stem);
    let mut names = vec![base, untargeted, unsuffixed];
    for name in [untargeted, unsuffixed] {
        let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '_');
        if !trimmed.is_empty() {
            names.push(trimmed);
        }
    }
    names.dedup();
    names
}

fn builtin(profile: &Profile, session: &Session, name: &str, args: &[&str]) -> Option<Decided> {
    let builtin = match (name, args) {
        ("help", [topic]) => Builtin::HelpFor(topic.to_string()),
        ("help", _) if args.len() > 1 => {
            let detail = format!("takes one command name (got `{}` too)", args[1]);
            return Some(deny(DenyReason::Usage { command: name.to_string(), detail }, Some(2)));
        }
        _ => match name {
            "help" => Builtin::Help,
            "exit" | "logout" => Builtin::Exit,
            "pwd" => Builtin::Pwd,
            "history" => Builtin::History,
            "grant" => Builtin::Grant,
            "clear" => Builtin::Clear,
            "cd" => return Some(cd(profile, session, args)),
            _ => return None,
        },
    };
    if matches!(builtin, Builtin::HelpFor(_)) {
        return Some(Ok(plan(builtin_rule(profile, name), Action::Builtin(builtin))));
    }
    if let Some(extra) = args.first() {
        let detail = format!("takes no arguments (got `{extra}`)");
        return Some(deny(DenyReason::Usage { command: name.to_string(), detail }, Some(1)));
    }
    Some(Ok(plan(builtin_rule(profile, name), Action::Builtin(builtin))))
}

fn cd(profile: &Profile, session: &Session, args: &[&str]) -> Decided {
    let target = match args {
        [] => session.home.clone(),
        [dir] => normalize(&session.cwd, dir),
        [_, extra, ..] => {
            let detail = format!("takes one directory (got `{extra}` too)");
            return deny(DenyReason::Usage { command: "cd".into(), detail }, Some(2));
        }
    };
    if !args.is_empty() && !paths::may_enter(profile, &target) {
        return deny(DenyReason::CdOutside { path: target }, Some(1));
    }
    Ok(plan(builtin_rule(profile, "cd"), Action::Builtin(Builtin::Cd(target))))
}

fn rootexec(profile: &Profile, session: &Session, args: &[&str]) -> Decided {
    let Some((&script, script_args)) = args.split_first() else {
        let detail = "needs the path of a listed script".to_string();
        return deny(DenyReason::Usage { command: "rootexec".into(), detail }, None);
    };
    let path = normalize(&session.cwd, script);
    let Some(listed) = profile.root_exec.iter().find(|r| r.item.path == path) else {
        return deny(DenyReason::RootExecNotListed { path }, Some(1));
    };
    let rule =
        Rule { origin: listed.origin.clone(), layer: profile.layer, kind: "root_exec", key: path.clone() };
    let args = script_args.iter().map(|a| a.to_string()).collect();
    let exec = RootExecPlan { script: path, sha256: listed.item.sha256.clone(), args };
    Ok(plan(rule, Action::RootExec(exec)))
}

/// `su [-|-l|--login] NAME`, nothing else: no `-c`, no `-s`, never root.
fn su(profile: &Profile, args: &[&str]) -> Decided {
    let user = match args {
        [user] | ["-" | "-l" | "--login", user] if !user.starts_with('-') => *user,
        _ => {
            let detail = "usage: su [-] NAME (no other options)".to_string();
            return deny(DenyReason::Usage { command: "su".into(), detail }, Some(1));
        }
    };
    if user == "root" {
        return deny(DenyReason::SuRoot, Some(args.len()));
    }
    let Some(listed) = profile.su_into.iter().find(|u| u.item == user) else {
        return deny(DenyReason::SuNotListed { user: user.to_string() }, Some(args.len()));
    };
    let rule =
        Rule { origin: listed.origin.clone(), layer: profile.layer, kind: "su_into", key: user.to_string() };
    Ok(plan(rule, Action::Su(SuPlan { user: user.to_string() })))
}

/// Tries each definition of the alias, nearest first; the first that accepts decides.
fn alias(
    profile: &Profile,
    session: &Session,
    name: &str,
    args: &[&str],
    candidates: &[Sourced<Arc<Alias>>],
) -> Decided {
    let mut first_denial = None;
    for candidate in candidates {
        match alias_candidate(profile, session, name, args, candidate) {
            Ok(plan) => return Ok(plan),
            Err(denial) => {
                first_denial.get_or_insert(denial);
            }
        }
    }
    Err(first_denial
        .unwrap_or(Denial { reason: DenyReason::UnknownCommand { name: name.to_string() }, at: Some(0) }))
}

fn alias_candidate(
    profile: &Profile,
    session: &Session,
    name: &str,
    args: &[&str],
    candidate: &Sourced<Arc<Alias>>,
) -> Decided {
    let alias = &candidate.item;
    let rule =
        Rule { origin: candidate.origin.clone(), layer: profile.layer, kind: "alias", key: name.to_string() };
    let binary = match &alias.target {
        AliasTarget::Applet(command) => {
            return files::decide_file_command(profile, session, *command, args, rule)
        }
        AliasTarget::Binary(binary) => binary,
    };
    if let Some(grammar) = &alias.grammar {
        let matched = grammar.check(args).map_err(|d| Denial {
            reason: DenyReason::Grammar { alias: name.to_string(), error: d.error, rule: rule.clone() },
            at: d.at.map(|i| i + 1),
        })?;
        for index in matched.readable {
            let path = normalize(&session.cwd, args[index]);
            paths::judge(profile, &path, Access::Read)
                .map_err(|reason| Denial { reason, at: Some(index + 1) })?;
        }
        for index in matched.destinations {
            network::judge(profile, args[index]).map_err(|reason| Denial { reason, at: Some(index + 1) })?;
        }
    }
    let base = binary.rsplit('/').next().unwrap_or(binary).to_string();
    let argv = std::iter::once(base)
        .chain(alias.fixed_args.iter().cloned())
        .chain(args.iter().map(|a| a.to_string()));
    let run = RunPlan {
        program: Program::Path(binary.clone()),
        argv: argv.collect(),
        run_as: alias.run_as.clone(),
        caps: alias.caps.clone(),
        tty: alias.tty,
        jailed: profile.full_access.is_none(),
    };
    Ok(plan(rule, Action::Run(run)))
}

/// Commands not named by any rule: path commands (jailed, as the operator), full access,
/// or unknown.
fn fallback(profile: &Profile, name: &str, args: &[&str]) -> Decided {
    let unknown = DenyReason::UnknownCommand { name: name.to_string() };
    if let Some(origin) = &profile.full_access {
        let rule =
            Rule { origin: origin.clone(), layer: profile.layer, kind: "full_access", key: "*".into() };
        let program = if name.contains('/') {
            Program::Path(name.to_string())
        } else {
            Program::Search {
                dirs: SYSTEM_PATH.iter().map(|d| d.to_string()).collect(),
                name: name.to_string(),
            }
        };
        return Ok(plan(rule, Action::Run(run_plan(program, name, args, RunAs::Root, false))));
    }
    if name.contains('/') {
        return deny(DenyReason::PathCommand { name: name.to_string() }, Some(0));
    }
    let Some(first) = profile.path_commands.first() else {
        return deny(unknown, Some(0));
    };
    if command_name_problem(name).is_some() {
        return deny(unknown, Some(0));
    }
    let dirs = profile.path_commands.iter().map(|d| d.item.path.clone()).collect();
    let rule = paths::rule(profile, first, "path_commands");
    let program = Program::Search { dirs, name: name.to_string() };
    Ok(plan(rule, Action::Run(run_plan(program, name, args, RunAs::Operator, true))))
}

fn run_plan(program: Program, name: &str, args: &[&str], run_as: RunAs, jailed: bool) -> RunPlan {
    let base = name.rsplit('/').next().unwrap_or(name).to_string();
    let argv = std::iter::once(base).chain(args.iter().map(|a| a.to_string())).collect();
    RunPlan { program, argv, run_as, caps: Vec::new(), tty: false, jailed }
}

fn builtin_rule(profile: &Profile, name: &str) -> Rule {
    Rule { origin: builtin_origin(), layer: profile.layer, kind: "builtin", key: name.to_string() }
}

fn plan(rule: Rule, action: Action) -> ExecPlan {
    ExecPlan { rule, action, redirects: Vec::new() }
}

fn deny<T>(reason: DenyReason, at: Option<usize>) -> Result<T, Denial> {
    Err(Denial { reason, at })
}
