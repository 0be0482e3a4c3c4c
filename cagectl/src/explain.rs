//! `cagectl explain`: show, stage by stage, what cage would decide for a command line.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use clap::Args;
use serde_json::json;

use crate::{exit, required, UsageError};
use cage::decide::{decide, Action, Builtin, Decision, Session};
use cage::line::{parse_line, render_caret};
use cage::policy::{Layer, PolicySet};

#[derive(Debug, Args)]
pub struct ExplainOptions {
    /// The policy directory (default /etc/cage/policies)
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub policies: Option<String>,
    /// The layer the line runs on: cps, host, cell or guest_vm (required)
    #[arg(long, value_name = "LAYER")]
    pub layer: Option<String>,
    /// The grant's actions (required)
    #[arg(long, value_name = "A[,B...]")]
    pub actions: Option<String>,
    /// The operator's login (default operator)
    #[arg(long, value_name = "NAME")]
    pub login: Option<String>,
    /// The working directory, absolute (default the login's home)
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// One JSON object: the decision and each stage's argv, rules or reason
    #[arg(long)]
    pub json: bool,
    /// Words before --: refused, the line goes after --
    #[arg(hide = true)]
    pub stray: Vec<String>,
    /// The command line, one quoted argument after --
    #[arg(last = true, value_name = "COMMAND LINE")]
    pub line: Vec<OsString>,
}

// With `--json`, one object: `{"decision", "stages": [{"argv", "decision", "rules" | "reason"}]}`,
// or `{"decision": "deny", "reason", "offset"}` for a line that does not parse.

pub fn run(options: &ExplainOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let json = options.json;
    if let Some(extra) = options.stray.first() {
        return Err(UsageError(format!("unexpected argument `{extra}` (put the command line after --)")));
    }
    let line = match options.line.as_slice() {
        [line] => line.as_bytes().to_vec(),
        [] => return Err(UsageError("missing the command line after --".into())),
        _ => return Err(UsageError("give the command line as one quoted argument after --".into())),
    };
    let layer_name = required(&options.layer, "layer")?;
    let layer = Layer::parse(layer_name)
        .ok_or_else(|| UsageError(format!("unknown layer `{layer_name}` (cps, host, cell, guest_vm)")))?;
    let actions: Vec<String> =
        required(&options.actions, "actions")?.split(',').map(|a| a.trim().to_string()).collect();
    let session = session(options)?;
    let dir = options.policies.clone().unwrap_or_else(cage::config::policy_dir);
    let set = match PolicySet::load_dir(Path::new(&dir)) {
        Ok(set) => set,
        Err(errors) => return Ok(config_error(err, &errors)),
    };
    let mut profile = match set.profile(&actions, layer) {
        Ok(p) => p,
        Err(e) => return Ok(config_error(err, &[e])),
    };
    // The addresses `layer` commands may reach, as a login on this host reads them.
    profile.place_in(&cage::config::load().map(|c| c.system).unwrap_or_default());
    let parsed_line = match parse_line(&line) {
        Ok(l) => l,
        Err(e) => {
            match json {
                true => {
                    let report = json!({"decision": "deny", "reason": e.to_string(), "offset": e.offset});
                    let _ = writeln!(out, "{report}");
                }
                false => {
                    let _ = write!(out, "{}", render_caret(&line, &e));
                    let _ = writeln!(out, "deny: {e}");
                }
            }
            return Ok(exit::REFUSED);
        }
    };
    let mut code = exit::OK;
    let mut stages = Vec::new();
    // Followed through the line as a session follows it: `cd DIR; cat FILE` reads DIR/FILE.
    let mut session = session;
    for command in parsed_line.commands() {
        let argv: Vec<&str> = command.argv.iter().map(|w| w.text.as_str()).collect();
        let (said, stage) = match decide(&profile, &session, command) {
            Decision::Allow(plan) => {
                if let Action::Builtin(Builtin::Cd(dir)) = &plan.action {
                    session.cwd = dir.clone();
                }
                let rules: Vec<String> = plan.rules().iter().map(ToString::to_string).collect();
                (
                    format!("allow: {}", rules.join(" + ")),
                    json!({"argv": argv, "decision": "allow", "rules": rules}),
                )
            }
            Decision::Deny(denial) => {
                code = exit::REFUSED;
                let reason = denial.to_string();
                (format!("deny: {reason}"), json!({"argv": argv, "decision": "deny", "reason": reason}))
            }
        };
        match json {
            true => stages.push(stage),
            false => {
                let _ = writeln!(out, "{said}");
            }
        }
    }
    if json {
        let decision = if code == exit::OK { "allow" } else { "deny" };
        let _ = writeln!(out, "{}", json!({"decision": decision, "stages": stages}));
    }
    Ok(code)
}

fn session(options: &ExplainOptions) -> Result<Session, UsageError> {
    let login = options.login.as_deref().unwrap_or("operator").to_string();
    let home = format!("/home/{login}");
    let cwd = options.cwd.clone().unwrap_or_else(|| home.clone());
    if !cwd.starts_with('/') {
        return Err(UsageError(format!("--cwd must be absolute (got `{cwd}`)")));
    }
    let cwd = cage::policy::path::normalize("/", &cwd);
    Ok(Session { login, cwd, home })
}

fn config_error(err: &mut dyn Write, errors: &[impl std::fmt::Display]) -> i32 {
    for e in errors {
        let _ = writeln!(err, "cagectl: {e}");
    }
    exit::USAGE
}
