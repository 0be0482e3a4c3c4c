//! The decision: a pure function from (profile, session, command) to allow-with-plan or deny.
//!
//! No I/O happens here. Paths are judged lexically (after normalization against the working
//! directory); the file commands later resolve them on disk from the rule's directory fd.
#![forbid(unsafe_code)]
// A denial is built at most once per command and carries its rule for the audit record;
// boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod commands;
mod denial;
mod familiar;
mod files;
pub(crate) mod help;
mod network;
mod paths;
mod plan;
mod usage;

pub use crate::policy::path::is_secret;
pub use denial::{Denial, DenyReason};
pub use familiar::{familiar, FAMILIAR};
pub use paths::judge;
pub use plan::*;
pub use usage::usage;

use crate::line::{Command, Line, RedirectOp};
use crate::policy::path::normalize;
use crate::policy::{Origin, Profile};

/// Who is asking, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: String,
    /// Absolute, normalized.
    pub cwd: String,
    pub home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(ExecPlan),
    Deny(Denial),
}

impl Decision {
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// Decides one simple command (one pipeline stage) with its redirections.
pub fn decide(profile: &Profile, session: &Session, command: &Command) -> Decision {
    let argv: Vec<&str> = command.argv.iter().map(|w| w.text.as_str()).collect();
    let result = commands::decide_argv(profile, session, &argv)
        .and_then(|plan| with_redirects(profile, session, command, plan));
    match result {
        Ok(plan) => Decision::Allow(plan),
        Err(denial) => Decision::Deny(denial),
    }
}

/// A refused stage of a line: its index among [`Line::commands`], the command, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDenial<'l> {
    pub index: usize,
    pub command: &'l Command,
    pub denial: Denial,
}

/// Decides every stage of a line before anything runs, following `cd` through it as the
/// session will (a stage after `cd DIR` is judged from DIR): the plans, one per stage, or the
/// first refused stage, which refuses the whole line.
pub fn decide_line<'l>(
    profile: &Profile,
    session: &Session,
    line: &'l Line,
) -> Result<Vec<ExecPlan>, StageDenial<'l>> {
    let mut session = session.clone();
    let mut plans = Vec::new();
    for (index, command) in line.commands().enumerate() {
        let plan = match decide(profile, &session, command) {
            Decision::Allow(plan) => plan,
            Decision::Deny(denial) => return Err(StageDenial { index, command, denial }),
        };
        if let Action::Builtin(Builtin::Cd(dir)) = &plan.action {
            session.cwd = dir.clone();
        }
        plans.push(plan);
    }
    Ok(plans)
}

fn with_redirects(
    profile: &Profile,
    session: &Session,
    command: &Command,
    mut plan: ExecPlan,
) -> Result<ExecPlan, Denial> {
    for redirect in &command.redirects {
        let target = match &redirect.target {
            None => None,
            Some(word) if word.text.is_empty() => {
                let detail = format!("`{}` needs a file name", redirect.op.symbol());
                return Err(Denial {
                    reason: DenyReason::Usage { command: "redirection".into(), detail },
                    at: None,
                });
            }
            Some(word) => {
                let access = if redirect.op == RedirectOp::In { Access::Read } else { Access::Write };
                let path = normalize(&session.cwd, &word.text);
                Some(redirect_target(profile, &path, access)?)
            }
        };
        plan.redirects.push(RedirectPlan { op: redirect.op, target });
    }
    Ok(plan)
}

fn redirect_target(profile: &Profile, path: &str, access: Access) -> Result<PathGrant, Denial> {
    if profile.full_access.is_some() {
        return Ok(PathGrant::full_access(path, access));
    }
    paths::judge(profile, path, access).map_err(|reason| Denial { reason, at: None })
}

/// The origin of cage's own builtins, which every session has.
pub(crate) fn builtin_origin() -> Origin {
    Origin { action: "cage".into(), granted: "cage".into() }
}

#[cfg(test)]
mod tests;
