//! cagectl's arguments, parsed by clap: the subcommands (each one's options are declared next
//! to its code), `--help` and `--version`, the shell completions, and how a mistake in the
//! invocation is told: `cagectl: what is wrong`, the usage, exit 2. An option no subcommand
//! knows is refused, never taken for a file name.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::shells::{Bash, Fish, Zsh};

use crate::audit::VerifyOptions;
use crate::audit_export::ExportOptions;
use crate::audit_play::PlayOptions;
use crate::audit_show::ShowOptions;
use crate::audit_tail::TailOptions;
use crate::check::CheckOptions;
use crate::exit;
use crate::explain::ExplainOptions;
use crate::grant::GrantOptions;
use crate::lifecycle::{ExtendOptions, RevokeOptions};
use crate::list::ListOptions;
use crate::request::{ApproveOptions, RejectOptions, RequestOptions, ReviewOptions};
use crate::sessions::SessionsOptions;
use crate::watch::WatchOptions;
use cage::shown::shown;

/// administer cage: policies, access requests, grants, sessions, the audit trail
#[derive(Debug, Parser)]
#[command(name = "cagectl", version, subcommand_required = true, arg_required_else_help = true)]
#[command(after_help = "Durations are written 30m, 8h, 7d; times in RFC 3339 (2026-11-22T08:00:00Z). \
                        Changes are made as root and recorded in the audit trail first. See cagectl(8).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the profiles of DIR and the host's cage.toml as a login reads it
    #[command(override_usage = "cagectl check [DIR] [--config FILE] [--json]")]
    Check(CheckOptions),
    /// Decide a command line without running it, stage by stage
    #[command(override_usage = "cagectl explain [--policies DIR] --layer LAYER --actions A[,B...] \
                                [--login NAME] [--cwd DIR] [--json] -- 'COMMAND LINE'")]
    Explain(ExplainOptions),
    /// Raise an access request
    #[command(override_usage = "cagectl request --actions A[,B...] --reason TEXT [--duration D] \
                                [--not-before T] [--ssh-key FILE] [--contact EMAIL]")]
    Request(RequestOptions),
    /// Mark a request in review
    #[command(override_usage = "cagectl review ID")]
    Review(ReviewOptions),
    /// Approve a request: its temporary user, its key, then its grant
    #[command(override_usage = "cagectl approve ID [--duration D]")]
    Approve(ApproveOptions),
    /// Reject a request
    #[command(override_usage = "cagectl reject ID --reason TEXT")]
    Reject(RejectOptions),
    /// Give a grant directly (automation)
    #[command(override_usage = "cagectl grant --login NAME --actions A[,B...] (--duration D | --until T) \
                                --req ID [--reason TEXT] [--create-user] [--ssh-key FILE] [--ssh-ca CAKEY]")]
    Grant(GrantOptions),
    /// Move the end of a grant in force
    #[command(override_usage = "cagectl extend LOGIN (--duration D | --until T)")]
    Extend(ExtendOptions),
    /// End a grant at once: its sessions end within a second
    #[command(override_usage = "cagectl revoke LOGIN|ID [--reason TEXT]")]
    Revoke(RevokeOptions),
    /// Requests and grants, their state and the time left
    #[command(override_usage = "cagectl list [--all] [--json]")]
    List(ListOptions),
    /// Live sessions
    #[command(override_usage = "cagectl sessions [--json]")]
    Sessions(SessionsOptions),
    /// Follow a live recorded session, read-only
    #[command(override_usage = "cagectl watch SESSION [--file AUDIT]")]
    Watch(WatchOptions),
    /// Clean up what ended: requests, temporary users, dead sessions' cgroups
    #[command(override_usage = "cagectl reap")]
    Reap,
    /// Read, verify and rotate the audit trail
    #[command(subcommand, subcommand_required = true, arg_required_else_help = true)]
    Audit(AuditCommand),
    /// Print the completion script of a shell (bash, zsh, fish)
    #[command(override_usage = "cagectl completions bash|zsh|fish")]
    Completions(CompletionsOptions),
    /// Print the version (as --version does)
    #[command(hide = true)]
    Version,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Prove the hash chain of the trail and the digests of session recordings
    #[command(override_usage = "cagectl audit verify [FILE...]")]
    Verify(VerifyOptions),
    /// Give the live trail a dated name; a new file continues its chain (root only)
    #[command(override_usage = "cagectl audit rotate")]
    Rotate,
    /// The records that match the filters, as a table safe for the terminal
    #[command(override_usage = "cagectl audit show [FILTERS] [--json] [FILE...]")]
    Show(ShowOptions),
    /// The last records, and with -f those that follow (across rotations)
    #[command(override_usage = "cagectl audit tail [-f] [-n N] [FILTERS] [--json] [FILE]")]
    Tail(TailOptions),
    /// The records as JSON objects in the Operator Access Control layout
    #[command(override_usage = "cagectl audit export --format oac [FILTERS] [FILE...]")]
    Export(ExportOptions),
    /// Replay a recorded session as the operator saw it
    #[command(override_usage = "cagectl audit play SESSION [--speed N] [--idle-limit S] [FILE...]")]
    Play(PlayOptions),
}

#[derive(Debug, Args)]
pub struct CompletionsOptions {
    /// The shell whose completion script to print
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells whose completion scripts cagectl prints (and `make install` installs).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The subcommand `args` ask for, and its path of names (`["audit", "show"]`).
pub fn parse(args: &[OsString]) -> Result<(Command, Vec<String>), clap::Error> {
    let argv = std::iter::once(OsString::from("cagectl")).chain(args.iter().cloned());
    let matches = Cli::command().try_get_matches_from(argv)?;
    let mut path = Vec::new();
    let mut at = &matches;
    while let Some((name, sub)) = at.subcommand() {
        path.push(name.to_string());
        at = sub;
    }
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli.command, path))
}

/// The usage line of the subcommand at `path`, as `--help` shows it.
pub fn usage_of(path: &[String]) -> String {
    let mut at = Cli::command();
    at.build();
    for name in path {
        match at.find_subcommand(name) {
            Some(sub) => at = sub.clone(),
            None => break,
        }
    }
    at.render_usage().to_string()
}

/// The names of the subcommands `args` begin with (`["audit", "show"]`).
fn path_in(args: &[OsString]) -> Vec<String> {
    let mut at = Cli::command();
    let mut path = Vec::new();
    for arg in args.iter().map(|a| a.to_string_lossy()) {
        let Some(sub) = at.find_subcommand(arg.as_ref()).cloned() else { break };
        path.push(arg.into_owned());
        at = sub;
    }
    path
}

/// What clap refused in `args`: help and the version on `out` (exit 0); a mistake as one line
/// `cagectl: ...` and the usage on `err` (exit 2).
pub fn refused(e: &clap::Error, args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(out, "{}", e.render());
            return exit::OK;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(err, "{}", e.render());
            return exit::USAGE;
        }
        _ => {}
    }
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        Some(ContextValue::Strings(texts)) => texts.first().cloned(),
        Some(ContextValue::StyledStr(text)) => Some(text.to_string()),
        _ => None,
    };
    let (arg, subcommand) = (text(ContextKind::InvalidArg), text(ContextKind::InvalidSubcommand));
    let what = match (e.kind(), arg, subcommand) {
        (ErrorKind::UnknownArgument, Some(arg), _) if arg.starts_with('-') => format!("unknown option {arg}"),
        (ErrorKind::UnknownArgument, Some(arg), _) => format!("unexpected argument `{}`", shown(&arg)),
        (ErrorKind::InvalidSubcommand, _, Some(name)) => {
            format!("unknown subcommand `{}`", shown(&name))
        }
        // clap's own words, without its `error: ` and what follows the first paragraph.
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.split("\n\n").next().unwrap_or_default();
            first.strip_prefix("error: ").unwrap_or(first).trim_end().to_string()
        }
    };
    let suggested = text(ContextKind::SuggestedArg).or_else(|| text(ContextKind::SuggestedSubcommand));
    let _ = match suggested {
        Some(similar) => writeln!(err, "cagectl: {what} (did you mean {similar}?)"),
        None => writeln!(err, "cagectl: {what}"),
    };
    let _ = writeln!(err, "{}", usage_of(&path_in(args)));
    exit::USAGE
}

/// Writes the completion script of `shell` for every subcommand and option.
pub fn completions(shell: Shell, out: &mut dyn Write) -> i32 {
    let command = &mut Cli::command();
    match shell {
        Shell::Bash => clap_complete::generate(Bash, command, "cagectl", out),
        Shell::Zsh => clap_complete::generate(Zsh, command, "cagectl", out),
        Shell::Fish => clap_complete::generate(Fish, command, "cagectl", out),
    }
    exit::OK
}
