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

/// Checks `plan`'s script as it is now; the error is the reason shown to the operator.
pub fn check(profile: &Profile, plan: &RootExecPlan) -> Result<(), String> {
    let writable = profile.read_write.iter().chain(&profile.tool_rw);
    if let Some(rule) = writable.into_iter().find(|r| is_within(&plan.script, &r.item.path)) {
        return Err(format!("{} lies in the writable path {}", plan.script, rule.item.path));
    }
    let bytes = crate::trust::read_bytes(&plan.script).map_err(|e| e.to_string())?;
    if let Some(pinned) = &plan.sha256 {
        let found = crate::audit::chain::sha256_hex(&bytes);
        if !found.eq_ignore_ascii_case(pinned) {
            return Err(format!(
                "{} does not match its pinned sha256 (pinned {pinned}, found {found})",
                plan.script
            ));
        }
    }
    Ok(())
}

/// The command that runs the script: as root, jailed, with the script's capabilities.
pub fn run_plan(plan: &RootExecPlan) -> RunPlan {
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
