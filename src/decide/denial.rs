//! Why a command is refused: one variant per rule, each shown as one line.
#![forbid(unsafe_code)]

use std::fmt;

use super::plan::Rule;
use crate::policy::grammar::GrammarError;
use crate::policy::{FileCommand, Network};

/// A refusal, and the index in argv of the word it concerns (for a caret), when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    pub at: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    UnknownCommand {
        name: String,
    },
    Blacklisted {
        name: String,
        rule: Rule,
    },
    Refused {
        name: String,
        reason: String,
        rule: Rule,
    },
    Grammar {
        alias: String,
        error: GrammarError,
        rule: Rule,
    },
    FileCommandNotGranted {
        command: FileCommand,
    },
    Usage {
        command: String,
        detail: String,
    },
    PathOutside {
        path: String,
        write: bool,
    },
    ReadOnly {
        path: String,
        rule: Rule,
    },
    DeniedPath {
        path: String,
        rule: Rule,
    },
    Secret {
        path: String,
    },
    RuleRoot {
        path: String,
        rule: Rule,
    },
    RootExecNotListed {
        path: String,
    },
    SuNotListed {
        user: String,
    },
    SuRoot,
    CdOutside {
        path: String,
    },
    PathCommand {
        name: String,
    },
    /// A destination the line names that the session's network mode cannot reach.
    Unreachable {
        destination: String,
        network: Network,
        why: String,
    },
}

impl DenyReason {
    /// True when the command is simply not known (exit 127), rather than refused (exit 126).
    pub fn is_unknown_command(&self) -> bool {
        matches!(self, DenyReason::UnknownCommand { .. })
    }

    /// The rule that refused, when a specific one did.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            DenyReason::Blacklisted { rule, .. }
            | DenyReason::Refused { rule, .. }
            | DenyReason::Grammar { rule, .. }
            | DenyReason::ReadOnly { rule, .. }
            | DenyReason::DeniedPath { rule, .. }
            | DenyReason::RuleRoot { rule, .. } => Some(rule),
            _ => None,
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::UnknownCommand { name } => write!(f, "unknown command: {name}"),
            DenyReason::Blacklisted { name, rule } => write!(f, "`{name}` is blacklisted ({rule})"),
            DenyReason::Refused { name, reason, rule } => {
                write!(f, "`{name}` is refused: {reason} ({rule})")
            }
            DenyReason::Grammar { alias, error, rule } => write!(f, "{alias}: {error} ({rule})"),
            DenyReason::FileCommandNotGranted { command } => {
                write!(f, "{command} is not allowed by this grant")
            }
            DenyReason::Usage { command, detail } => write!(f, "{command}: {detail}"),
            DenyReason::PathOutside { path, write: false } => {
                write!(f, "`{path}` is outside the readable paths of this grant")
            }
            DenyReason::PathOutside { path, write: true } => {
                write!(f, "`{path}` is outside the writable paths of this grant")
            }
            DenyReason::ReadOnly { path, rule } => write!(f, "`{path}` is read-only ({rule})"),
            DenyReason::DeniedPath { path, rule } => write!(f, "`{path}` is denied ({rule})"),
            DenyReason::Secret { path } => {
                write!(f, "`{path}` holds secrets and is never reachable")
            }
            DenyReason::RuleRoot { path, rule } => {
                write!(f, "`{path}` is the root of a rule and cannot be removed ({rule})")
            }
            DenyReason::RootExecNotListed { path } => {
                write!(f, "rootexec: `{path}` is not a listed script")
            }
            DenyReason::SuNotListed { user } => {
                write!(f, "su: `{user}` is not a listed service user")
            }
            DenyReason::SuRoot => f.write_str("su: root is never allowed"),
            DenyReason::CdOutside { path } => {
                write!(f, "cd: `{path}` is outside the readable directories of this grant")
            }
            DenyReason::PathCommand { name } => {
                write!(f, "`{name}`: commands are run by name, not by path")
            }
            DenyReason::Unreachable { destination, network, why } => {
                write!(f, "`{destination}` is not reachable: the network policy ({}) {why}", network.name())
            }
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}
