//! One notification event: what happened to which request, as the event hook reads it
//! (JSON on stdin) and as the notifier turns it into mail.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What happened. Every kind goes to the event hook; mail follows [`Kind::mailed_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Requested,
    InReview,
    Approved,
    Rejected,
    Granted,
    Extended,
    Revoked,
    Expired,
    /// The monitor ended a live session because its grant was revoked or ran out.
    SessionEnded,
}

/// Who reads a mail about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `[notify] approvers`: a request awaits a decision.
    Approvers,
    /// The request's contact: its decision and its end.
    Requester,
    /// The event hook only.
    Nobody,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Requested => "requested",
            Kind::InReview => "in_review",
            Kind::Approved => "approved",
            Kind::Rejected => "rejected",
            Kind::Granted => "granted",
            Kind::Extended => "extended",
            Kind::Revoked => "revoked",
            Kind::Expired => "expired",
            Kind::SessionEnded => "session_ended",
        }
    }

    /// Approvers hear of a request that waits for them (a pre-approved one does not); the
    /// requester hears of everything decided about it; a direct grant and a session's end
    /// are for the hook (the audit trail has them too).
    pub fn mailed_to(self, pre_approved: bool) -> Audience {
        match self {
            Kind::Requested if pre_approved => Audience::Nobody,
            Kind::Requested => Audience::Approvers,
            Kind::InReview
            | Kind::Approved
            | Kind::Rejected
            | Kind::Extended
            | Kind::Revoked
            | Kind::Expired => Audience::Requester,
            Kind::Granted | Kind::SessionEnded => Audience::Nobody,
        }
    }
}

/// The event as the hook receives it. Absent members are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique, and the spool file's name: `EVT-` time in nanoseconds, `-`, 8 hex characters.
    pub id: String,
    pub event: Kind,
    pub time: Timestamp,
    /// The host the request is for (`hostname` in cage.toml, else the kernel's).
    pub host: String,
    pub req_auth_id: String,
    pub loginid: String,
    /// Who did it: an admin, `pre-approved`, `reap`, or `monitor`.
    pub by: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// The request's reason, or the reason given for a rejection or revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The requester's mail address, when the request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// `requested`: every action was pre-approved, so it was approved at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre_approved: bool,
    /// `session_ended`: the session's id in the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl Event {
    /// A new event at `now` with a fresh id; the host is filled in when it is queued.
    pub fn new(kind: Kind, req_auth_id: &str, loginid: &str, by: &str) -> Event {
        let time = Timestamp::now();
        Event {
            id: new_id(time),
            event: kind,
            time,
            host: String::new(),
            req_auth_id: req_auth_id.into(),
            loginid: loginid.into(),
            by: by.into(),
            actions: Vec::new(),
            reason: None,
            contact: None,
            not_before: None,
            expires: None,
            pre_approved: false,
            session: None,
        }
    }

    /// The JSON the hook reads: one object on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn audience(&self) -> Audience {
        self.event.mailed_to(self.pre_approved)
    }
}

/// `EVT-` nanoseconds since the epoch (19 digits until 2286, so names sort by time) and 8 hex
/// characters, random (the pid when the kernel's pool cannot be read).
fn new_id(time: Timestamp) -> String {
    let mut bytes = [0u8; 4];
    if crate::sys::getrandom(&mut bytes).is_err() {
        bytes = std::process::id().to_be_bytes();
    }
    format!("EVT-{}{:09}-{}", time.unix_secs(), time.subsec_nanos(), crate::audit::record::hex(&bytes))
}

/// An event id as [`new_id`] makes them: safe as a file name.
pub(crate) fn is_event_id(id: &str) -> bool {
    let Some((nanos, random)) = id.strip_prefix("EVT-").and_then(|rest| rest.split_once('-')) else {
        return false;
    };
    !nanos.is_empty()
        && nanos.len() <= 20
        && nanos.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 8
        && random.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_reads_one_json_object_without_absent_members() {
        let mut e = Event::new(Kind::Requested, "REQ-7f3a9c01", "opctl_7f3a9c01", "alice");
        e.host = "cps01".into();
        e.actions = vec!["INFRA_DIAG".into(), "AVM_SYS_DIAG".into()];
        e.reason = Some("CHG-1 \"disk\"\nalarms".into());
        e.time = Timestamp::parse_rfc3339("2026-11-23T01:02:03Z").expect("time");
        let json = e.to_json();
        assert!(!json.contains('\n'), "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["event"], "requested");
        assert_eq!(value["req_auth_id"], "REQ-7f3a9c01");
        assert_eq!(value["loginid"], "opctl_7f3a9c01");
        assert_eq!(value["time"], "2026-11-23T01:02:03Z");
        assert_eq!(value["actions"][1], "AVM_SYS_DIAG");
        assert_eq!(value["reason"], "CHG-1 \"disk\"\nalarms");
        for absent in ["contact", "expires", "not_before", "session", "pre_approved"] {
            assert!(value.get(absent).is_none(), "{absent} in {json}");
        }
        assert_eq!(serde_json::from_str::<Event>(&json).ok(), Some(e));
    }

    #[test]
    fn ids_are_unique_file_names_sorted_by_time() {
        let a = Event::new(Kind::Revoked, "REQ-1", "op", "root");
        let b = Event::new(Kind::Revoked, "REQ-1", "op", "root");
        assert!(is_event_id(&a.id) && is_event_id(&b.id), "{} {}", a.id, b.id);
        assert_ne!(a.id, b.id);
        assert!(a.id < b.id || a.time == b.time);
        for bad in ["EVT-1-xyz", "EVT-../x-00000000", "1-00000000", "EVT--00000000", "EVT-1-0000000/"] {
            assert!(!is_event_id(bad), "{bad}");
        }
    }

    #[test]
    fn approvers_hear_of_what_waits_and_the_requester_of_the_rest() {
        assert_eq!(Kind::Requested.mailed_to(false), Audience::Approvers);
        assert_eq!(Kind::Requested.mailed_to(true), Audience::Nobody);
        for kind in
            [Kind::InReview, Kind::Approved, Kind::Rejected, Kind::Extended, Kind::Revoked, Kind::Expired]
        {
            assert_eq!(kind.mailed_to(false), Audience::Requester, "{kind:?}");
        }
        assert_eq!(Kind::Granted.mailed_to(false), Audience::Nobody);
        assert_eq!(Kind::SessionEnded.mailed_to(false), Audience::Nobody);
    }
}
