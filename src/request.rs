//! Access requests: what an operator asked for, and what became of it, read from and written
//! to `/etc/cage/requests/<id>.toml`. The transitions are pure functions of the request, the
//! person and the time, so every rule is tested without root.
#![forbid(unsafe_code)]

mod parse;
mod ssh_key;

use std::fmt;
use std::time::Duration;

use crate::grant::{quote, Grant, GrantState};
use crate::source::SourceError;
use crate::time::Timestamp;

pub use ssh_key::check_public_key;

/// Approver name recorded when every action was pre-approved in cage.toml.
pub const PRE_APPROVED_BY: &str = "pre-approved";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `REQ-` and [`crate::config::SHORT_ID_LEN`] lowercase hex characters.
    pub id: String,
    /// The temporary user the request gets, from the host's `user_pattern`.
    pub login: String,
    pub actions: Vec<String>,
    pub reason: String,
    /// How long the grant lasts once approved (the approver may change it).
    pub duration: Duration,
    /// The grant does not start before this, when given.
    pub not_before: Option<Timestamp>,
    /// The operator's public key (one `authorized_keys` line), when given.
    pub ssh_key: Option<String>,
    /// Where the requester hears about the decision and the end (a plain mail address).
    pub contact: Option<String>,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub state: State,
    /// Who marked it in review, and when.
    pub reviewed: Option<Mark>,
    /// Who approved, rejected, revoked or expired it, when, and why.
    pub decided: Option<Mark>,
    /// The grant's window, once approved.
    pub window: Option<(Timestamp, Timestamp)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    InReview,
    Approved,
    Rejected,
    Revoked,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InReview => "in_review",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Revoked => "revoked",
            State::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Option<State> {
        [State::Pending, State::InReview, State::Approved, State::Rejected, State::Revoked, State::Expired]
            .into_iter()
            .find(|state| state.as_str() == s)
    }

    /// Waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(self, State::Pending | State::InReview)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone did something at an instant, maybe saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub by: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Why a transition was refused: one line for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The request id for short id `short` (lowercase hex).
pub fn id_for(short: &str) -> String {
    format!("REQ-{short}")
}

/// The short id of a request id (`REQ-7f3a9c01` -> `7f3a9c01`), if it is one.
pub fn short_id(id: &str) -> Option<&str> {
    let short = id.strip_prefix("REQ-")?;
    let ok = short.len() == crate::config::SHORT_ID_LEN
        && short.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(short)
}

impl Request {
    /// Parses and validates a request file; every error as `FILE:LINE:COL: what`.
    pub fn parse(text: &str, file: &str) -> Result<Request, SourceError> {
        parse::parse(text, file)
    }

    /// Marks the request as being looked at.
    pub fn review(&mut self, by: &str, now: Timestamp) -> Result<(), Refused> {
        if self.state != State::Pending {
            return Err(self.refused("reviewed", "a pending"));
        }
        self.state = State::InReview;
        self.reviewed = Some(Mark { by: by.into(), at: now, reason: String::new() });
        Ok(())
    }

    /// Approves it for `duration` (the request's own when `None`), at most `max` long;
    /// returns the grant to write.
    pub fn approve(
        &mut self,
        by: &str,
        now: Timestamp,
        duration: Option<Duration>,
        max: Duration,
    ) -> Result<Grant, Refused> {
        if !self.state.is_open() {
            return Err(self.refused("approved", "a pending or in-review"));
        }
        let duration = duration.unwrap_or(self.duration);
        check_duration(duration, max)?;
        let start = self.not_before.filter(|t| *t > now).unwrap_or(now);
        let end = start.checked_add(duration).ok_or_else(|| Refused("the duration is too long".into()))?;
        self.state = State::Approved;
        self.duration = duration;
        self.decided = Some(Mark { by: by.into(), at: now, reason: String::new() });
        self.window = Some((start, end));
        Ok(Grant {
            req_auth_id: self.id.clone(),
            login: self.login.clone(),
            actions: self.actions.clone(),
            not_before: start,
            expires: end,
            approved_by: by.into(),
            reason: self.reason.clone(),
            state: GrantState::Approved,
            revoked: None,
        })
    }

    pub fn reject(&mut self, by: &str, now: Timestamp, reason: &str) -> Result<(), Refused> {
        if !self.state.is_open() {
            return Err(self.refused("rejected", "a pending or in-review"));
        }
        self.state = State::Rejected;
        self.decided = Some(Mark { by: by.into(), at: now, reason: reason.into() });
        Ok(())
    }

    /// Ends an approved request early (its grant is revoked beside it).
    pub fn revoke(&mut self, by: &str, now: Timestamp, reason: &str) -> Result<(), Refused> {
        if self.state != State::Approved && !self.state.is_open() {
            return Err(self.refused("revoked", "an approved or open"));
        }
        self.state = State::Revoked;
        self.decided = Some(Mark { by: by.into(), at: now, reason: reason.into() });
        Ok(())
    }

    /// Marks an approved request whose grant ran out.
    pub fn expire(&mut self, now: Timestamp) -> Result<(), Refused> {
        let ended = self.window.is_some_and(|(_, end)| end <= now);
        if self.state != State::Approved || !ended {
            return Err(self.refused("expired", "an approved and ended"));
        }
        self.state = State::Expired;
        Ok(())
    }

    fn refused(&self, what: &str, needs: &str) -> Refused {
        Refused(format!("{} is {}; only {needs} request can be {what}", self.id, self.state))
    }

    /// Canonical file text; `Request::parse(&r.to_toml(), f) == Ok(r)`.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: String| out.push_str(&format!("{key} = {value}\n"));
        let time = |t: &Timestamp| quote(&t.to_rfc3339_exact());
        line("id", quote(&self.id));
        line("login", quote(&self.login));
        let actions: Vec<String> = self.actions.iter().map(|a| quote(a)).collect();
        line("actions", format!("[{}]", actions.join(", ")));
        line("reason", quote(&self.reason));
        line("duration_secs", self.duration.as_secs().to_string());
        if let Some(t) = &self.not_before {
            line("not_before", time(t));
        }
        if let Some(key) = &self.ssh_key {
            line("ssh_key", quote(key));
        }
        if let Some(contact) = &self.contact {
            line("contact", quote(contact));
        }
        line("requested_by", quote(&self.requested_by));
        line("requested_at", time(&self.requested_at));
        line("state", quote(self.state.as_str()));
        if let Some(m) = &self.reviewed {
            line("reviewed_by", quote(&m.by));
            line("reviewed_at", time(&m.at));
        }
        if let Some(m) = &self.decided {
            line("decided_by", quote(&m.by));
            line("decided_at", time(&m.at));
            line("decision_reason", quote(&m.reason));
        }
        if let Some((start, end)) = &self.window {
            line("starts", time(start));
            line("expires", time(end));
        }
        out
    }
}

/// A grant may not be longer than the host allows.
pub fn check_duration(duration: Duration, max: Duration) -> Result<(), Refused> {
    if duration > max {
        return Err(Refused(format!(
            "{} is longer than this host's max_duration ({})",
            crate::time::format_remaining(duration),
            crate::time::format_remaining(max)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
