//! The shell's own commands: help, exit, pwd, cd, history, grant.
#![forbid(unsafe_code)]

use std::io::Write;

use super::Context;
use super::LineOutcome;
use crate::decide::Builtin;

pub(super) fn run(ctx: &mut Context, builtin: &Builtin) -> LineOutcome {
    let status = match builtin {
        Builtin::Exit => return LineOutcome::Exit,
        Builtin::Help => help(ctx, false),
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
        None if name == "all" => help(ctx, true),
        Some(text) => ctx.out.write_all(text.as_bytes()).map_or(1, |_| 0),
        None => {
            let _ =
                writeln!(ctx.err, "cage: help: this grant has no command `{name}` (type help for the list)");
            1
        }
    }
}

/// What this grant allows: the short form (`help`) or every command with its summary.
fn help(ctx: &mut Context, all: bool) -> i32 {
    let header = format!("{} on {}", ctx.session.login, ctx.host);
    let text = match all {
        true => crate::decide::help::all(ctx.profile, &header),
        false => crate::decide::help::short(ctx.profile, &header),
    };
    ctx.out.write_all(text.as_bytes()).map_or(1, |_| 0)
}
