//! `cagectl check [DIR] [--config FILE]`: validate every profile, summarize each action, warn
//! about risky aliases; then the host's cage.toml as a login reads it (every section, unknown
//! keys, bad values, a layer no policy has): like `sshd -t`, a check that passes means a login
//! does not fail on configuration. `--json`: one object (`ok`, `actions`, `warnings`, `errors`,
//! `notes`).
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::Path;

use clap::Args;

use crate::{exit, UsageError};
use cage::policy::gtfobins::is_shell_capable;
use cage::policy::path::is_within;
use cage::policy::{ActionProfile, AliasTarget, PolicySet};

#[derive(Debug, Args)]
pub struct CheckOptions {
    /// The policy directory (default /etc/cage/policies)
    #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<String>,
    /// The cage.toml to check (default /etc/cage/cage.toml)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub config: Option<String>,
    /// One JSON object: ok, actions, warnings, errors, notes
    #[arg(long)]
    pub json: bool,
}

pub fn run(options: &CheckOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    // Where cage reads them (fixed when both were built).
    let dir = options.dir.clone().unwrap_or_else(cage::config::policy_dir);
    let report = checked(&dir, options.config.as_deref());
    match options.json {
        true => {
            let _ = writeln!(out, "{}", report.json());
        }
        false => report.print(out, err),
    }
    Ok(if report.errors.is_empty() { exit::OK } else { exit::REFUSED })
}

/// What `check` found: summaries and notes (standard output), warnings, and errors with
/// where each was found.
#[derive(Default)]
struct Report {
    summaries: Vec<String>,
    warnings: Vec<String>,
    errors: Vec<String>,
    /// Where the errors are (the policy directory or cage.toml).
    errors_in: String,
    notes: Vec<String>,
}

impl Report {
    fn print(&self, out: &mut dyn Write, err: &mut dyn Write) {
        for summary in &self.summaries {
            let _ = writeln!(out, "{summary}");
        }
        for warning in &self.warnings {
            let _ = writeln!(err, "{warning}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        for error in &self.errors {
            let _ = writeln!(err, "{error}");
        }
        if !self.errors.is_empty() {
            let _ = writeln!(err, "cagectl: {} error(s) in {}", self.errors.len(), self.errors_in);
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.errors.is_empty(),
            "actions": self.summaries,
            "warnings": self.warnings,
            "errors": self.errors,
            "notes": self.notes,
        })
    }
}

fn checked(dir: &str, config: Option<&str>) -> Report {
    let mut report = Report { errors_in: dir.to_string(), ..Report::default() };
    let set = match PolicySet::load_dir(Path::new(dir)) {
        Ok(set) => set,
        Err(errors) => {
            report.errors = errors.iter().map(ToString::to_string).collect();
            return report;
        }
    };
    report.errors = scripts_in_writable_paths(&set);
    if !report.errors.is_empty() {
        return report;
    }
    for action in set.actions() {
        report.summaries.push(summary(&set, action));
        report.warnings.extend(warnings(action));
    }
    let path = config.map_or_else(cage::config::config_file, str::to_string);
    if config.is_none() && !Path::new(&path).exists() {
        report.notes.push(format!("note: no {path}: only the policies were checked"));
        return report;
    }
    match check_config(&set, &path) {
        Ok(line) => report.notes.push(line),
        Err(problem) => {
            report.errors_in = path;
            report.errors.push(problem);
        }
    }
    report
}

/// cage.toml read and validated as a login reads it (the same trusted read, the same parser),
/// and its layer one the policies define.
fn check_config(set: &PolicySet, path: &str) -> Result<String, String> {
    let text = cage::trust::read_file(path).map_err(|e| e.to_string())?;
    let config = cage::config::Config::parse(&text, path).map_err(|e| e.to_string())?;
    let layer = config.layer.name();
    if !set.actions().any(|action| action.layer_names().contains(&layer)) {
        return Err(format!(
            "{path}: layer `{layer}` is not a layer of any policy: every login would be refused"
        ));
    }
    Ok(format!("ok {path}: layer {layer}"))
}

/// One line per action, counting what it grants with everything it inherits.
fn summary(set: &PolicySet, action: &ActionProfile) -> String {
    let closure = set.closure(&action.id);
    let mut layers: Vec<&str> = closure.iter().flat_map(|p| p.layer_names()).collect();
    layers.sort();
    layers.dedup();
    let rules = closure.iter().flat_map(|p| p.layers.values());
    let (mut aliases, mut scripts, mut su) = (0, 0, 0);
    for r in rules {
        aliases += r.aliases.len();
        scripts += r.root_exec.len();
        su += r.su_into.len();
    }
    let kind = if action.full_access { "full access" } else { "jailed" };
    format!(
        "ok {}: {kind}; layers {}; {aliases} aliases, {scripts} rootexec scripts, {su} su targets",
        action.id,
        layers.join(",")
    )
}

/// A rootexec script inside a path some profile (any, on any layer) lets anyone write could
/// be replaced by that profile's holder: every such pair is an error.
fn scripts_in_writable_paths(set: &PolicySet) -> Vec<String> {
    let writable: Vec<(&str, &str)> = set
        .actions()
        .flat_map(|a| a.layers.values().map(move |rules| (a, rules)))
        .flat_map(|(a, rules)| {
            rules
                .files
                .read_write
                .iter()
                .chain(&rules.files.tool_rw)
                .map(move |r| (a.id.as_str(), r.path.as_str()))
        })
        .collect();
    let mut problems = Vec::new();
    for action in set.actions() {
        for (layer, rules) in &action.layers {
            for script in &rules.root_exec {
                for (owner, path) in writable.iter().filter(|(_, path)| is_within(&script.path, path)) {
                    problems.push(format!(
                        "{}: rootexec script {} on {layer} lies in {path}, writable under {owner}",
                        action.file, script.path
                    ));
                }
            }
        }
    }
    problems
}

fn warnings(action: &ActionProfile) -> Vec<String> {
    let mut out = Vec::new();
    for (layer, rules) in &action.layers {
        for alias in rules.aliases.values() {
            let AliasTarget::Binary(bin) = &alias.target else {
                continue;
            };
            if alias.grammar.is_none() && is_shell_capable(bin) {
                out.push(format!(
                    "warning: {}:{}:{}: alias `{}` on {layer} runs `{bin}`, which GTFOBins lists as able to run commands or reach files, and has no argument grammar",
                    action.file, alias.loc.line, alias.loc.col, alias.name
                ));
            }
        }
        // Landlock cannot grant a writable tree minus a path: there a jail hides a denied
        // file by its mask alone, which the host lifts by replacing the file (docs/jail.md).
        // A directory (written with its slash) is lifted only if the directory is replaced.
        let files = &rules.files;
        for deny in files.deny.iter().filter(|d| !d.written.ends_with('/')) {
            let writable = files.read_write.iter().chain(&files.tool_rw);
            for tree in writable.filter(|tree| deny.path != tree.path && is_within(&deny.path, &tree.path)) {
                out.push(format!(
                    "warning: {}: deny `{}` on {layer} lies in the writable tree `{}`: jails hide it by a mount alone, which the host lifts by replacing the file while a command runs",
                    action.file, deny.written, tree.written
                ));
            }
        }
    }
    out
}
