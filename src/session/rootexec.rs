//! `rootexec SCRIPT [ARGS]`: a listed script runs as root in the profile's jail, but only
//! while it is provably root's: the script and every directory above it root-owned and not
//! group/world-writable, outside every path the profile lets anyone write, and matching its
//! sha256 pin when the profile sets one.
#![forbid(unsafe_code)]

use crate::decide::{Program, RootExecPlan, RunPlan};
use crate::policy::path::is_within;
use crate::policy::{Profile, RunAs};

/// What a root script may do beyond uid 0's ownership of root's files: read and write past
/// permissions, change ownership, signal processes. Nothing that reaches the kernel itself.
const SCRIPT_CAPS: &[&str] = &["chown", "dac_override", "dac_read_search", "fowner", "kill"];

/// Why a listed script may not run as it is now: each is a refusal, shown to the operator
/// and recorded as a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ScriptRefusal {
    /// The operator could have written it.
    Writable { script: String, rule: String },
    /// It is not a file root alone controls (or is missing).
    Untrusted(crate::trust::TrustError),
    /// It is not the file the policy pinned.
    Changed { script: String, pinned: String, found: String },
}

impl std::fmt::Display for ScriptRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptRefusal::Writable { script, rule } => {
                write!(f, "{script} lies in the writable path {rule}")
            }
            ScriptRefusal::Untrusted(e) => e.fmt(f),
            ScriptRefusal::Changed { script, pinned, found } => {
                write!(f, "{script} does not match its pinned sha256 (pinned {pinned}, found {found})")
            }
        }
    }
}

/// Checks `plan`'s script as it is now.
pub(super) fn check(profile: &Profile, plan: &RootExecPlan) -> Result<(), ScriptRefusal> {
    let writable = profile.read_write.iter().chain(&profile.tool_rw);
    if let Some(rule) = writable.into_iter().find(|r| is_within(&plan.script, &r.item.path)) {
        return Err(ScriptRefusal::Writable { script: plan.script.clone(), rule: rule.item.path.clone() });
    }
    let bytes = crate::trust::read_bytes(&plan.script).map_err(ScriptRefusal::Untrusted)?;
    if let Some(pinned) = &plan.sha256 {
        let found = crate::audit::chain::sha256_hex(&bytes);
        if !found.eq_ignore_ascii_case(pinned) {
            return Err(ScriptRefusal::Changed {
                script: plan.script.clone(),
                pinned: pinned.clone(),
                found,
            });
        }
    }
    Ok(())
}

/// The command that runs the script: as root, jailed, with the script's capabilities.
pub(super) fn run_plan(plan: &RootExecPlan) -> RunPlan {
    let name = plan.script.rsplit('/').next().unwrap_or(&plan.script).to_string();
    RunPlan {
        program: Program::Path(plan.script.clone()),
        argv: std::iter::once(name).chain(plan.args.iter().cloned()).collect(),
        run_as: RunAs::Root,
        caps: SCRIPT_CAPS.iter().map(|c| c.to_string()).collect(),
        tty: false,
        jailed: true,
    }
}
