//! A cage session: startup checks, the privileged monitor, the unprivileged REPL, and
//! running what the operator types. The flow is one way: `startup` (a login, or why not:
//! `login_error`) -> `monitor` (the session's loop, the REPL, `su`) -> `exec` (one line:
//! decide every stage, then run its pipelines) -> `stages` (start each stage) -> `wait` (until
//! each ends) -> `records` (the trail). Who owns what:
//!
//! - the session: `monitor` (its loop), `lifespan` (its opening and closing), `guardian` (its end should the monitor die),
//!   `grant_watch` (the grant now), `wake` (the one way of waiting), `cgroup` (its processes);
//! - the operator's side: `repl` (the line editor, unprivileged), `channel` (its protocol),
//!   `builtins`, `identity` (accounts), `certificate` (the SSH certificate);
//! - a line: `exec`, `stages`, `wait`, `records`, `start_error` (why a stage did not run),
//!   `egress_report` (what the network policy refused);
//! - the children: `child` (born in the session's cgroup), `privileges` (what they give up),
//!   `unjailed` (full access), `rootexec` (listed scripts), `edit` (sudovi), `file_records`,
//!   `relay` (a command's pty), `execwatch` (exec tracing), `recording` (the session's cast).
#![forbid(unsafe_code)]

mod builtins;
mod certificate;
pub mod cgroup;
mod channel;
mod child;
mod edit;
mod egress_report;
pub(crate) mod exec;
mod execwatch;
mod file_records;
mod grant_watch;
mod guardian;
pub(crate) mod identity;
mod lifespan;
pub(crate) mod login_error;
pub mod monitor;
mod privileges;
pub mod recording;
mod records;
mod relay;
mod repl;
mod rootexec;
mod stages;
pub(crate) mod start_error;
pub mod startup;
mod unjailed;
mod wait;
pub(crate) mod wake;

use std::io::Write;

use crate::audit::{Audit, EndReason};
use crate::decide::Session;
use crate::jail::Identity;
use crate::policy::Profile;

/// Everything a line runs against. Owned by the monitor.
pub struct Context<'p> {
    pub login: &'p startup::Login,
    pub profile: &'p Profile,
    pub session: Session,
    pub operator: Identity,
    pub host: String,
    pub tty: Option<String>,
    pub term: Option<String>,
    pub lang: Option<String>,
    pub landlock_required: bool,
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Every command is recorded here before it runs.
    pub audit: Audit,
    /// Re-reads the grant; `Err` ends the session. `Ok` carries a one-line summary.
    pub check_grant: Box<dyn FnMut() -> Result<String, SessionEnd>>,
    /// The last lines of this session, for `history` (kept by the monitor, never on disk;
    /// at most [`HISTORY_LINES`], so the monitor's memory does not grow with the input).
    pub history: std::collections::VecDeque<String>,
    /// When the grant is next due for its check (every loop that waits honours it).
    pub grant_clock: wake::GrantClock,
    /// Where every command runs (made on the first), so the session's end kills what they
    /// leave behind and the session-wide limits hold for all of them together.
    pub cgroup: Option<cgroup::SessionCgroup>,
    /// Started with the cgroup: ends what the session runs if the monitor dies.
    pub guardian: Option<guardian::Guardian>,
    /// cage.toml `[limits]`.
    pub limits: crate::config::Limits,
    /// `[limits] command_timeout`: a command running longer is killed.
    pub command_timeout: Option<std::time::Duration>,
    /// `[limits]` file_size and memory of jailed commands.
    pub file_size_limit: Option<u64>,
    pub memory_limit: Option<u64>,
    /// A REPL reads the lines (not `-c`): `su` can open a nested session.
    pub interactive: bool,
    /// Set when the grant ended or the connection closed while a command ran.
    pub ended: Option<SessionEnd>,
    /// Jails whose command has ended and whose init is still exiting (reaped when done).
    pub exiting: Vec<crate::jail::Exiting>,
    /// The jail's view, built once for the commands that share it.
    pub views: crate::jail::Views,
    /// The session's recording, closed (and its digest recorded) at logout.
    pub recording: Option<recording::Recording>,
}

/// How many lines `history` keeps (as the REPL's own history does).
pub const HISTORY_LINES: usize = 1000;

impl Context<'_> {
    /// Re-reads the grant now; the next check is due a second later.
    pub fn check_grant_now(&mut self) -> Result<String, SessionEnd> {
        self.grant_clock.checked();
        (self.check_grant)()
    }

    /// Keeps `line` for `history`, forgetting the oldest beyond [`HISTORY_LINES`].
    pub fn remember(&mut self, line: &[u8]) {
        if self.history.len() == HISTORY_LINES {
            self.history.pop_front();
        }
        self.history.push_back(String::from_utf8_lossy(line).into_owned());
    }
}

/// What a line asked of the session.
#[derive(Debug)]
pub enum LineOutcome {
    Status(i32),
    Exit,
    /// An allowed, recorded `su`: the monitor runs the nested session (its own loop), then
    /// hands its status back to `exec::su_ended` for the records. The line runner never calls
    /// up into the loop that called it.
    Su(exec::PendingSu),
}

/// Why `su` cannot open a nested session here, if it cannot.
pub fn su_refusal(ctx: &Context) -> Option<String> {
    match (ctx.interactive, &ctx.audit.fields.su_user) {
        (false, _) => Some("su needs an interactive session (ssh -t)".into()),
        (true, Some(user)) => Some(format!("already in an su session as {user}: exit it first")),
        (true, None) => None,
    }
}

/// Why a session ends before the operator leaves: the line to show and the `logout` reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    pub reason: EndReason,
    pub message: String,
}

impl SessionEnd {
    pub fn new(reason: EndReason, message: impl Into<String>) -> Self {
        SessionEnd { reason, message: message.into() }
    }
}

impl std::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
