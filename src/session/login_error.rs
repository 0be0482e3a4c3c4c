//! Why a login is refused, by the step that refused it. Each is shown as one line
//! (`cage: login refused: ...`, exit 1) and nothing of the session starts.
#![forbid(unsafe_code)]

use std::fmt;

use super::identity::IdentityError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// The calling uid has no account.
    Account(String),
    /// The caller's identity (groups) could not be had.
    Identity(IdentityError),
    /// cage.toml is missing, untrusted or invalid.
    Config(String),
    /// No grant, or one that is untrusted, invalid or another login's.
    Grant(String),
    /// A granted action's profile is missing, untrusted or invalid.
    Policy(String),
    /// The grant is not in force now (not yet, expired, revoked).
    NotInForce(String),
    /// The session's SSH certificate does not match the grant.
    Certificate(String),
    /// The session must be recorded, and its recording cannot start.
    Recording(String),
    /// The `login` record could not be written: no record, no session.
    Audit(String),
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginError::Identity(e) => e.fmt(f),
            LoginError::Account(why)
            | LoginError::Config(why)
            | LoginError::Grant(why)
            | LoginError::Policy(why)
            | LoginError::NotInForce(why)
            | LoginError::Certificate(why)
            | LoginError::Audit(why) => f.write_str(why),
            LoginError::Recording(why) => write!(f, "session recording: {why}"),
        }
    }
}

impl std::error::Error for LoginError {}

impl From<IdentityError> for LoginError {
    fn from(error: IdentityError) -> LoginError {
        LoginError::Identity(error)
    }
}
