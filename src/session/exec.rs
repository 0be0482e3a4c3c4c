//! Running one typed line: decide every stage first (nothing runs if any is refused), then run
//! each pipeline, each stage in its own jail (or file-command process), joined by pipes, with
//! `&&`, `||` and `;` by exit status. The monitor forwards Ctrl-C to what is running.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe, Pid};

use super::cgroup::{Hits, SessionCgroup};
use super::child::{fork_placed, redirect_stdio};
use super::execwatch::ExecWatch;
use super::file_records;
use super::identity;
use super::relay::{Pty, Relay, NEEDS_A_TERMINAL};
use super::wake::{Source, Waiter, Wake};
use super::{Context, LineOutcome, SessionEnd};
use crate::audit::{EndReason, Entry, Verdict};
use crate::decide::{
    decide, Action, Builtin, Decision, ExecPlan, PathGrant, Program, RedirectPlan, RunPlan, Session,
};
use crate::files::events::{FileEvent, FileEvents, Operation};
use crate::files::redirect;
use crate::files::Failure;
use crate::jail::{plan_jail, spawn, JailRequest, Outcome, Placement, RealHost, Running, Stdio};
use crate::line::{parse_line, render_caret, Command, Connector, Line, RedirectOp};
use crate::policy::FileCommand;
use crate::sys;
use crate::time::format_remaining;

/// Exit status of a refused line.
pub const DENIED: i32 = 126;
/// Exit status of an unknown command.
pub const UNKNOWN: i32 = 127;

/// Runs `input` (one line, no trailing newline) in the session.
pub fn run_line(ctx: &mut Context, input: &[u8]) -> LineOutcome {
    ctx.exiting.retain(|init| !init.try_reap());
    let line = match parse_line(input) {
        Ok(line) => line,
        Err(e) => {
            record_denial(ctx, input, &[], None, &e.to_string());
            let _ = write!(ctx.err, "{}", render_caret(input, &e));
            say(ctx, &format!("cage: denied: {e}"));
            return LineOutcome::Status(DENIED);
        }
    };
    if let Err(status) = decide_all(ctx, input, &line) {
        return LineOutcome::Status(status);
    }
    let mut status = 0;
    for item in &line.items {
        let run = match item.connector {
            Connector::First | Connector::Seq => true,
            Connector::And => status == 0,
            Connector::Or => status != 0,
        };
        if !run {
            continue;
        }
        match run_pipeline(ctx, input, &item.pipeline.stages) {
            LineOutcome::Exit => return LineOutcome::Exit,
            // The session ended under the command: nothing more of the line runs.
            LineOutcome::Status(s) if ctx.ended.is_some() => return LineOutcome::Status(s),
            LineOutcome::Status(s) => status = s,
        }
    }
    LineOutcome::Status(status)
}

/// A line typed at the prompt that is not UTF-8 (the REPL cannot say what it was): refused
/// and recorded as `cage -c` refuses such bytes; the session goes on.
pub fn refuse_unreadable(ctx: &mut Context) -> i32 {
    let reason = "the line is not valid UTF-8";
    record_denial(ctx, b"", &[], None, reason);
    let _ = writeln!(ctx.err, "cage: denied: {reason}");
    DENIED
}

/// Decides every stage before anything runs, following `cd` through the line.
fn decide_all(ctx: &mut Context, title: &[u8], line: &Line) -> Result<(), i32> {
    let mut session = ctx.session.clone();
    for command in line.commands() {
        let plan = decided(ctx, title, &session, command)?;
        if let Action::Builtin(Builtin::Cd(dir)) = &plan.action {
            session.cwd = dir.clone();
        }
    }
    Ok(())
}

/// The plan for one stage, or the refusal (recorded, and shown to the operator) and its status.
fn decided(ctx: &mut Context, title: &[u8], session: &Session, command: &Command) -> Result<ExecPlan, i32> {
    let denial = match decide(ctx.profile, session, command) {
        Decision::Allow(plan) => return Ok(plan),
        Decision::Deny(denial) => denial,
    };
    let rule = denial.reason.rule().map(ToString::to_string);
    record_denial(ctx, title, &words(command), rule, &denial.reason.to_string());
    if denial.reason.is_unknown_command() {
        let _ = writeln!(ctx.err, "cage: {}", denial.reason);
        return Err(UNKNOWN);
    }
    say(ctx, &format!("cage: denied: {denial}"));
    Err(DENIED)
}

/// One message to the operator; on a terminal it breaks between words at its width, never
/// inside a word.
fn say(ctx: &mut Context, message: &str) {
    let said = match crate::sys::window_size(2) {
        Ok(size) if size.ws_col > 0 => crate::line::wrap_words(message, usize::from(size.ws_col)),
        _ => message.to_string(),
    };
    let _ = writeln!(ctx.err, "{said}");
}

fn words(command: &Command) -> Vec<String> {
    command.argv.iter().map(|w| w.text.clone()).collect()
}

/// A refusal is recorded too; it was refused either way, so a failed write only warns.
fn record_denial(ctx: &mut Context, title: &[u8], argv: &[String], rule: Option<String>, reason: &str) {
    let mut entry = Entry::new("command").with("reason", reason);
    (entry.cwd, entry.title, entry.argv) = (Some(ctx.session.cwd.clone()), title.to_vec(), argv.to_vec());
    (entry.decision, entry.rule) = (Some(Verdict::Deny), rule);
    if let Err(e) = ctx.audit.record(&entry) {
        let _ = writeln!(ctx.err, "cage: this refusal was not recorded: {e}");
    }
}

/// The `command` record of an allowed stage: what runs, under which rule.
fn allowed_entry(ctx: &Context, title: &[u8], command: &Command, plan: &ExecPlan) -> Entry {
    let mut entry = Entry::new("command");
    (entry.cwd, entry.title, entry.argv) = (Some(ctx.session.cwd.clone()), title.to_vec(), words(command));
    (entry.decision, entry.rule) = (Some(Verdict::Allow), Some(plan.rule.to_string()));
    let jailed =
        matches!(&plan.action, Action::Run(run) if run.jailed) || matches!(plan.action, Action::RootExec(_));
    if jailed {
        entry.extra.insert("landlock_abi".into(), crate::jail::enforced_landlock_abi().into());
    }
    match &plan.action {
        Action::Run(run) => {
            let program = match &run.program {
                Program::Path(path) => path.clone(),
                Program::Search { name, .. } => name.clone(),
            };
            entry.extra.insert("program".into(), program.into());
            entry.extra.insert("run_as".into(), format!("{:?}", run.run_as).to_lowercase().into());
        }
        Action::File(file) => {
            let paths: Vec<String> = file.operands.iter().map(|p| p.path.clone()).collect();
            entry.extra.insert("paths".into(), paths.into());
        }
        Action::RootExec(root) => {
            entry.extra.insert("program".into(), root.script.clone().into());
        }
        Action::Su(su) => {
            entry.extra.insert("user".into(), su.user.clone().into());
        }
        Action::Builtin(_) => {}
    }
    entry
}

/// Writes every stage's `command` record before any of them starts: no record, no run.
fn record_commands(
    ctx: &mut Context,
    title: &[u8],
    stages: &[Command],
    plans: &[ExecPlan],
) -> Result<Vec<Entry>, i32> {
    let mut entries = Vec::with_capacity(plans.len());
    for (command, plan) in stages.iter().zip(plans) {
        let entry = allowed_entry(ctx, title, command, plan);
        if let Err(e) = ctx.audit.record(&entry) {
            let _ = writeln!(ctx.err, "cage: denied: {e}");
            return Err(DENIED);
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// The `exit` record of each stage that was recorded as started; `limits` names the
/// session-wide limits that stopped something while they ran.
fn record_exits(
    ctx: &mut Context,
    entries: Vec<Entry>,
    ends: &[StageEnd],
    started: std::time::Instant,
    limits: &[&str],
) {
    for (entry, end) in entries.into_iter().zip(ends) {
        let mut exit = Entry { event: "exit", decision: None, extra: Default::default(), ..entry };
        exit.rule = None;
        if !limits.is_empty() {
            exit = exit.with("limits", limits.iter().map(|l| l.to_string()).collect::<Vec<_>>());
        }
        match end {
            StageEnd::Exited(code, at) => {
                exit = exit.with("status", *code).with("duration_ms", ms(*at, started))
            }
            StageEnd::TimedOut(at) => {
                exit = exit
                    .with("signal", libc::SIGKILL)
                    .with("timed_out", true)
                    .with("duration_ms", ms(*at, started))
            }
            StageEnd::Signaled(sig, at) => {
                exit = exit.with("signal", *sig).with("duration_ms", ms(*at, started))
            }
            StageEnd::NotStarted => exit = exit.with("status", DENIED).with("not_started", true),
        }
        if let Err(e) = ctx.audit.record_deferred(&exit) {
            let _ = writeln!(ctx.err, "cage: the end of this command was not recorded: {e}");
        }
    }
}

fn ms(end: std::time::Instant, start: std::time::Instant) -> u64 {
    end.saturating_duration_since(start).as_millis() as u64
}

/// How one stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StageEnd {
    Exited(i32, std::time::Instant),
    Signaled(i32, std::time::Instant),
    /// Killed for running longer than `[limits] command_timeout`.
    TimedOut(std::time::Instant),
    NotStarted,
}

impl StageEnd {
    fn status(self) -> i32 {
        match self {
            StageEnd::Exited(code, _) => code,
            StageEnd::Signaled(sig, _) => 128 + sig,
            StageEnd::TimedOut(_) => 128 + libc::SIGKILL,
            StageEnd::NotStarted => DENIED,
        }
    }
}

fn run_pipeline(ctx: &mut Context, title: &[u8], stages: &[Command]) -> LineOutcome {
    if let Err(end) = ctx.check_grant_now() {
        let _ = writeln!(ctx.err, "cage: denied: {end}");
        ctx.ended = Some(end);
        return LineOutcome::Exit;
    }
    let session = ctx.session.clone();
    let mut plans = Vec::with_capacity(stages.len());
    for command in stages {
        match decided(ctx, title, &session, command) {
            Ok(plan) => plans.push(plan),
            Err(status) => return LineOutcome::Status(status),
        }
    }
    // A root script is checked as it is now, just before it would run.
    for (command, plan) in stages.iter().zip(&plans) {
        let refusal = match &plan.action {
            Action::RootExec(root) => super::rootexec::check(ctx.profile, root).err(),
            Action::Su(_) if stages.len() > 1 => Some("su must be alone on its line".into()),
            Action::Su(_) => super::su_refusal(ctx),
            Action::Run(run) if run.tty && run.jailed => terminal_refusal(stages.len(), plan),
            _ => None,
        };
        if let Some(reason) = refusal {
            record_denial(ctx, title, &words(command), Some(plan.rule.to_string()), &reason);
            let _ = writeln!(ctx.err, "cage: denied: {reason}");
            return LineOutcome::Status(DENIED);
        }
    }
    if plans.len() > 1 && plans.iter().any(|p| matches!(p.action, Action::Builtin(_))) {
        let message = "builtins cannot be part of a pipeline";
        record_denial(ctx, title, &words(&stages[0]), None, message);
        let _ = writeln!(ctx.err, "cage: denied: {message}");
        return LineOutcome::Status(DENIED);
    }
    // Leaving is the `logout` record's to say, not a command's.
    if let [ExecPlan { action: Action::Builtin(Builtin::Exit), .. }] = plans.as_slice() {
        return LineOutcome::Exit;
    }
    // Usage of one command: read from the profile, nothing runs, nothing to record.
    if let [ExecPlan { action: Action::Builtin(help @ Builtin::HelpFor(_)), .. }] = plans.as_slice() {
        return super::builtins::run(ctx, help);
    }
    // Every stage has its place before anything is recorded as allowed: limits that cannot
    // hold refuse the line.
    let mut places = Vec::with_capacity(plans.len());
    if !matches!(plans.as_slice(), [ExecPlan { action: Action::Builtin(_) | Action::Su(_), .. }]) {
        for plan in &plans {
            match placement(ctx, plan) {
                Ok(place) => places.push(place),
                Err(reason) => {
                    record_denial(ctx, title, &words(&stages[0]), None, &reason);
                    let _ = writeln!(ctx.err, "cage: denied: {reason}");
                    return LineOutcome::Status(DENIED);
                }
            }
        }
    }
    let entries = match record_commands(ctx, title, stages, &plans) {
        Ok(entries) => entries,
        Err(status) => return LineOutcome::Status(status),
    };
    let started = std::time::Instant::now();
    let ends = match plans.as_slice() {
        [ExecPlan { action: Action::Builtin(builtin), .. }] => {
            let outcome = super::builtins::run(ctx, builtin);
            let status = match outcome {
                LineOutcome::Exit => 0,
                LineOutcome::Status(s) => s,
            };
            record_exits(ctx, entries, &[StageEnd::Exited(status, std::time::Instant::now())], started, &[]);
            return outcome;
        }
        [ExecPlan { action: Action::Su(su), .. }] => {
            let status = (ctx.nested)(ctx, su);
            vec![StageEnd::Exited(status, std::time::Instant::now())]
        }
        _ => {
            let before = ctx.cgroup.as_ref().map(SessionCgroup::hits).unwrap_or_default();
            let ends = run_stages(ctx, title, &plans, places);
            let hit = limits_hit(ctx, before);
            super::egress_report::after_line(ctx, title);
            record_exits(ctx, entries, &ends, started, &hit);
            return LineOutcome::Status(ends.last().map_or(0, |end| end.status()));
        }
    };
    record_exits(ctx, entries, &ends, started, &[]);
    LineOutcome::Status(ends.last().map_or(0, |end| end.status()))
}

/// The session-wide limits that stopped something since `before`, each said in one line.
fn limits_hit(ctx: &mut Context, before: Hits) -> Vec<&'static str> {
    let Some(now) = ctx.cgroup.as_ref().map(SessionCgroup::hits) else { return Vec::new() };
    let mut hit = Vec::new();
    if now.pids > before.pids {
        let limit = ctx.limits.pids.unwrap_or(0);
        let _ = writeln!(ctx.err, "cage: the session's process limit (pids = {limit}) refused a new process");
        hit.push("pids");
    }
    if now.memory > before.memory {
        let limit = show_size(ctx.limits.session_memory.unwrap_or(0));
        let _ =
            writeln!(ctx.err, "cage: the session's memory limit (session_memory = {limit}) killed a process");
        hit.push("memory");
    }
    hit
}

fn show_size(bytes: u64) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{}G", b >> 30),
        b if b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b => b.to_string(),
    }
}

/// Where a stage starts in the session's cgroup (made on the session's first command, with
/// its guardian): the leaf of its jail's network mode, or the leaf of unjailed and file
/// commands. Every process of a session lives in the session's cgroup, so its end (or the
/// guardian, when the monitor died, or `cagectl reap`) kills all of it at once; a session
/// whose cgroup, limits or guardian cannot be had runs nothing.
fn placement(ctx: &mut Context, plan: &ExecPlan) -> Result<Option<Placement>, String> {
    let jailed = match &plan.action {
        Action::Run(run) => run.jailed,
        Action::RootExec(_) => true,
        _ => false,
    };
    if ctx.cgroup.is_none() {
        match SessionCgroup::create(&ctx.audit.fields.session, &ctx.limits) {
            Ok(cgroup) => ctx.cgroup = Some(cgroup),
            Err(e) if ctx.limits.session_wide() => {
                return Err(format!("the session's limits cannot be applied: {e}"))
            }
            Err(e) => return Err(format!("cannot make the session's cgroup: {e}")),
        }
    }
    // No command runs without the guardian that ends it should the monitor die.
    if ctx.guardian.is_none() {
        ctx.guardian = Some(super::guardian::Guardian::start(ctx)?);
    }
    let network = jailed.then_some((ctx.profile.network, ctx.profile.targets.as_slice()));
    let cgroup = ctx.cgroup.as_mut().ok_or("no session cgroup")?;
    cgroup.placement(network).map(Some).map_err(|e| format!("the session's cgroup: {e}"))
}

/// A started stage.
enum Child {
    Jail(Running),
    Process(Pid),
}

/// Why a command that needs a terminal cannot have one here, if it cannot: it must be alone
/// on its line, without redirections, in a session that has a terminal.
fn terminal_refusal(stages: usize, plan: &ExecPlan) -> Option<String> {
    if stages > 1 || !plan.redirects.is_empty() {
        return Some(ALONE_ON_A_TERMINAL.into());
    }
    match nix::unistd::isatty(0) {
        Ok(true) => None,
        _ => Some(NEEDS_A_TERMINAL.into()),
    }
}

const ALONE_ON_A_TERMINAL: &str =
    "a command that needs a terminal must be alone on its line, without redirections";

/// A command needing a terminal gets its own pty, and then the terminal to itself.
fn terminal_for(plans: &[ExecPlan]) -> Result<Option<Pty>, String> {
    let wants = |p: &ExecPlan| matches!(&p.action, Action::Run(run) if run.tty && run.jailed);
    match (plans, plans.iter().any(wants)) {
        (_, false) => Ok(None),
        ([plan], true) if plan.redirects.is_empty() => Pty::open().map(Some),
        _ => Err(ALONE_ON_A_TERMINAL.into()),
    }
}

/// Runs the stages of one pipeline; how each ended (never started, when setting up failed).
fn run_stages(
    ctx: &mut Context,
    title: &[u8],
    plans: &[ExecPlan],
    places: Vec<Option<Placement>>,
) -> Vec<StageEnd> {
    let pty = match terminal_for(plans) {
        Ok(pty) => pty,
        Err(message) => {
            let _ = writeln!(ctx.err, "cage: denied: {message}");
            return vec![StageEnd::NotStarted; plans.len()];
        }
    };
    // Every target is opened and recorded before any stage starts: no record, nothing runs.
    let mut opened = Vec::with_capacity(plans.len());
    for plan in plans {
        match open_redirects(ctx, &plan.redirects) {
            Ok(files) => opened.push(files),
            Err(message) => return abort(ctx, Vec::new(), plans.len(), &message),
        }
    }
    let mut children = Vec::with_capacity(plans.len());
    let mut watches = Vec::new();
    let mut previous: Option<OwnedFd> = None;
    for (i, ((plan, files), place)) in plans.iter().zip(opened).zip(places).enumerate() {
        let (next, pipe_out) = match i + 1 < plans.len() {
            true => match pipe() {
                Ok((r, w)) => (Some(r), Some(w)),
                Err(e) => return abort(ctx, children, plans.len(), &format!("pipe: {e}")),
            },
            false => (None, None),
        };
        // The fds stay open here until the stage has started (its child dup2s them).
        let mut stdio = match &pty {
            Some(pty) => Stdio::all(pty.slave.as_raw_fd()),
            None => stdio(previous.as_ref(), pipe_out.as_ref(), &files),
        };
        let traced = match is_jailed(plan).then(|| ExecWatch::new(title)).transpose() {
            Ok(traced) => traced,
            Err(e) => return abort(ctx, children, plans.len(), &format!("exec tracing: {e}")),
        };
        stdio.exec_trace = traced.as_ref().map(|(_, theirs)| theirs.as_raw_fd());
        stdio.placement = place;
        match start(ctx, plan, stdio, pty.as_ref()) {
            Ok(child) => children.push(child),
            Err(message) => return abort(ctx, children, plans.len(), &message),
        }
        watches.extend(traced.map(|(watch, _)| watch));
        previous = next;
    }
    drop(previous);
    let relay = pty.map(|pty| Relay::start(pty.master));
    finish(ctx, children, relay, watches)
}

/// Stages that run in a jail have their execs traced.
fn is_jailed(plan: &ExecPlan) -> bool {
    matches!(&plan.action, Action::Run(run) if run.jailed) || matches!(plan.action, Action::RootExec(_))
}

/// How each stage ended; when the session must end, it is reported and every stage killed.
fn finish(
    ctx: &mut Context,
    children: Vec<Child>,
    mut relay: Option<Relay>,
    mut watches: Vec<ExecWatch>,
) -> Vec<StageEnd> {
    let mut ends = vec![StageEnd::NotStarted; children.len()];
    let mut result = wait_all(ctx, children, relay.as_mut(), &mut watches, &mut ends);
    drop(relay);
    // A stage killed outright may have been the guardian's doing, which can see the grant's
    // end a moment before this loop does: the grant decides why the session ends.
    if result.is_ok() && ends.iter().any(|end| matches!(end, StageEnd::Signaled(..))) {
        result = ctx.check_grant_now().map(drop);
    }
    if let Err(end) = result {
        let _ = writeln!(ctx.err, "\ncage: session ended: {end}");
        ctx.ended = Some(end);
    }
    ends
}

/// Opened redirection targets, by operation.
struct Redirected {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    err_to_out: bool,
}

/// Opens each target and writes its `file` record before the stage may use it (a `>` target
/// is truncated only then); a record that cannot be written refuses the line.
fn open_redirects(ctx: &Context, redirects: &[RedirectPlan]) -> Result<Redirected, String> {
    let mut files = Redirected { stdin: None, stdout: None, stderr: None, err_to_out: false };
    for r in redirects {
        let open = |grant: &PathGrant, operation| {
            let target = redirect::open(grant, operation).map_err(|failure| match failure {
                // Refused on disk (a link out of the rule, a FIFO, a shared inode...): a denial,
                // recorded as one.
                Failure::Denied { path, why } => {
                    let refused = [FileEvent::refused(operation, &path, &why)];
                    let _ = file_records::record(&ctx.audit, &ctx.session.cwd, &refused);
                    format!("denied: {why}")
                }
                Failure::Failed(message) => message,
            })?;
            file_records::record(&ctx.audit, &ctx.session.cwd, std::slice::from_ref(&target.event))
                .map_err(|e| format!("denied: {e}"))?;
            target.ready()
        };
        match (r.op, &r.target) {
            (RedirectOp::ErrToOut, _) => files.err_to_out = true,
            (RedirectOp::In, Some(t)) => files.stdin = Some(open(t, Operation::Read)?),
            (RedirectOp::Out, Some(t)) => files.stdout = Some(open(t, Operation::Write)?),
            (RedirectOp::Append, Some(t)) => files.stdout = Some(open(t, Operation::Append)?),
            (RedirectOp::ErrOut, Some(t)) => files.stderr = Some(open(t, Operation::Write)?),
            (RedirectOp::ErrAppend, Some(t)) => files.stderr = Some(open(t, Operation::Append)?),
            (_, None) => return Err("redirection without a target".into()),
        }
    }
    Ok(files)
}

/// A redirection wins over the pipe; `2>&1` follows wherever stdout goes.
fn stdio(previous: Option<&OwnedFd>, pipe_out: Option<&OwnedFd>, files: &Redirected) -> Stdio {
    let raw = |fd: Option<&OwnedFd>| fd.map(AsRawFd::as_raw_fd);
    let stdin = raw(files.stdin.as_ref()).or(raw(previous));
    let stdout = raw(files.stdout.as_ref()).or(raw(pipe_out));
    let stderr = match files.err_to_out {
        true => stdout.or(Some(1)),
        false => raw(files.stderr.as_ref()),
    };
    Stdio { stdin, stdout, stderr, ..Stdio::default() }
}

fn start(ctx: &mut Context, plan: &ExecPlan, stdio: Stdio, pty: Option<&Pty>) -> Result<Child, String> {
    match &plan.action {
        Action::Run(run) if run.jailed => start_jail(ctx, run, stdio, pty),
        Action::Run(run) => super::unjailed::start(ctx, run, stdio).map(Child::Process),
        Action::RootExec(root) => start_jail(ctx, &super::rootexec::run_plan(root), stdio, pty),
        Action::File(file) if file.command == FileCommand::Sudovi => {
            super::edit::start(ctx, file, stdio).map(Child::Process)
        }
        Action::File(file) => start_file_command(ctx, file, stdio).map(Child::Process),
        Action::Su(_) => Err("su must be alone on its line".into()),
        Action::Builtin(_) => Err("builtins cannot be part of a pipeline".into()),
    }
}

fn start_jail(ctx: &mut Context, run: &RunPlan, stdio: Stdio, pty: Option<&Pty>) -> Result<Child, String> {
    let identity = identity::for_run_as(&run.run_as, &ctx.operator)?;
    let req = JailRequest {
        profile: ctx.profile,
        run,
        identity,
        cwd: &ctx.session.cwd,
        tty: pty.map(|p| p.path.as_str()).or(ctx.tty.as_deref()),
        term: ctx.term.as_deref(),
        lang: ctx.lang.as_deref(),
        controlling_tty: pty.is_some(),
    };
    let mut jail = plan_jail(&req, &RealHost).map_err(|e| e.to_string())?;
    (jail.file_size_limit, jail.memory_limit) = (ctx.file_size_limit, ctx.memory_limit);
    let required = ctx.landlock_required;
    spawn(&jail, stdio, required).map(Child::Jail).map_err(|e| e.to_string())
}

/// A file command runs in a child of the monitor: root, but it execs nothing. It writes the
/// `file` records of what it did with the session's audit trail (a copy of the monitor's).
fn start_file_command(ctx: &Context, file: &crate::decide::FilePlan, stdio: Stdio) -> Result<Pid, String> {
    let (file, audit, cwd) = (file.clone(), ctx.audit.clone(), ctx.session.cwd.clone());
    match fork_placed(stdio.placement)? {
        Some(pid) => Ok(pid),
        None => {
            crate::jail::clear_signal_mask();
            let code = match redirect_stdio(stdio)
                .map_err(|e| e.to_string())
                .and_then(|()| file_command_privileges(file.command))
            {
                Ok(()) => {
                    let tty = nix::unistd::isatty(1).unwrap_or(false);
                    let mut events = FileEvents::default();
                    let mut err = std::io::stderr().lock();
                    let ended =
                        crate::files::run(&file, &mut events, &mut std::io::stdout().lock(), &mut err, tty);
                    file_records::finish(&audit, &cwd, &events.into_vec(), ended, &mut err)
                }
                Err(_) => DENIED,
            };
            sys::exit_now(code)
        }
    }
}

/// The file commands run as root with only what their job needs: readers read past
/// permissions (CAP_DAC_READ_SEARCH); writers also write and remove in others' and sticky
/// directories (CAP_DAC_OVERRIDE, CAP_FOWNER); sudocp gives its copies their owner
/// (CAP_CHOWN). Every other capability goes, bounding set
/// included, and no_new_privs holds.
fn file_command_privileges(command: FileCommand) -> Result<(), String> {
    use caps::{CapSet, Capability};
    let mut keep: caps::CapsHashSet = [Capability::CAP_DAC_READ_SEARCH].into_iter().collect();
    if matches!(command, FileCommand::Sudorm | FileCommand::Sudocp | FileCommand::Sudovi) {
        keep.extend([Capability::CAP_DAC_OVERRIDE, Capability::CAP_FOWNER]);
    }
    if command == FileCommand::Sudocp {
        keep.insert(Capability::CAP_CHOWN);
    }
    super::privileges::drop_bounding_except(&keep)?;
    // Effective first: Permitted may never drop below it.
    let none = caps::CapsHashSet::new();
    for (set, value) in [(CapSet::Effective, &keep), (CapSet::Inheritable, &none), (CapSet::Permitted, &keep)]
    {
        caps::set(None, set, value).map_err(|e| e.to_string())?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| e.to_string())
}

/// A stage could not start: the ones already started are killed; none counts as run.
fn abort(ctx: &mut Context, children: Vec<Child>, stages: usize, message: &str) -> Vec<StageEnd> {
    let _ = writeln!(ctx.err, "cage: {message}");
    let pending: Vec<(usize, Child)> = children.into_iter().enumerate().collect();
    let mut ends = vec![StageEnd::NotStarted; stages];
    kill_all(&pending, &mut ends);
    ends
}

fn pid_of(child: &Child) -> Pid {
    match child {
        Child::Jail(running) => running.pid(),
        Child::Process(pid) => *pid,
    }
}

/// Waits for every stage; the pipeline's status is the last stage's. Ctrl-C, Ctrl-\\ and window
/// changes are forwarded; the grant is re-checked on its deadline (a second after the last
/// check, whatever woke the wait meanwhile), and a hang-up (the ssh connection gone), an
/// expiry or a revocation kills every stage and ends the session.
fn wait_all(
    ctx: &mut Context,
    children: Vec<Child>,
    mut relay: Option<&mut Relay>,
    watches: &mut [ExecWatch],
    ends: &mut [StageEnd],
) -> Result<(), SessionEnd> {
    let mut pending: Vec<(usize, Child)> = children.into_iter().enumerate().collect();
    let signals =
        match SignalFd::with_flags(&watched_signals(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(signals) => signals,
            Err(e) => {
                kill_all(&pending, ends);
                return Err(SessionEnd::new(EndReason::Error, format!("signalfd: {e}")));
            }
        };
    let limit = ctx.command_timeout.map(|limit| (limit, std::time::Instant::now() + limit));
    loop {
        let mut still = Vec::with_capacity(pending.len());
        for (i, child) in pending {
            match poll_child(child, &mut ctx.exiting) {
                Ok(end) => ends[i] = end,
                Err(child) => still.push((i, child)),
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        let stdin = std::io::stdin();
        let mut waiter = Waiter::new();
        waiter.watch(signals.as_fd(), Source::Signals);
        for (_, child) in &pending {
            if let Child::Jail(running) = child {
                waiter.watch(running.status_fd(), Source::JailReport);
            }
        }
        if let Some(relay) = relay.as_deref() {
            waiter.watch(relay.master.as_fd(), Source::Output);
            if relay.input_open() {
                waiter.watch(stdin.as_fd(), Source::Input);
            }
        }
        for (i, watch) in watches.iter().enumerate() {
            if let Some(fd) = watch.fd() {
                waiter.watch(fd, Source::Exec(i));
            }
        }
        for wake in waiter.wait(&ctx.grant_clock, limit.map(|(_, at)| at)) {
            match wake {
                Wake::Ready { source: Source::Exec(i), hung_up } => watches[i].on_ready(ctx, hung_up),
                Wake::Ready { source: Source::Input, .. } => relay.iter_mut().for_each(|r| r.pump_input()),
                Wake::Ready { source: Source::Output, .. } => {
                    relay.iter_mut().for_each(|r| {
                        r.pump_output();
                    });
                }
                Wake::Ready { .. } => {}
                Wake::Deadline => {
                    let Some((limit, _)) = limit else { continue };
                    kill_all(&pending, ends);
                    let now = std::time::Instant::now();
                    pending.iter().for_each(|(i, _)| ends[*i] = StageEnd::TimedOut(now));
                    let _ = writeln!(
                        ctx.err,
                        "cage: stopped after {} (the command time limit)",
                        format_remaining(limit)
                    );
                    return Ok(());
                }
                Wake::GrantDue => {
                    if let Err(end) = ctx.check_grant_now() {
                        kill_all(&pending, ends);
                        return Err(end);
                    }
                }
            }
        }
        while let Ok(Some(info)) = signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) | Err(_) => {}
                Ok(Signal::SIGHUP | Signal::SIGTERM) => {
                    kill_all(&pending, ends);
                    return Err(SessionEnd::new(EndReason::Killed, "the connection was closed"));
                }
                Ok(Signal::SIGWINCH) if relay.is_some() => {
                    relay.as_deref().into_iter().for_each(Relay::resize)
                }
                Ok(sig) => forward(ctx, &pending, sig),
            }
        }
    }
}

fn forward(ctx: &mut Context, pending: &[(usize, Child)], sig: Signal) {
    if sig == Signal::SIGINT {
        let _ = writeln!(ctx.err);
    }
    for (_, child) in pending {
        let _ = kill(pid_of(child), sig);
    }
}

/// Kills what still runs and reaps it; each such stage ends by SIGKILL.
fn kill_all(pending: &[(usize, Child)], ends: &mut [StageEnd]) {
    for (_, child) in pending {
        let _ = kill(pid_of(child), Signal::SIGKILL);
    }
    for (i, child) in pending {
        let _ = waitpid(pid_of(child), None);
        ends[*i] = StageEnd::Signaled(Signal::SIGKILL as i32, std::time::Instant::now());
    }
}

/// The signals the monitor keeps blocked and reads from a signalfd (see `monitor`).
pub fn watched_signals() -> SigSet {
    let mut set = SigSet::empty();
    for sig in
        [Signal::SIGCHLD, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGWINCH, Signal::SIGHUP, Signal::SIGTERM]
    {
        set.add(sig);
    }
    set
}

/// `Ok(end)` once the child has ended, `Err(child)` while it runs.
/// A jail counts as ended once its init has reported the command's end; the init, still
/// exiting, goes to `exiting`.
fn poll_child(child: Child, exiting: &mut Vec<crate::jail::Exiting>) -> Result<StageEnd, Child> {
    let now = std::time::Instant::now();
    match child {
        Child::Jail(running) => match running.try_finish() {
            Ok((finished, init)) => {
                exiting.extend(init);
                match finished {
                    Ok(finished) => Ok(match finished.outcome {
                        Outcome::Exited(code) => StageEnd::Exited(code, now),
                        Outcome::Signaled(sig) => StageEnd::Signaled(sig, now),
                    }),
                    Err(e) => {
                        eprintln!("cage: {e}");
                        Ok(StageEnd::Exited(DENIED, now))
                    }
                }
            }
            Err(running) => Err(Child::Jail(running)),
        },
        Child::Process(pid) => match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Err(Child::Process(pid)),
            Ok(WaitStatus::Exited(_, code)) => Ok(StageEnd::Exited(code, now)),
            Ok(WaitStatus::Signaled(_, sig, _)) => Ok(StageEnd::Signaled(sig as i32, now)),
            _ => Ok(StageEnd::Exited(DENIED, now)),
        },
    }
}
