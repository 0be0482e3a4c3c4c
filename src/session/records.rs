//! The records of a line: a refusal, the `command` record of each allowed stage (written
//! before anything runs), and each stage's `exit`.
#![forbid(unsafe_code)]

use std::io::Write;

use super::wait::StageEnd;
use super::Context;
use crate::audit::{AuditError, Entry, Verdict};
use crate::decide::{Action, ExecPlan, Program};
use crate::line::Command;

/// A refusal is recorded too; it was refused either way, so a failed write only warns.
pub(super) fn record_denial(
    ctx: &mut Context,
    title: &[u8],
    argv: &[String],
    rule: Option<String>,
    reason: &str,
) {
    let mut entry = Entry::new("command").with("reason", reason);
    (entry.cwd, entry.title, entry.argv) = (Some(ctx.session.cwd.clone()), title.to_vec(), argv.to_vec());
    (entry.decision, entry.rule) = (Some(Verdict::Deny), rule);
    if let Err(e) = ctx.audit.record(&entry) {
        let _ = writeln!(ctx.err, "cage: this refusal was not recorded: {e}");
    }
}

/// The `command` record of an allowed stage: what runs, under which rule.
pub(super) fn allowed_entry(ctx: &Context, title: &[u8], command: &Command, plan: &ExecPlan) -> Entry {
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

/// Writes every stage's `command` record before any of them starts: no record, no run. A
/// trail that cannot take the record is a failure of cage's own (125), not a refusal: the
/// decision allowed the line, and no denial could be recorded anyway.
pub(super) fn record_commands(
    ctx: &mut Context,
    title: &[u8],
    stages: &[Command],
    plans: &[ExecPlan],
) -> Result<Vec<Entry>, AuditError> {
    let mut entries = Vec::with_capacity(plans.len());
    for (command, plan) in stages.iter().zip(plans) {
        let entry = allowed_entry(ctx, title, command, plan);
        ctx.audit.record(&entry)?;
        entries.push(entry);
    }
    Ok(entries)
}

/// The `exit` record of each stage that was recorded as started; `limits` names the
/// session-wide limits that stopped something while they ran.
pub(super) fn record_exits(
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
            StageEnd::NotStarted(error) => {
                exit = exit.with("status", error.status()).with("not_started", true);
                if let Some(failure) = error.recorded() {
                    exit = exit.with("error", failure);
                }
            }
        }
        if let Err(e) = ctx.audit.record_deferred(&exit) {
            let _ = writeln!(ctx.err, "cage: the end of this command was not recorded: {e}");
        }
    }
}

pub(super) fn ms(end: std::time::Instant, start: std::time::Instant) -> u64 {
    end.saturating_duration_since(start).as_millis() as u64
}

pub(super) fn words(command: &Command) -> Vec<String> {
    command.argv.iter().map(|w| w.text.clone()).collect()
}
