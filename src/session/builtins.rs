//! The shell's own commands: help, exit, pwd, cd, history, grant.
#![forbid(unsafe_code)]

use std::io::Write;

use super::exec::LineOutcome;
use super::Context;
use crate::decide::{familiar, Builtin, FAMILIAR};
use crate::policy::{AliasTarget, FileCommand};

pub fn run(ctx: &mut Context, builtin: &Builtin) -> LineOutcome {
    let status = match builtin {
        Builtin::Exit => return LineOutcome::Exit,
        Builtin::Help => help(ctx),
        Builtin::HelpFor(name) => help_for(ctx, name),
        Builtin::Pwd => writeln!(ctx.out, "{}", ctx.session.cwd).map_or(1, |_| 0),
        // Home, clear the screen and its scrollback (what `clear` sends to an xterm).
        Builtin::Clear => {
            write!(ctx.out, "\x1b[H\x1b[2J\x1b[3J").and_then(|()| ctx.out.flush()).map_or(1, |_| 0)
        }
        Builtin::Cd(dir) => cd(ctx, dir),
        Builtin::History => history(ctx),
        Builtin::Grant => match (ctx.check_grant)() {
            Ok(summary) => writeln!(ctx.out, "{summary}").map_or(1, |_| 0),
            Err(end) => {
                let _ = writeln!(ctx.err, "cage: {end}");
                ctx.ended = Some(end);
                return LineOutcome::Exit;
            }
        },
    };
    LineOutcome::Status(status)
}

fn cd(ctx: &mut Context, dir: &str) -> i32 {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            ctx.session.cwd = dir.to_string();
            0
        }
        _ => {
            let _ = writeln!(ctx.err, "cd: {dir}: no such directory");
            1
        }
    }
}

fn history(ctx: &mut Context) -> i32 {
    for (i, line) in ctx.history.iter().enumerate() {
        let shown: String = line.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
        let _ = writeln!(ctx.out, "{:>5}  {shown}", i + 1);
    }
    0
}

/// How to use one command under this grant; nothing runs.
fn help_for(ctx: &mut Context, name: &str) -> i32 {
    match crate::decide::usage(ctx.profile, name) {
        Some(text) => ctx.out.write_all(text.as_bytes()).map_or(1, |_| 0),
        None => {
            let _ =
                writeln!(ctx.err, "cage: help: this grant has no command `{name}` (type help for the list)");
            1
        }
    }
}

/// What this grant allows, grouped as an operator looks for it.
fn help(ctx: &mut Context) -> i32 {
    let p = ctx.profile;
    let mut text = format!(
        "cage: {} on {} ({}), actions {}\n",
        ctx.session.login,
        ctx.host,
        p.layer,
        p.granted.join(", ")
    );
    if p.full_access.is_some() {
        text.push_str("\nfull access: any command, as root, without a jail (still recorded)\n");
    }
    if !p.aliases.is_empty() {
        text.push_str("\ncommands:\n");
        for (name, candidates) in &p.aliases {
            let alias = &candidates[0].item;
            let what = match &alias.target {
                AliasTarget::Applet(_) if !alias.summary.is_empty() => alias.summary.clone(),
                AliasTarget::Applet(fc) => format!("{fc} (as root)"),
                AliasTarget::Binary(_) if !alias.summary.is_empty() => alias.summary.clone(),
                AliasTarget::Binary(bin) => bin.clone(),
            };
            text.push_str(&format!("  {name:<22} {what}\n"));
        }
    }
    let list = |title: &str, items: Vec<String>, text: &mut String| {
        if !items.is_empty() {
            text.push_str(&format!("\n{title}:\n"));
            for item in items {
                text.push_str(&format!("  {item}\n"));
            }
        }
    };
    let also = |command: FileCommand| {
        let names: Vec<&str> = FAMILIAR
            .iter()
            .filter(|(n, c)| *c == command && familiar(p, n).is_some())
            .map(|(n, _)| *n)
            .collect();
        match names.is_empty() {
            true => command.name().to_string(),
            false => format!("{} (also {})", command.name(), names.join(", ")),
        }
    };
    list("file commands", p.file_commands.keys().map(|c| also(*c)).collect(), &mut text);
    list("read-write paths", p.read_write.iter().map(|r| r.item.written.clone()).collect(), &mut text);
    list("read-only paths", p.read_only.iter().map(|r| r.item.written.clone()).collect(), &mut text);
    list("rootexec scripts", p.root_exec.iter().map(|r| r.item.path.clone()).collect(), &mut text);
    list("su into", p.su_into.iter().map(|u| u.item.clone()).collect(), &mut text);
    text.push_str("\nbuiltins: help exit logout pwd cd history grant clear\n");
    ctx.out.write_all(text.as_bytes()).map_or(1, |_| 0)
}
