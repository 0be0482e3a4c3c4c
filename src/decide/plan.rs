//! What an allowed command will do: the plan the monitor audits and executes.
#![forbid(unsafe_code)]

use std::fmt;

use crate::line::RedirectOp;
use crate::policy::{FileCommand, Layer, Origin, RunAs};

/// A named rule of the policy, as audit records and `cagectl explain` show it:
/// `INFRA_DIAG/cps/files.read_only[/var/log/]`, with ` via GRANTED` when inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub origin: Origin,
    pub layer: Layer,
    pub kind: &'static str,
    pub key: String,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}[{}]", self.origin.action, self.layer, self.kind, self.key)?;
        if self.origin.action != self.origin.granted {
            write!(f, " via {}", self.origin.granted)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlan {
    /// The rule that allowed the command itself.
    pub rule: Rule,
    pub action: Action,
    pub redirects: Vec<RedirectPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Builtin(Builtin),
    Run(RunPlan),
    File(FilePlan),
    RootExec(RootExecPlan),
    Su(SuPlan),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builtin {
    Help,
    /// `help NAME` or `NAME --help`: how to use one command (nothing runs, nothing recorded).
    HelpFor(String),
    Exit,
    Pwd,
    /// The normalized directory to change to.
    Cd(String),
    History,
    Grant,
    /// Clears the terminal.
    Clear,
}

/// A program to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    pub program: Program,
    /// The full argv: program basename, the alias's fixed args, then the operator's.
    pub argv: Vec<String>,
    pub run_as: RunAs,
    pub caps: Vec<String>,
    pub tty: bool,
    /// False only for full-access actions.
    pub jailed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    Path(String),
    /// Looked up inside the jail's view, in these directories, in order.
    Search {
        dirs: Vec<String>,
        name: String,
    },
}

/// A cage file command with its checked operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    pub command: FileCommand,
    /// The options as typed (already checked).
    pub options: Vec<String>,
    pub operands: Vec<PathGrant>,
    /// The operands typed with a trailing slash (`link/`): they name a directory, so a
    /// symlink found there is not what they name, and is refused rather than acted on.
    pub as_directory: Vec<String>,
}

/// A path a command may touch, lexically normalized, and the rule that allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGrant {
    pub path: String,
    pub access: Access,
    /// The rule's own directory: resolution on disk starts from here and may not leave it.
    pub base: String,
    /// `None` for full-access sessions, which have no path rules.
    pub rule: Option<Rule>,
    /// The deny rules lying beneath `base`: a relative link or a walk that stays beneath the
    /// base could still reach them, so what is found on disk is judged against them too.
    pub fences: Vec<String>,
}

impl PathGrant {
    /// `path` in a full-access session: no path rules, so resolution starts at `/` and
    /// nothing is fenced off.
    pub fn full_access(path: &str, access: Access) -> PathGrant {
        PathGrant { path: path.to_string(), access, base: "/".to_string(), rule: None, fences: Vec::new() }
    }

    /// Why `real`, a path as found on disk (links resolved), may not be read, written or
    /// entered through this grant: it holds secrets, or a deny rule covers it. Full-access
    /// grants (no path rules) have no fences.
    pub fn fence(&self, real: &str) -> Option<String> {
        use crate::policy::path::{is_secret, is_within};
        self.rule.as_ref()?;
        if is_secret(real) {
            return Some(format!("{real} holds secrets"));
        }
        let denied = self.fences.iter().find(|d| is_within(real, d))?;
        Some(format!("{real} lies in {denied}, denied by files.deny"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootExecPlan {
    pub script: String,
    pub sha256: Option<String>,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuPlan {
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectPlan {
    pub op: RedirectOp,
    /// `None` for `2>&1`.
    pub target: Option<PathGrant>,
}

impl ExecPlan {
    /// Every rule this plan relies on, command first, then paths, each once.
    pub fn rules(&self) -> Vec<&Rule> {
        let mut rules = vec![&self.rule];
        let operands = match &self.action {
            Action::File(f) => f.operands.iter().collect(),
            _ => Vec::new(),
        };
        let redirects = self.redirects.iter().filter_map(|r| r.target.as_ref());
        for grant in operands.into_iter().chain(redirects) {
            if let Some(rule) = &grant.rule {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
        rules
    }
}
