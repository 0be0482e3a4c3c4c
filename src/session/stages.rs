//! Starting a pipeline's stages: each in its jail, its file-command process or unjailed, with
//! its standard streams (the pipes, redirections opened and recorded first, the terminal a
//! terminal alias needs).
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::unistd::{pipe, Pid};

use super::child::{fork_placed, redirect_stdio};
use super::execwatch::ExecWatch;
use super::file_records;
use super::identity;
use super::privileges::PrivilegeError;
use super::relay::{Pty, Relay, NEEDS_A_TERMINAL};
use super::start_error::{StartError, FAILED};
use super::wait::{abort, wait_all, Child, StageEnd};
use super::Context;
use crate::decide::{Action, ExecPlan, PathGrant, RedirectPlan, RunPlan};
use crate::files::events::{FileEvent, FileEvents, Operation};
use crate::files::redirect;
use crate::files::Failure;
use crate::jail::{plan_jail, JailRequest, Placement, RealHost, Stdio};
use crate::line::RedirectOp;
use crate::policy::FileCommand;
use crate::sys;

/// Why a command that needs a terminal cannot have one here, if it cannot: it must be alone
/// on its line, without redirections, in a session that has a terminal.
pub(super) fn terminal_refusal(stages: usize, plan: &ExecPlan) -> Option<String> {
    if stages > 1 || !plan.redirects.is_empty() {
        return Some(ALONE_ON_A_TERMINAL.into());
    }
    match nix::unistd::isatty(0) {
        Ok(true) => None,
        _ => Some(NEEDS_A_TERMINAL.into()),
    }
}

pub(super) const ALONE_ON_A_TERMINAL: &str =
    "a command that needs a terminal must be alone on its line, without redirections";

/// A command needing a terminal gets its own pty, and then the terminal to itself.
pub(super) fn terminal_for(plans: &[ExecPlan]) -> Result<Option<Pty>, StartError> {
    let wants = |p: &ExecPlan| matches!(&p.action, Action::Run(run) if run.tty && run.jailed);
    match (plans, plans.iter().any(wants)) {
        (_, false) => Ok(None),
        ([plan], true) if plan.redirects.is_empty() => {
            Pty::open().map(Some).map_err(|e| StartError::failed("opening a terminal", e))
        }
        // Refused before anything is recorded (`terminal_refusal`): never here.
        _ => Err(StartError::failed("opening a terminal", ALONE_ON_A_TERMINAL)),
    }
}

/// A pipeline whose stages have all started. A jailed stage waits at its program's exec
/// until [`finish`] answers it: until then nothing of the operator's has run.
pub(super) struct Started {
    children: Vec<Child>,
    pty: Option<Pty>,
    watches: Vec<ExecWatch>,
}

/// Runs the stages of one pipeline; how each ended (never started, when setting up failed).
pub(super) fn run_stages(
    ctx: &mut Context,
    title: &[u8],
    plans: &[ExecPlan],
    places: Vec<Option<Placement>>,
) -> Vec<StageEnd> {
    match start_stages(ctx, title, plans, places) {
        Ok(started) => finish(ctx, started),
        Err((error, ends)) => {
            let _ = writeln!(ctx.err, "cage: {error}");
            ends
        }
    }
}

/// Starts every stage of one pipeline. When one cannot start, the ones started are killed:
/// then what failed, and how each stage ended.
pub(super) fn start_stages(
    ctx: &mut Context,
    title: &[u8],
    plans: &[ExecPlan],
    places: Vec<Option<Placement>>,
) -> Result<Started, (StartError, Vec<StageEnd>)> {
    let pty = terminal_for(plans).map_err(|error| abort(Vec::new(), plans.len(), error))?;
    // Every target is opened and recorded before any stage starts: no record, nothing runs.
    let mut opened = Vec::with_capacity(plans.len());
    for plan in plans {
        match open_redirects(ctx, &plan.redirects) {
            Ok(files) => opened.push(files),
            Err(error) => return Err(abort(Vec::new(), plans.len(), error)),
        }
    }
    let mut children = Vec::with_capacity(plans.len());
    let mut watches = Vec::new();
    let mut previous: Option<OwnedFd> = None;
    for (i, ((plan, files), place)) in plans.iter().zip(opened).zip(places).enumerate() {
        let (next, pipe_out) = match i + 1 < plans.len() {
            true => match pipe() {
                Ok((r, w)) => (Some(r), Some(w)),
                Err(e) => return Err(abort(children, plans.len(), StartError::failed("pipe", e))),
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
            Err(e) => return Err(abort(children, plans.len(), StartError::failed("tracing execs", e))),
        };
        stdio.exec_trace = traced.as_ref().map(|(_, theirs)| theirs.as_raw_fd());
        stdio.placement = place;
        match start(ctx, plan, stdio, pty.as_ref()) {
            Ok(child) => children.push(child),
            Err(error) => return Err(abort(children, plans.len(), error)),
        }
        watches.extend(traced.map(|(watch, _)| watch));
        previous = next;
    }
    Ok(Started { children, pty, watches })
}

/// Kills every started stage before its program runs (its record could not be written).
pub(super) fn discard(started: Started) {
    let stages = started.children.len();
    let _ = abort(started.children, stages, StartError::failed("starting", "discarded"));
}

/// Stages that run in a jail have their execs traced.
pub(super) fn is_jailed(plan: &ExecPlan) -> bool {
    matches!(&plan.action, Action::Run(run) if run.jailed) || matches!(plan.action, Action::RootExec(_))
}

/// Lets the started stages run and waits for them: how each ended; when the session must end,
/// it is reported and every stage killed.
pub(super) fn finish(ctx: &mut Context, started: Started) -> Vec<StageEnd> {
    let Started { children, pty, mut watches } = started;
    let mut relay = pty.map(|pty| Relay::start(pty.master));
    // Each is set as its stage ends.
    let mut ends = vec![StageEnd::NotStarted(StartError::failed("waiting", "no end seen")); children.len()];
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
pub(super) struct Redirected {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    err_to_out: bool,
}

/// Opens each target and writes its `file` record before the stage may use it (a `>` target
/// is truncated only then); a record that cannot be written refuses the line.
pub(super) fn open_redirects(ctx: &Context, redirects: &[RedirectPlan]) -> Result<Redirected, StartError> {
    let mut files = Redirected { stdin: None, stdout: None, stderr: None, err_to_out: false };
    for r in redirects {
        let open = |grant: &PathGrant, operation| -> Result<OwnedFd, StartError> {
            let target = redirect::open(grant, operation).map_err(|failure| match failure {
                // Refused on disk (a link out of the rule, a FIFO, a shared inode...): a denial,
                // recorded as one.
                Failure::Denied { path, why } => {
                    let refused = [FileEvent::refused(operation, &path, &why)];
                    let _ = file_records::record(&ctx.audit, &ctx.session.cwd, &refused);
                    StartError::Denied(why)
                }
                Failure::Failed(message) => StartError::Unusable(message),
            })?;
            file_records::record(&ctx.audit, &ctx.session.cwd, std::slice::from_ref(&target.event))
                .map_err(|e| StartError::failed("recording the redirection", e))?;
            target.ready().map_err(|e| StartError::failed("truncating the target", e))
        };
        match (r.op, &r.target) {
            (RedirectOp::ErrToOut, _) => files.err_to_out = true,
            (RedirectOp::In, Some(t)) => files.stdin = Some(open(t, Operation::Read)?),
            (RedirectOp::Out, Some(t)) => files.stdout = Some(open(t, Operation::Write)?),
            (RedirectOp::Append, Some(t)) => files.stdout = Some(open(t, Operation::Append)?),
            (RedirectOp::ErrOut, Some(t)) => files.stderr = Some(open(t, Operation::Write)?),
            (RedirectOp::ErrAppend, Some(t)) => files.stderr = Some(open(t, Operation::Append)?),
            (_, None) => return Err(StartError::failed("redirection", "no target")),
        }
    }
    Ok(files)
}

/// A redirection wins over the pipe; `2>&1` follows wherever stdout goes.
pub(super) fn stdio(previous: Option<&OwnedFd>, pipe_out: Option<&OwnedFd>, files: &Redirected) -> Stdio {
    let raw = |fd: Option<&OwnedFd>| fd.map(AsRawFd::as_raw_fd);
    let stdin = raw(files.stdin.as_ref()).or(raw(previous));
    let stdout = raw(files.stdout.as_ref()).or(raw(pipe_out));
    let stderr = match files.err_to_out {
        true => stdout.or(Some(1)),
        false => raw(files.stderr.as_ref()),
    };
    Stdio { stdin, stdout, stderr, ..Stdio::default() }
}

pub(super) fn start(
    ctx: &mut Context,
    plan: &ExecPlan,
    stdio: Stdio,
    pty: Option<&Pty>,
) -> Result<Child, StartError> {
    match &plan.action {
        Action::Run(run) if run.jailed => start_jail(ctx, run, stdio, pty),
        Action::Run(run) => super::unjailed::start(ctx, run, stdio).map(Child::Process),
        Action::RootExec(root) => start_jail(ctx, &super::rootexec::run_plan(root), stdio, pty),
        Action::File(file) if file.command == FileCommand::Sudovi => {
            super::edit::start(ctx, file, stdio).map(Child::Process)
        }
        Action::File(file) => start_file_command(ctx, file, stdio).map(Child::Process),
        // Refused before anything is recorded (`run_pipeline`): never here.
        Action::Su(_) | Action::Builtin(_) => {
            Err(StartError::failed("starting", "not a command of a pipeline"))
        }
    }
}

pub(super) fn start_jail(
    ctx: &mut Context,
    run: &RunPlan,
    stdio: Stdio,
    pty: Option<&Pty>,
) -> Result<Child, StartError> {
    let identity = identity::for_run_as(&run.run_as, &ctx.operator)
        .map_err(|e| StartError::failed("the user to run as", e))?;
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
    let mut jail = plan_jail(&req, &RealHost)?;
    (jail.file_size_limit, jail.memory_limit) = (ctx.file_size_limit, ctx.memory_limit);
    let required = ctx.landlock_required;
    Ok(ctx.views.spawn(&jail, stdio, required).map(Child::Jail)?)
}

/// A file command runs in a child of the monitor: root, but it execs nothing. It writes the
/// `file` records of what it did with the session's audit trail (a copy of the monitor's).
pub(super) fn start_file_command(
    ctx: &Context,
    file: &crate::decide::FilePlan,
    stdio: Stdio,
) -> Result<Pid, StartError> {
    let (file, audit, cwd) = (file.clone(), ctx.audit.clone(), ctx.session.cwd.clone());
    match fork_placed(stdio.placement)? {
        Some(pid) => Ok(pid),
        None => {
            crate::jail::clear_signal_mask();
            let ready = redirect_stdio(stdio)
                .map_err(|e| StartError::failed("redirecting stdio", e))
                .and_then(|()| {
                    file_command_privileges(file.command)
                        .map_err(|e| StartError::failed("dropping privileges", e))
                });
            let code = match ready {
                Ok(()) => {
                    let tty = nix::unistd::isatty(1).unwrap_or(false);
                    let mut events = FileEvents::default();
                    let mut err = std::io::stderr().lock();
                    let ended =
                        crate::files::run(&file, &mut events, &mut std::io::stdout().lock(), &mut err, tty);
                    file_records::finish(&audit, &cwd, &events.into_vec(), ended, &mut err)
                }
                Err(error) => {
                    eprintln!("cage: {error}");
                    FAILED
                }
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
pub(super) fn file_command_privileges(command: FileCommand) -> Result<(), PrivilegeError> {
    use caps::Capability;
    let mut keep: caps::CapsHashSet = [Capability::CAP_DAC_READ_SEARCH].into_iter().collect();
    if matches!(command, FileCommand::Sudorm | FileCommand::Sudocp | FileCommand::Sudovi) {
        keep.extend([Capability::CAP_DAC_OVERRIDE, Capability::CAP_FOWNER]);
    }
    if command == FileCommand::Sudocp {
        keep.insert(Capability::CAP_CHOWN);
    }
    super::privileges::keep_only(&keep)
}
