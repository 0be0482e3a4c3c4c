//! `cagectl`, the admin CLI: the subcommands, their dispatch, one-line errors, exit codes. The
//! arguments are parsed by clap (cli.rs); a package of its own, so that clap is never linked
//! into the setuid cage.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use cli::{AuditCommand, Command};

mod admin_record;
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
mod cli;
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

/// Exit codes shared by every subcommand.
pub mod exit {
    pub const OK: i32 = 0;
    /// Something was refused or found invalid.
    pub const REFUSED: i32 = 1;
    /// The invocation or the configuration is wrong.
    pub const USAGE: i32 = 2;
}

/// A mistake in the invocation a subcommand found in its arguments (a value clap cannot
/// judge, options that go together); shown with the subcommand's usage, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// The value of option `--NAME`, which this use of the subcommand needs (clap leaves it
/// optional so that the subcommand says which is missing, in its own words).
fn required<'a>(given: &'a Option<String>, name: &str) -> Result<&'a str, UsageError> {
    given.as_deref().ok_or_else(|| UsageError(format!("--{name} is required")))
}

/// Runs cagectl with `args` (without the program name); returns the exit code.
pub fn run(args: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (command, path) = match cli::parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => return cli::refused(&e, &args, out, err),
    };
    // The subcommand's own arguments, as the lifecycle commands record them in the trail.
    let rest = args.get(1..).unwrap_or_default();
    let result = match &command {
        Command::Check(o) => check::run(o, out, err),
        Command::Explain(o) => explain::run(o, out, err),
        Command::Request(o) => request::run_request(o, rest, out, err),
        Command::Review(o) => request::run_review(o, rest, out, err),
        Command::Approve(o) => request::run_approve(o, rest, out, err),
        Command::Reject(o) => request::run_reject(o, rest, out, err),
        Command::Grant(o) => grant::run(o, rest, out, err),
        Command::Extend(o) => lifecycle::run_extend(o, rest, out, err),
        Command::Revoke(o) => lifecycle::run_revoke(o, rest, out, err),
        Command::List(o) => list::run(o, out, err),
        Command::Sessions(o) => sessions::run(o, out, err),
        Command::Watch(o) => watch::run(o, out, err),
        Command::Reap => reap::run(rest, out, err),
        Command::Audit(AuditCommand::Verify(o)) => audit::verify(o, out, err),
        Command::Audit(AuditCommand::Rotate) => audit_rotate::run(out, err),
        Command::Audit(AuditCommand::Show(o)) => audit_show::run(o, out, err),
        Command::Audit(AuditCommand::Tail(o)) => audit_tail::run(o, out, err),
        Command::Audit(AuditCommand::Export(o)) => audit_export::run(o, out, err),
        Command::Audit(AuditCommand::Play(o)) => audit_play::run(o, out, err),
        Command::Completions(o) => Ok(cli::completions(o.shell, out)),
        Command::Version => {
            let _ = writeln!(out, "cagectl {}", env!("CARGO_PKG_VERSION"));
            Ok(exit::OK)
        }
    };
    result.unwrap_or_else(|usage| {
        let _ = writeln!(err, "cagectl: {}\n{}", usage.0, cli::usage_of(&path));
        exit::USAGE
    })
}
