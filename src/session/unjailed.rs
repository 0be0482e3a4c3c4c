//! Full-access actions: the command runs as root without a jail (it is still decided and,
//! with the audit issue, recorded), with a fresh environment all the same.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::path::Path;

use nix::unistd::{chdir, Pid};

use super::child::{fork_placed, redirect_stdio};
use super::start_error::{StartError, FAILED};
use super::Context;
use crate::decide::{Program, RunPlan};
use crate::jail::{Stdio, JAIL_PATH};
use crate::sys;

fn program_path(program: &Program) -> Result<String, StartError> {
    match program {
        Program::Path(p) => Ok(p.clone()),
        Program::Search { dirs, name } => dirs
            .iter()
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .find(|c| Path::new(c).is_file())
            .ok_or_else(|| StartError::NotInstalled(format!("unknown command: {name}"))),
    }
}

fn cstrings(items: impl Iterator<Item = String>) -> Result<Vec<CString>, StartError> {
    items
        .map(|s| CString::new(s).map_err(|_| StartError::failed("the arguments", "one contains NUL")))
        .collect()
}

pub(super) fn start(ctx: &mut Context, run: &RunPlan, stdio: Stdio) -> Result<Pid, StartError> {
    let path = CString::new(program_path(&run.program)?)
        .map_err(|_| StartError::failed("the program", "its path contains NUL"))?;
    let argv = cstrings(run.argv.iter().cloned())?;
    let term = ctx.term.clone().unwrap_or_else(|| "dumb".into());
    let env = [
        format!("PATH={JAIL_PATH}"),
        "HOME=/root".into(),
        "USER=root".into(),
        "LOGNAME=root".into(),
        "PAGER=cat".into(),
        format!("TERM={term}"),
    ];
    let env = cstrings(env.into_iter())?;
    let cwd = CString::new(ctx.session.cwd.clone())
        .map_err(|_| StartError::failed("the working directory", "its path contains NUL"))?;
    let exec = sys::ExecArgs::new(path, argv, env);
    // Born in the session's cgroup: nothing it starts can leave it.
    let place = stdio.placement.ok_or(StartError::failed("placing the command", "no session cgroup"))?;
    match fork_placed(Some(place))? {
        Some(pid) => Ok(pid),
        None => {
            crate::jail::clear_signal_mask();
            if redirect_stdio(stdio).is_err() || chdir(cwd.as_c_str()).is_err() {
                sys::exit_now(FAILED);
            }
            let _ = sys::execve(&exec);
            sys::exit_now(127)
        }
    }
}
