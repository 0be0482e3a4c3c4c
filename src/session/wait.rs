//! Waiting for a pipeline's stages: how each ended, the grant and the command time limit
//! meanwhile, the terminal relay and exec tracing, and signals forwarded to what runs.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::AsFd;

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::execwatch::ExecWatch;
use super::relay::Relay;
use super::start_error::{StartError, FAILED};
use super::wake::{Source, Waiter, Wake};
use super::{Context, SessionEnd};
use crate::audit::EndReason;
use crate::jail::{Outcome, Running};
use crate::time::format_remaining;

/// How one stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StageEnd {
    Exited(i32, std::time::Instant),
    Signaled(i32, std::time::Instant),
    /// Killed for running longer than `[limits] command_timeout`.
    TimedOut(std::time::Instant),
    /// Nothing of it ran: refused while acting, or cage could not start it.
    NotStarted(StartError),
}

impl StageEnd {
    pub(super) fn status(&self) -> i32 {
        match self {
            StageEnd::Exited(code, _) => *code,
            StageEnd::Signaled(sig, _) => 128 + sig,
            StageEnd::TimedOut(_) => 128 + libc::SIGKILL,
            StageEnd::NotStarted(error) => error.status(),
        }
    }
}

/// A started stage.
pub(super) enum Child {
    Jail(Running),
    Process(Pid),
}

/// A stage could not start: the ones already started are killed; none counts as run. The
/// error (for the caller to show), and how each stage ended.
pub(super) fn abort(children: Vec<Child>, stages: usize, error: StartError) -> (StartError, Vec<StageEnd>) {
    let pending: Vec<(usize, Child)> = children.into_iter().enumerate().collect();
    let mut ends = vec![StageEnd::NotStarted(error.clone()); stages];
    kill_all(&pending, &mut ends);
    (error, ends)
}

pub(super) fn pid_of(child: &Child) -> Pid {
    match child {
        Child::Jail(running) => running.pid(),
        Child::Process(pid) => *pid,
    }
}

/// Waits for every stage; the pipeline's status is the last stage's. Ctrl-C, Ctrl-\\ and window
/// changes are forwarded; the grant is re-checked on its deadline (a second after the last
/// check, whatever woke the wait meanwhile), and a hang-up (the ssh connection gone), an
/// expiry or a revocation kills every stage and ends the session.
pub(super) fn wait_all(
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

pub(super) fn forward(ctx: &mut Context, pending: &[(usize, Child)], sig: Signal) {
    if sig == Signal::SIGINT {
        let _ = writeln!(ctx.err);
    }
    for (_, child) in pending {
        let _ = kill(pid_of(child), sig);
    }
}

/// Kills what still runs and reaps it; each such stage ends by SIGKILL.
pub(super) fn kill_all(pending: &[(usize, Child)], ends: &mut [StageEnd]) {
    for (_, child) in pending {
        let _ = kill(pid_of(child), Signal::SIGKILL);
    }
    for (i, child) in pending {
        let _ = waitpid(pid_of(child), None);
        ends[*i] = StageEnd::Signaled(Signal::SIGKILL as i32, std::time::Instant::now());
    }
}

/// The signals the monitor keeps blocked and reads from a signalfd (see `monitor`).
/// A hang-up or termination that arrived while no stage was being waited for (the connection
/// closed, or the recorder ended the session because its recording failed): the session ends
/// before anything more runs.
pub(super) fn hung_up() -> Option<SessionEnd> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGHUP);
    set.add(Signal::SIGTERM);
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).ok()?;
    signals.read_signal().ok()??;
    Some(SessionEnd::new(EndReason::Killed, "the connection was closed"))
}

pub(super) fn watched_signals() -> SigSet {
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
pub(super) fn poll_child(child: Child, exiting: &mut Vec<crate::jail::Exiting>) -> Result<StageEnd, Child> {
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
                    // A step of the jail failed: nothing of the command ran.
                    Err(e) => {
                        let error = StartError::from(e);
                        eprintln!("cage: {error}");
                        Ok(StageEnd::NotStarted(error))
                    }
                }
            }
            Err(running) => Err(Child::Jail(running)),
        },
        Child::Process(pid) => match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Err(Child::Process(pid)),
            Ok(WaitStatus::Exited(_, code)) => Ok(StageEnd::Exited(code, now)),
            Ok(WaitStatus::Signaled(_, sig, _)) => Ok(StageEnd::Signaled(sig as i32, now)),
            _ => Ok(StageEnd::Exited(FAILED, now)),
        },
    }
}
