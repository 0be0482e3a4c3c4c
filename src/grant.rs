//! Grants: who may run which actions between which times, read from `/etc/cage/grants/<login>.toml`.
#![forbid(unsafe_code)]

pub mod cert;
mod parse;
mod write;

pub(crate) use write::quote;

use crate::source::SourceError;
use crate::time::{format_remaining, Timestamp};
use std::fmt;
use std::time::Duration;

/// One approved (or since revoked) request for temporary access, as validated by [`Grant::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub req_auth_id: String,
    pub login: String,
    pub actions: Vec<String>,
    pub not_before: Timestamp,
    pub expires: Timestamp,
    pub approved_by: String,
    pub reason: String,
    pub state: GrantState,
    /// Who revoked the grant and why, when the file says; only with [`GrantState::Revoked`].
    pub revoked: Option<Revocation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    Approved,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub by: String,
    pub at: Timestamp,
    /// Empty when the file gives no `revoke_reason`.
    pub reason: String,
}

/// Whether a grant allows anything at a given instant; plain data, no policy attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid { remaining: Duration },
    NotYetValid { starts_in: Duration },
    Expired { ago: Duration },
    Revoked,
}

impl Validity {
    pub fn is_valid(&self) -> bool {
        matches!(self, Validity::Valid { .. })
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validity::Valid { remaining } => {
                write!(f, "valid, {} left", format_remaining(*remaining))
            }
            Validity::NotYetValid { starts_in } => {
                write!(f, "not yet valid, starts in {}", format_remaining(*starts_in))
            }
            Validity::Expired { ago } => write!(f, "expired {} ago", format_remaining(*ago)),
            Validity::Revoked => f.write_str("revoked"),
        }
    }
}

impl Grant {
    /// Parses and validates a grant file; `file` is the name shown in `FILE:LINE:COL` errors.
    ///
    /// Every error, TOML syntax and unknown keys included, points at the offending value
    /// (or at 1:1 for a missing field, which has no place of its own).
    pub fn parse(text: &str, file: &str) -> Result<Grant, GrantError> {
        parse::parse(text, file)
    }

    /// Refuses a grant naming an action the policy does not define: a typo there would
    /// otherwise silently allow less than was approved, or something defined later.
    ///
    /// The error names the action and the file but no line: a parsed `Grant` is plain data
    /// without spans, and each action appears once in the short `actions` line anyway.
    pub fn check_actions(&self, is_known: impl Fn(&str) -> bool, file: &str) -> Result<(), GrantError> {
        match self.actions.iter().find(|action| !is_known(action)) {
            None => Ok(()),
            Some(action) => Err(GrantError::UnknownAction { file: file.to_string(), action: action.clone() }),
        }
    }

    /// The grant's validity at `now`: revocation wins over time; valid from `not_before`
    /// inclusive to `expires` exclusive.
    pub fn validity(&self, now: Timestamp) -> Validity {
        // A revocation record on an `approved` grant cannot come from `parse`; if one is
        // built by hand anyway, treat it as revoked rather than guess which field is wrong.
        if self.state == GrantState::Revoked || self.revoked.is_some() {
            return Validity::Revoked;
        }
        if let Some(starts_in) = self.not_before.duration_since(now).filter(|d| !d.is_zero()) {
            return Validity::NotYetValid { starts_in };
        }
        match self.expires.duration_since(now) {
            Some(remaining) if !remaining.is_zero() => Validity::Valid { remaining },
            _ => Validity::Expired { ago: now.duration_since(self.expires).unwrap_or(Duration::ZERO) },
        }
    }

    /// One line for the user, e.g. `grant REQ-1 for opctl_7f3a expired 2026-11-22T16:00:00Z (3m 10s ago)`.
    pub fn describe_validity(&self, now: Timestamp) -> String {
        let who = format!("grant {} for {}", self.req_auth_id, self.login);
        match self.validity(now) {
            Validity::Valid { remaining } => {
                format!("{who} is valid until {} ({} left)", self.expires, format_remaining(remaining))
            }
            Validity::NotYetValid { starts_in } => format!(
                "{who} is not valid until {} (starts in {})",
                self.not_before,
                format_remaining(starts_in)
            ),
            Validity::Expired { ago } => {
                format!("{who} expired {} ({} ago)", self.expires, format_remaining(ago))
            }
            Validity::Revoked => format!("{who} {}", self.describe_revocation()),
        }
    }

    fn describe_revocation(&self) -> String {
        match &self.revoked {
            None => "was revoked".to_string(),
            Some(r) if r.reason.is_empty() => format!("was revoked by {} at {}", r.by, r.at),
            Some(r) => format!("was revoked by {} at {}: {}", r.by, r.at, r.reason),
        }
    }

    /// Canonical file text; `Grant::parse(&g.to_toml(), f) == Ok(g)` for any valid grant.
    pub fn to_toml(&self) -> String {
        write::to_toml(self)
    }
}

/// Why a grant file was refused, shown as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    /// The file is malformed or breaks a rule, at a place in it.
    Source(SourceError),
    /// The grant names an action the policy does not define.
    UnknownAction { file: String, action: String },
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantError::Source(e) => e.fmt(f),
            GrantError::UnknownAction { file, action } => {
                write!(f, "{file}: action `{action}` is not defined in the policy")
            }
        }
    }
}

impl std::error::Error for GrantError {}

impl From<SourceError> for GrantError {
    fn from(e: SourceError) -> Self {
        GrantError::Source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANT: &str = r#"req_auth_id = "REQ-20261122-0042"
login = "opctl_7f3a"
actions = ["INFRA_DIAG", "DISK_USAGE"]
not_before = "2026-11-22T08:00:00Z"
expires = "2026-11-22T16:00:00Z"
approved_by = "alice"
reason = "ticket CHG-1234: investigate disk alarms"
state = "approved"
"#;

    fn grant() -> Grant {
        match Grant::parse(GRANT, "g.toml") {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    fn at(s: &str) -> Timestamp {
        match Timestamp::parse_rfc3339(s) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn valid_from_not_before_inclusive() {
        let g = grant();
        let start = g.validity(at("2026-11-22T08:00:00Z"));
        assert_eq!(start, Validity::Valid { remaining: Duration::from_secs(8 * 3600) });
        let just_before = g.validity(at("2026-11-22T07:59:59.999999999Z"));
        assert_eq!(just_before, Validity::NotYetValid { starts_in: Duration::from_nanos(1) });
    }

    #[test]
    fn expired_from_expires_inclusive() {
        let g = grant();
        let end = g.validity(at("2026-11-22T16:00:00Z"));
        assert_eq!(end, Validity::Expired { ago: Duration::ZERO });
        let last = g.validity(at("2026-11-22T15:59:59.999999999Z"));
        assert_eq!(last, Validity::Valid { remaining: Duration::from_nanos(1) });
        assert!(!end.is_valid() && last.is_valid());
    }

    #[test]
    fn revocation_wins_over_time() {
        let mut g = grant();
        g.state = GrantState::Revoked;
        assert_eq!(g.validity(at("2026-11-22T12:00:00Z")), Validity::Revoked);
        let mut hand_built = grant();
        hand_built.revoked =
            Some(Revocation { by: "bob".into(), at: at("2026-11-22T10:00:00Z"), reason: String::new() });
        assert_eq!(hand_built.validity(at("2026-11-22T12:00:00Z")), Validity::Revoked);
    }

    #[test]
    fn an_inverted_hand_built_window_is_never_valid() {
        let mut g = grant();
        std::mem::swap(&mut g.not_before, &mut g.expires);
        for now in ["2026-11-22T07:00:00Z", "2026-11-22T12:00:00Z", "2026-11-22T17:00:00Z"] {
            assert!(!g.validity(at(now)).is_valid(), "{now}");
        }
    }

    #[test]
    fn validity_displays_as_a_short_phrase() {
        let g = grant();
        assert_eq!(g.validity(at("2026-11-22T14:54:30Z")).to_string(), "valid, 1h 05m left");
        assert_eq!(g.validity(at("2026-11-22T06:00:00Z")).to_string(), "not yet valid, starts in 2h 00m");
        assert_eq!(g.validity(at("2026-11-22T16:03:10Z")).to_string(), "expired 3m 10s ago");
        assert_eq!(Validity::Revoked.to_string(), "revoked");
    }

    #[test]
    fn describe_validity_names_the_grant_and_the_boundary() {
        let mut g = grant();
        let line = |g: &Grant, now| g.describe_validity(at(now));
        assert_eq!(
            line(&g, "2026-11-22T16:03:10Z"),
            "grant REQ-20261122-0042 for opctl_7f3a expired 2026-11-22T16:00:00Z (3m 10s ago)"
        );
        assert_eq!(
            line(&g, "2026-11-22T14:54:30Z"),
            "grant REQ-20261122-0042 for opctl_7f3a is valid until 2026-11-22T16:00:00Z (1h 05m left)"
        );
        assert_eq!(
            line(&g, "2026-11-20T06:00:00Z"),
            "grant REQ-20261122-0042 for opctl_7f3a is not valid until 2026-11-22T08:00:00Z (starts in 2d 2h)"
        );
        g.state = GrantState::Revoked;
        assert_eq!(line(&g, "2026-11-22T12:00:00Z"), "grant REQ-20261122-0042 for opctl_7f3a was revoked");
        g.revoked = Some(Revocation {
            by: "bob".into(),
            at: at("2026-11-22T10:00:00Z"),
            reason: "done early".into(),
        });
        assert_eq!(
            line(&g, "2026-11-22T12:00:00Z"),
            "grant REQ-20261122-0042 for opctl_7f3a was revoked by bob at 2026-11-22T10:00:00Z: done early"
        );
    }

    #[test]
    fn check_actions_names_the_first_unknown_action() {
        let g = grant();
        assert_eq!(g.check_actions(|_| true, "g.toml"), Ok(()));
        let err = g.check_actions(|a| a == "INFRA_DIAG", "g.toml");
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("g.toml: action `DISK_USAGE` is not defined in the policy".to_string())
        );
    }
}
