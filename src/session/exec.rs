//! Running one typed line: decide every stage first (nothing runs if any is refused), then run
//! each pipeline, each stage in its own jail (or file-command process), joined by pipes, with
//! `&&`, `||` and `;` by exit status. The monitor forwards Ctrl-C to what is running.
#![forbid(unsafe_code)]

use std::io::Write;

use super::cgroup::{Hits, SessionCgroup};
use super::records::{record_commands, record_denial, record_exits, words};
use super::stages::{discard, finish, is_jailed, run_stages, start_stages, terminal_refusal};
use super::start_error::StartError;
use super::wait::{hung_up, StageEnd};
use super::{Context, LineOutcome};
use crate::audit::{AuditError, Entry};
use crate::decide::{
    decide, decide_line, Action, Builtin, Decision, Denial, ExecPlan, Session, StageDenial, SuPlan,
};
use crate::jail::Placement;
use crate::line::{parse_line, render_caret, Command, Connector, Line};
use crate::policy::FileCommand;

/// Exit status of a refused line.
pub(crate) use crate::files::DENIED;

/// Exit status of an unknown command.
pub(crate) const UNKNOWN: i32 = 127;

/// Runs `input` (one line, no trailing newline) in the session.
pub(crate) fn run_line(ctx: &mut Context, input: &[u8]) -> LineOutcome {
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
            // Alone on its line (`run_pipeline` refuses it elsewhere): the monitor's to run.
            outcome @ (LineOutcome::Exit | LineOutcome::Su(_)) => return outcome,
            // The session ended under the command: nothing more of the line runs.
            LineOutcome::Status(s) if ctx.ended.is_some() => return LineOutcome::Status(s),
            LineOutcome::Status(s) => status = s,
        }
    }
    LineOutcome::Status(status)
}

/// A line typed at the prompt that is not UTF-8 (the REPL cannot say what it was): refused
/// and recorded as `cage -c` refuses such bytes; the session goes on.
pub(crate) fn refuse_unreadable(ctx: &mut Context) -> i32 {
    let reason = "the line is not valid UTF-8";
    record_denial(ctx, b"", &[], None, reason);
    let _ = writeln!(ctx.err, "cage: denied: {reason}");
    DENIED
}

/// Decides every stage before anything runs, following `cd` through the line.
fn decide_all(ctx: &mut Context, title: &[u8], line: &Line) -> Result<(), i32> {
    match decide_line(ctx.profile, &ctx.session, line) {
        Ok(_) => Ok(()),
        Err(StageDenial { command, denial, .. }) => Err(refused(ctx, title, command, denial)),
    }
}

/// The plan for one stage, or the refusal (recorded, and shown to the operator) and its status.
fn decided(ctx: &mut Context, title: &[u8], session: &Session, command: &Command) -> Result<ExecPlan, i32> {
    match decide(ctx.profile, session, command) {
        Decision::Allow(plan) => Ok(plan),
        Decision::Deny(denial) => Err(refused(ctx, title, command, denial)),
    }
}

/// Records and shows the refusal of one stage; the line's status.
fn refused(ctx: &mut Context, title: &[u8], command: &Command, denial: Denial) -> i32 {
    let rule = denial.reason.rule().map(ToString::to_string);
    record_denial(ctx, title, &words(command), rule, &denial.reason.to_string());
    if denial.reason.is_unknown_command() {
        let _ = writeln!(ctx.err, "cage: {}", denial.reason);
        return UNKNOWN;
    }
    say(ctx, &format!("cage: denied: {denial}"));
    DENIED
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

fn run_pipeline(ctx: &mut Context, title: &[u8], stages: &[Command]) -> LineOutcome {
    if let Err(end) = ctx.check_grant_now() {
        let _ = writeln!(ctx.err, "cage: denied: {end}");
        ctx.ended = Some(end);
        return LineOutcome::Exit;
    }
    // A hang-up that came while the last stage was ending (the recorder ends the session so
    // when its recording fails) ends the session before the next pipeline runs.
    if let Some(end) = hung_up() {
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
            Action::RootExec(root) => super::rootexec::check(ctx.profile, root).err().map(|e| e.to_string()),
            Action::Su(_) if stages.len() > 1 => Some("su must be alone on its line".into()),
            Action::Su(_) => super::su_refusal(ctx),
            Action::Run(run) if run.tty && run.jailed => terminal_refusal(stages.len(), plan),
            Action::File(file) if file.command == FileCommand::Sudovi => {
                terminal_refusal(stages.len(), plan).map(|why| format!("sudovi: {why}"))
            }
            Action::Builtin(_) if !plan.redirects.is_empty() => {
                Some(format!("`{}` is built into cage: its output cannot be redirected", words(command)[0]))
            }
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
                Err(StartError::Denied(reason)) => {
                    record_denial(ctx, title, &words(&stages[0]), None, &reason);
                    let _ = writeln!(ctx.err, "cage: denied: {reason}");
                    return LineOutcome::Status(DENIED);
                }
                // Allowed, but cage could not give it a place: recorded as allowed and not
                // started, with what failed.
                Err(error) => return not_started(ctx, title, stages, &plans, error),
            }
        }
    }
    // Jailed stages without redirections (whose `file` records come first) are recorded
    // while their jails are made: each waits at its program's exec until the monitor
    // answers it, after the records are on disk.
    if plans.iter().all(|plan| is_jailed(plan) && plan.redirects.is_empty()) {
        return run_jailed(ctx, title, stages, &plans, places);
    }
    let entries = match record_commands(ctx, title, stages, &plans) {
        Ok(entries) => entries,
        Err(e) => return unrecorded(ctx, e),
    };
    let started = std::time::Instant::now();
    match plans.as_slice() {
        [ExecPlan { action: Action::Builtin(builtin), .. }] => {
            let outcome = super::builtins::run(ctx, builtin);
            let status = match outcome {
                LineOutcome::Status(s) => s,
                LineOutcome::Exit | LineOutcome::Su(_) => 0,
            };
            record_exits(ctx, entries, &[StageEnd::Exited(status, std::time::Instant::now())], started, &[]);
            outcome
        }
        [ExecPlan { action: Action::Su(su), .. }] => {
            LineOutcome::Su(PendingSu { plan: su.clone(), entries, started })
        }
        _ => {
            let before = ctx.cgroup.as_ref().map(SessionCgroup::hits).unwrap_or_default();
            let ends = run_stages(ctx, title, &plans, places);
            ended(ctx, title, entries, &ends, started, before)
        }
    }
}

/// The `command` records could not be written: cage's failure (125), nothing ran.
fn unrecorded(ctx: &mut Context, error: AuditError) -> LineOutcome {
    let failure = StartError::failed("recording the command", error);
    let _ = writeln!(ctx.err, "cage: {failure}");
    LineOutcome::Status(failure.status())
}

/// After the stages of a line ran: the limits they hit, the egress refusals, their `exit`
/// records; the line's status is the last stage's.
fn ended(
    ctx: &mut Context,
    title: &[u8],
    entries: Vec<Entry>,
    ends: &[StageEnd],
    started: std::time::Instant,
    before: Hits,
) -> LineOutcome {
    let hit = limits_hit(ctx, before);
    super::egress_report::after_line(ctx, title);
    record_exits(ctx, entries, ends, started, &hit);
    LineOutcome::Status(ends.last().map_or(0, StageEnd::status))
}

/// Starts every stage, writes their `command` records while the jails get ready, then lets
/// them run. A record that cannot be written kills the jails before any program starts.
fn run_jailed(
    ctx: &mut Context,
    title: &[u8],
    stages: &[Command],
    plans: &[ExecPlan],
    places: Vec<Option<Placement>>,
) -> LineOutcome {
    let before = ctx.cgroup.as_ref().map(SessionCgroup::hits).unwrap_or_default();
    let started_at = std::time::Instant::now();
    let started = match start_stages(ctx, title, plans, places) {
        Ok(started) => started,
        // No program ran: the line is recorded as allowed and not started.
        Err((error, _)) => return not_started(ctx, title, stages, plans, error),
    };
    let entries = match record_commands(ctx, title, stages, plans) {
        Ok(entries) => entries,
        Err(e) => {
            discard(started);
            return unrecorded(ctx, e);
        }
    };
    let ends = finish(ctx, started);
    ended(ctx, title, entries, &ends, started_at, before)
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

/// An allowed `su`, recorded as run: the monitor runs its nested session, then
/// [`su_ended`] records how it ended.
#[derive(Debug)]
pub struct PendingSu {
    pub plan: SuPlan,
    entries: Vec<Entry>,
    started: std::time::Instant,
}

/// Records the end of a nested session `pending` opened; its status.
pub(crate) fn su_ended(ctx: &mut Context, pending: PendingSu, status: i32) -> i32 {
    let ends = [StageEnd::Exited(status, std::time::Instant::now())];
    record_exits(ctx, pending.entries, &ends, pending.started, &[]);
    status
}

/// A line the decision allowed that cage could not start: its `command` records, then `exit`
/// records saying it did not start and why; the operator reads what failed.
fn not_started(
    ctx: &mut Context,
    title: &[u8],
    stages: &[Command],
    plans: &[ExecPlan],
    error: StartError,
) -> LineOutcome {
    match record_commands(ctx, title, stages, plans) {
        Ok(entries) => {
            let _ = writeln!(ctx.err, "cage: {error}");
            let ends = vec![StageEnd::NotStarted(error.clone()); plans.len()];
            record_exits(ctx, entries, &ends, std::time::Instant::now(), &[]);
        }
        // One line still: what failed first, and that the trail could not say so.
        Err(e) => {
            let _ = writeln!(ctx.err, "cage: {error}; nor could the trail record it: {e}");
        }
    }
    LineOutcome::Status(error.status())
}

/// Where a stage starts in the session's cgroup (made on the session's first command, with
/// its guardian): the leaf of its jail's network mode, or the leaf of unjailed and file
/// commands. Every process of a session lives in the session's cgroup, so its end (or the
/// guardian, when the monitor died, or `cagectl reap`) kills all of it at once; a session
/// whose cgroup, limits or guardian cannot be had runs nothing.
fn placement(ctx: &mut Context, plan: &ExecPlan) -> Result<Option<Placement>, StartError> {
    let jailed = match &plan.action {
        Action::Run(run) => run.jailed,
        Action::RootExec(_) => true,
        _ => false,
    };
    if ctx.cgroup.is_none() {
        match SessionCgroup::create(&ctx.audit.fields.session, &ctx.limits) {
            Ok(cgroup) => ctx.cgroup = Some(cgroup),
            // The limits are a rule: a line this host cannot hold them for is refused. A
            // step that failed on a host that can is cage's error, not a refusal.
            Err(e) if ctx.limits.session_wide() && e.kind() == std::io::ErrorKind::Unsupported => {
                return Err(StartError::Denied(format!("the session's limits cannot be applied: {e}")))
            }
            Err(e) => return Err(StartError::failed("making the session's cgroup", e)),
        }
    }
    // No command runs without the guardian that ends it should the monitor die.
    if ctx.guardian.is_none() {
        ctx.guardian = Some(super::guardian::Guardian::start(ctx)?);
    }
    let network = jailed.then_some((ctx.profile.network, ctx.profile.targets.as_slice()));
    let cgroup = ctx.cgroup.as_mut().ok_or(StartError::failed("placing the command", "no session cgroup"))?;
    cgroup.placement(network).map(Some).map_err(|e| StartError::failed("placing the command", e))
}
