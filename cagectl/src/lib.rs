//! `cagectl`, the admin CLI: argument dispatch, one-line errors, exit codes.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

mod admin_record;
mod args;
mod audit;
// Public for the fuzz target that reads records as `show` and `export` do (fuzz/).
pub mod audit_export;
mod audit_play;
mod audit_rotate;
pub mod audit_show;
mod audit_tail;
mod cast;
mod change;
mod check;
mod explain;
mod grant;
mod lifecycle;
mod list;
mod notice;
mod reap;
mod request;
mod sessions;
mod ssh_ca;
mod store;
mod unsent;
mod users;
mod watch;
mod who;

pub use args::UsageError;

/// Where `cagectl` reads profiles unless told otherwise (fixed at build time).
pub const DEFAULT_POLICY_DIR: &str = "/etc/cage/policies";

/// Exit codes shared by every subcommand.
pub mod exit {
    pub const OK: i32 = 0;
    /// Something was refused or found invalid.
    pub const REFUSED: i32 = 1;
    /// The invocation or the configuration is wrong.
    pub const USAGE: i32 = 2;
}

const USAGE: &str = "usage: cagectl check [DIR] [--config FILE] [--json]
       cagectl explain [--policies DIR] --layer LAYER --actions A[,B...] [--login NAME] [--cwd DIR] [--json] -- 'COMMAND LINE'
       cagectl request --actions A[,B...] --reason TEXT [--duration D] [--not-before T] [--ssh-key FILE]
                       [--contact EMAIL]
       cagectl review ID | approve ID [--duration D] | reject ID --reason TEXT
       cagectl grant --login NAME --actions A[,B...] (--duration D | --until T) --req ID [--reason TEXT]
                     [--create-user] [--ssh-key FILE] [--ssh-ca CAKEY]
       cagectl extend LOGIN (--duration D | --until T)
       cagectl revoke LOGIN|ID [--reason TEXT]
       cagectl list [--all] [--json]
       cagectl sessions [--json]
       cagectl watch SESSION [--file AUDIT]
       cagectl reap
       cagectl audit verify [FILE...]
       cagectl audit rotate
       cagectl audit show [--req ID] [--login NAME] [--session S] [--since T] [--until T] [--event E[,E...]] [--decision allow|deny] [--json] [FILE...]
       cagectl audit tail [-f] [-n N] [FILTERS] [--json] [FILE]
       cagectl audit export --format oac [FILTERS] [FILE...]
       cagectl audit play SESSION [--speed N] [--idle-limit S] [FILE...]";

/// The lines of [`USAGE`] for `sub` (`audit` has several), continuations included.
fn usage_of(sub: &str) -> Option<String> {
    let mut lines = Vec::new();
    let mut ours = false;
    for line in USAGE.lines() {
        let text = line.trim_start_matches("usage:").trim_start();
        if let Some(command) = text.strip_prefix("cagectl ") {
            ours = command.split([' ', '|']).next() == Some(sub)
                || (sub != "audit" && command.split(" | ").any(|alt| alt.split(' ').next() == Some(sub)));
        }
        if ours {
            lines.push(text.to_string());
        }
    }
    (!lines.is_empty()).then(|| format!("usage: {}", lines.join("\n       ")))
}

/// `--help` or `-h` among a subcommand's arguments (before any `--`).
fn asks_for_help(rest: &[OsString]) -> bool {
    rest.iter().take_while(|a| *a != "--").any(|a| a == "--help" || a == "-h")
}

/// Runs cagectl with `args` (without the program name); returns the exit code.
pub fn run(args: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut args = args.into_iter();
    let sub = args.next().map(|s| s.to_string_lossy().into_owned());
    let rest: Vec<OsString> = args.collect();
    if let Some(usage) = sub.as_deref().filter(|_| asks_for_help(&rest)).and_then(usage_of) {
        let _ = writeln!(out, "{usage}");
        return exit::OK;
    }
    let result = match sub.as_deref() {
        Some("check") => check::run(&rest, out, err),
        Some("explain") => explain::run(&rest, out, err),
        Some("grant") => grant::run(&rest, out, err),
        Some("request") => request::run_request(&rest, out, err),
        Some("review") => request::run_review(&rest, out, err),
        Some("approve") => request::run_approve(&rest, out, err),
        Some("reject") => request::run_reject(&rest, out, err),
        Some("extend") => lifecycle::run_extend(&rest, out, err),
        Some("revoke") => lifecycle::run_revoke(&rest, out, err),
        Some("list") => list::run(&rest, out, err),
        Some("sessions") => sessions::run(&rest, out, err),
        Some("watch") => watch::run(&rest, out, err),
        Some("reap") => reap::run(&rest, out, err),
        Some("audit") => audit::run(&rest, out, err),
        Some("help" | "--help" | "-h") => match rest.first().map(|s| s.to_string_lossy().into_owned()) {
            None => {
                let _ = writeln!(out, "{USAGE}");
                return exit::OK;
            }
            Some(topic) => match usage_of(&topic) {
                Some(usage) => {
                    let _ = writeln!(out, "{usage}");
                    return exit::OK;
                }
                None => Err(UsageError(format!("no help for `{topic}`: not a subcommand"))),
            },
        },
        Some("--version" | "version") => {
            let _ = writeln!(out, "cagectl {}", env!("CARGO_PKG_VERSION"));
            return exit::OK;
        }
        Some(other) => Err(UsageError(format!("unknown subcommand `{other}`"))),
        None => Err(UsageError("missing subcommand".into())),
    };
    result.unwrap_or_else(|usage| {
        let _ = writeln!(err, "cagectl: {}\n{USAGE}", usage.0);
        exit::USAGE
    })
}
