//! The monitor: root, owns the session. It runs what the operator types (re-parsing every
//! raw line itself), watches the grant, and ends the session when the grant ends.
#![forbid(unsafe_code)]

pub use super::lifespan::Start;

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::sys::signal::{kill, sigprocmask, SigmaskHow, Signal};
use nix::sys::wait::waitpid;

use super::channel::{self, CANDIDATES, COMPLETE, LINE, NAMES, OVER, PROMPT, QUIT, UNREADABLE};
use super::exec::run_line;
use super::grant_watch::GrantWatch;
use super::lifespan::{close_session, open_session};
use super::start_error::StartError;
use super::startup::{Env, Login};
use super::wake::{Source, Waiter, Wake};
use super::LineOutcome;
use super::{Context, SessionEnd};
use crate::audit::{EndReason, Entry};
use crate::decide::FAMILIAR;
use crate::decide::{Session, SuPlan};
use crate::grant::Grant;
use crate::sys;
use crate::time::{format_remaining, Timestamp};

/// Ctrl-C and job-control signals are the monitor's to handle (forwarded to commands), and
/// the REPL edits in raw mode, so neither process lets them act by default.
fn block_signals() {
    let mut set = super::wait::watched_signals();
    for sig in [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU] {
        set.add(sig);
    }
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
}

/// `cage -c LINE` (and SSH_ORIGINAL_COMMAND): one line, its status.
pub fn run_command(login: &Login, env: &Env, start: Start, line: &[u8]) -> i32 {
    block_signals();
    let mut ctx = match open_session(login, env, start) {
        Ok(ctx) => ctx,
        Err(e) => return refuse(&format!("login refused: {e}")),
    };
    ctx.remember(line);
    let status = match run(&mut ctx, line) {
        Some(status) => status,
        // The grant ended before anything ran.
        None if ctx.ended.is_some() => super::exec::DENIED,
        None => 0,
    };
    let reason = ctx.ended.as_ref().map_or(EndReason::Exit, |end| end.reason);
    close_session(&mut ctx, reason);
    status
}

/// An interactive login: the REPL child reads lines, the monitor runs them.
pub fn run_interactive(login: &Login, env: &Env, start: Start) -> i32 {
    block_signals();
    let mut ctx = match open_session(login, env, start) {
        Ok(ctx) => ctx,
        Err(e) => return refuse(&format!("login refused: {e}")),
    };
    ctx.interactive = true;
    // The login banner: which request this is, until when, and where to start.
    let _ =
        writeln!(ctx.err, "cage: {}. Type `help` for what it allows.", super::startup::summary(&login.grant));
    let (repl, monitor_end) = match start_repl(&login.operator) {
        Ok(started) => started,
        Err(e) => return end_early(&mut ctx, &e.to_string()),
    };
    let (status, reason) = serve(&mut ctx, login, &monitor_end);
    stop_repl(repl, &monitor_end);
    close_session(&mut ctx, reason);
    status
}

/// Runs one line: its status, or `None` when it ends the session. An `su` the line runner
/// allowed and recorded opens its nested session here, in the monitor's own loop.
fn run(ctx: &mut Context, line: &[u8]) -> Option<i32> {
    match run_line(ctx, line) {
        LineOutcome::Status(status) => Some(status),
        LineOutcome::Exit => None,
        LineOutcome::Su(pending) => {
            let status = su(ctx, &pending.plan);
            Some(super::exec::su_ended(ctx, pending, status))
        }
    }
}

/// `su [-] NAME`: a nested session as NAME on the same terminal, under the same grant, rules
/// and audit trail (records name the operator and `su_user`); `exit` returns here. The
/// outer REPL waits for its prompt meanwhile; the nested one runs as NAME.
pub fn su(ctx: &mut Context, plan: &SuPlan) -> i32 {
    let target = match super::identity::lookup(&plan.user) {
        Ok(target) => target,
        Err(e) => return su_failed(ctx, StartError::failed("su", e)),
    };
    let mut entry = Entry::new("su").with("user", target.name.clone()).with("target_uid", target.uid);
    entry.cwd = Some(ctx.session.cwd.clone());
    if let Err(e) = ctx.audit.record(&entry) {
        return su_failed(ctx, StartError::failed("su: recording it", e));
    }
    let (repl, monitor_end) = match start_repl(&target) {
        Ok(started) => started,
        Err(e) => return su_failed(ctx, e),
    };
    let home_exists = std::path::Path::new(&target.home).is_dir();
    let nested = Session {
        login: target.name.clone(),
        cwd: if home_exists { target.home.clone() } else { "/".into() },
        home: target.home.clone(),
    };
    let outer_session = std::mem::replace(&mut ctx.session, nested);
    let outer_operator = std::mem::replace(&mut ctx.operator, target.clone());
    let outer_fields = ctx.audit.fields.clone();
    (ctx.audit.fields.uid, ctx.audit.fields.su_user) = (target.uid, Some(target.name.clone()));
    let login = ctx.login;
    let (status, reason) = serve(ctx, login, &monitor_end);
    stop_repl(repl, &monitor_end);
    (ctx.session, ctx.operator, ctx.audit.fields) = (outer_session, outer_operator, outer_fields);
    if reason != EndReason::Exit && ctx.ended.is_none() {
        ctx.ended = Some(SessionEnd::new(reason, format!("the su session ended ({})", reason.as_str())));
    }
    status
}

/// The nested session could not start: cage's failure, not a refusal (the decision allowed
/// `su`, and its refusals are found before it runs).
fn su_failed(ctx: &mut Context, error: StartError) -> i32 {
    let _ = writeln!(ctx.err, "cage: {error}");
    error.status()
}

/// Forks a REPL child that drops to `who` for good before reading a key; returns its pid
/// and the monitor's end of their socket.
fn start_repl(who: &crate::jail::Identity) -> Result<(nix::unistd::Pid, OwnedFd), StartError> {
    let (monitor_end, repl_end) =
        channel::pair().map_err(|e| StartError::failed("the prompt's channel", e))?;
    let monitor = nix::unistd::getpid();
    match sys::fork_alone(None).map_err(|e| StartError::failed("starting the prompt", e))? {
        None => {
            drop(monitor_end);
            if let Err(e) = super::repl::drop_privileges(who) {
                eprintln!("cage: {e}");
                sys::exit_now(1);
            }
            // Dropping to the operator cleared the death signal: armed again, after it.
            if !super::child::dies_with(monitor) {
                sys::exit_now(1);
            }
            sys::exit_now(super::repl::run(repl_end))
        }
        Some(pid) => Ok((pid, monitor_end)),
    }
}

/// Tells the REPL the session is over, and makes sure of it.
fn stop_repl(repl: nix::unistd::Pid, monitor_end: &OwnedFd) {
    let _ = channel::send_msg(monitor_end, OVER, b"");
    let _ = kill(repl, Signal::SIGKILL);
    let _ = waitpid(repl, None);
}

fn end_early(ctx: &mut Context, message: &str) -> i32 {
    close_session(ctx, EndReason::Error);
    refuse(message)
}

fn refuse(message: &str) -> i32 {
    eprintln!("cage: {message}");
    1
}

fn completion_names(ctx: &Context) -> String {
    let p = ctx.profile;
    let mut names: Vec<String> = p.aliases.keys().cloned().collect();
    names.extend(p.file_commands.keys().map(|c| c.name().to_string()));
    names.extend(["help", "exit", "logout", "pwd", "cd", "history", "grant", "clear"].map(String::from));
    let familiar = FAMILIAR.iter().filter(|(n, _)| crate::decide::familiar(p, n).is_some());
    names.extend(familiar.map(|(n, _)| n.to_string()));
    if !p.root_exec.is_empty() {
        names.push("rootexec".into());
    }
    if !p.su_into.is_empty() {
        names.push("su".into());
    }
    names.sort();
    names.join("\n")
}

fn prompt(ctx: &Context, grant: Option<&Grant>) -> String {
    let left =
        grant.and_then(|g| g.expires.duration_since(Timestamp::now())).map_or("?".into(), format_remaining);
    format!("{}@{}:{} {} [{left}]$ ", ctx.session.login, ctx.host, ctx.profile.layer, ctx.session.cwd)
}

/// How often the prompt loop looks for jails' inits to reap while some are exiting.
const REAP_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The session loop; returns the status of the last command and why the session ended.
fn serve(ctx: &mut Context, login: &Login, socket: &OwnedFd) -> (i32, EndReason) {
    let mut watch = GrantWatch::new(login);
    let mut status = 0;
    let _ = channel::send_msg(socket, NAMES, completion_names(ctx).as_bytes());
    let _ = channel::send_msg(socket, PROMPT, prompt(ctx, watch.grant.as_ref()).as_bytes());
    sync_audit(ctx);
    loop {
        let mut waiter = Waiter::new();
        waiter.watch(socket.as_fd(), Source::Repl);
        // Jails' inits still tearing their namespaces down are reaped at the prompt too
        // (every 50 ms until they are), not left defunct until the next line.
        ctx.exiting.retain(|init| !init.try_reap());
        let reap_at = (!ctx.exiting.is_empty()).then(|| std::time::Instant::now() + REAP_EVERY);
        let wakes = waiter.wait(&ctx.grant_clock, reap_at);
        if wakes.contains(&Wake::GrantDue) {
            ctx.grant_clock.checked();
            if let Err(end) = watch.check(&mut *ctx.err) {
                let _ = writeln!(ctx.err, "\ncage: session ended: {end}");
                return (status, end.reason);
            }
        }
        if !wakes.iter().any(|w| matches!(w, Wake::Ready { .. })) {
            continue;
        }
        match channel::recv_msg(socket) {
            Ok(Some((LINE, line))) => {
                let line = trim_newline(&line);
                if !line.iter().all(u8::is_ascii_whitespace) {
                    ctx.remember(line);
                    match run(ctx, line) {
                        None => return (status, ended(ctx)),
                        Some(s) => status = s,
                    }
                    if ctx.ended.is_some() {
                        return (status, ended(ctx));
                    }
                }
                watch.refresh();
                let _ = channel::send_msg(socket, PROMPT, prompt(ctx, watch.grant.as_ref()).as_bytes());
                sync_audit(ctx);
            }
            Ok(Some((UNREADABLE, _))) => {
                status = super::exec::refuse_unreadable(ctx);
                let _ = channel::send_msg(socket, PROMPT, prompt(ctx, watch.grant.as_ref()).as_bytes());
            }
            Ok(Some((COMPLETE, word))) => {
                let word = String::from_utf8_lossy(&word);
                let names = crate::files::complete::complete(ctx.profile, &ctx.session, &word);
                let _ = channel::send_msg(socket, CANDIDATES, names.join("\n").as_bytes());
            }
            // End of input: Ctrl-D, or the terminal hung up under the REPL (the connection
            // went away), which reads the same.
            Ok(Some((QUIT, _))) if terminal_hung_up() => return (status, EndReason::Killed),
            Ok(Some((QUIT, _))) => return (status, EndReason::Exit),
            // The REPL went away without saying goodbye.
            Ok(None) | Err(_) => return (status, EndReason::Killed),
            Ok(Some(_)) => {}
        }
    }
}

/// The deferred records (`login`, `exit`) go to disk while the operator reads the prompt.
fn sync_audit(ctx: &mut Context) {
    if let Err(e) = ctx.audit.sync() {
        let _ = writeln!(ctx.err, "cage: the audit trail could not be synced: {e}");
    }
}

/// A hung-up terminal answers every request with EIO (its files were all hung up at once).
fn terminal_hung_up() -> bool {
    matches!(nix::sys::termios::tcgetattr(std::io::stdin().as_fd()), Err(nix::errno::Errno::EIO))
}

fn ended(ctx: &Context) -> EndReason {
    ctx.ended.as_ref().map_or(EndReason::Exit, |end| end.reason)
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
