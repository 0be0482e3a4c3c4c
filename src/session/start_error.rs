//! Why a stage did not start, by what it means to the operator and the auditor. Only a
//! refusal found while acting is a denial (126); an operand that cannot be used is the
//! operator's to fix (1, as a shell says it); a program this host lacks is not found (127);
//! anything else is a failure of cage itself (125), recorded as an error, never as a denial.
#![forbid(unsafe_code)]

use std::fmt;

use crate::files::DENIED;
use crate::jail::{JailError, PlanError};

/// Exit status of a command cage could not run because a step of its own failed.
pub(crate) const FAILED: i32 = 125;

/// Exit status of a command whose program is not on this host.
pub(crate) const NOT_FOUND: i32 = 127;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// A refusal found while acting (a redirection's target refused on disk), already
    /// recorded as a denial.
    Denied(String),
    /// An operand that cannot be used (a redirection into a missing directory).
    Unusable(String),
    /// What the stage runs is not installed on this host.
    NotInstalled(String),
    /// A step of cage's own failed: what it was doing, and the error.
    Failed { step: &'static str, error: String },
}

impl StartError {
    pub fn failed(step: &'static str, error: impl fmt::Display) -> StartError {
        StartError::Failed { step, error: error.to_string() }
    }

    pub fn status(&self) -> i32 {
        match self {
            StartError::Denied(_) => DENIED,
            StartError::Unusable(_) => 1,
            StartError::NotInstalled(_) => NOT_FOUND,
            StartError::Failed { .. } => FAILED,
        }
    }

    /// What the trail's `exit` record says went wrong, for a failure of cage's own.
    pub fn recorded(&self) -> Option<String> {
        matches!(self, StartError::Failed { .. }).then(|| self.to_string())
    }
}

/// The line the operator sees, after `cage: `.
impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Denied(why) => write!(f, "denied: {why}"),
            StartError::Unusable(why) | StartError::NotInstalled(why) => f.write_str(why),
            StartError::Failed { step, error } => write!(f, "error: {step}: {error}"),
        }
    }
}

impl From<PlanError> for StartError {
    fn from(error: PlanError) -> StartError {
        match error {
            PlanError::NotFound { .. } | PlanError::NotInstalled { .. } => {
                StartError::NotInstalled(error.to_string())
            }
            PlanError::NotJailed => StartError::failed("planning the jail", error),
        }
    }
}

impl From<JailError> for StartError {
    fn from(error: JailError) -> StartError {
        StartError::failed("starting the jail", error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_is_a_denial_and_only_a_failure_is_recorded_as_an_error() {
        let cases = [
            (
                StartError::Denied("a link out of the rule".into()),
                126,
                "denied: a link out of the rule",
                None,
            ),
            (
                StartError::Unusable("/u01/x/y: no such directory".into()),
                1,
                "/u01/x/y: no such directory",
                None,
            ),
            (
                StartError::from(PlanError::NotInstalled { program: "/usr/bin/x".into() }),
                127,
                "`/usr/bin/x` is not installed on this host",
                None,
            ),
            (
                StartError::failed("pipe", "Too many open files"),
                125,
                "error: pipe: Too many open files",
                Some("error: pipe: Too many open files".to_string()),
            ),
        ];
        for (error, status, shown, recorded) in cases {
            assert_eq!(
                (error.status(), error.to_string(), error.recorded()),
                (status, shown.to_string(), recorded)
            );
        }
    }
}
