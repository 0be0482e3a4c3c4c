//! Reading a request file: TOML into spanned raw fields, then every rule checked with a place.
#![forbid(unsafe_code)]

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{short_id, Mark, Request, State};
use crate::policy::types::{is_action_id, is_unix_name};
use crate::shown::{is_deceptive, shown};
use crate::source::SourceError;
use crate::time::Timestamp;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    id: Spanned<String>,
    login: Spanned<String>,
    actions: Spanned<Vec<Spanned<String>>>,
    reason: Spanned<String>,
    duration_secs: Spanned<i64>,
    not_before: Option<Spanned<Timestamp>>,
    ssh_key: Option<Spanned<String>>,
    contact: Option<Spanned<String>>,
    requested_by: Spanned<String>,
    requested_at: Spanned<Timestamp>,
    state: Spanned<String>,
    reviewed_by: Option<Spanned<String>>,
    reviewed_at: Option<Spanned<Timestamp>>,
    decided_by: Option<Spanned<String>>,
    decided_at: Option<Spanned<Timestamp>>,
    decision_reason: Option<Spanned<String>>,
    starts: Option<Spanned<Timestamp>>,
    expires: Option<Spanned<Timestamp>>,
}

pub(super) fn parse(text: &str, file: &str) -> Result<Request, SourceError> {
    let at = |span: Range<usize>, message: String| SourceError::at(file, text, span.start, message);
    let raw: RawRequest = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        SourceError::at(file, text, offset, shown(e.message().trim_end()).replace("\\n", "; "))
    })?;
    if short_id(raw.id.get_ref()).is_none() {
        return Err(at(
            raw.id.span(),
            format!("`{}` is not a request id (REQ-xxxxxxxx)", shown(raw.id.get_ref())),
        ));
    }
    if !is_unix_name(raw.login.get_ref()) {
        return Err(at(raw.login.span(), format!("`{}` is not a user name", shown(raw.login.get_ref()))));
    }
    if raw.actions.get_ref().is_empty() {
        return Err(at(raw.actions.span(), "`actions` is empty".into()));
    }
    for action in raw.actions.get_ref() {
        if !is_action_id(action.get_ref()) {
            return Err(at(action.span(), format!("`{}` is not an action id", shown(action.get_ref()))));
        }
    }
    let duration = u64::try_from(*raw.duration_secs.get_ref())
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| at(raw.duration_secs.span(), "`duration_secs` must be positive".into()))?;
    let text_ok = |value: &Spanned<String>, key: &str, required: bool| match value.get_ref() {
        v if required && v.trim().is_empty() => Err(at(value.span(), format!("`{key}` is empty"))),
        v if v.chars().any(is_deceptive) => {
            Err(at(value.span(), format!("`{key}` contains control characters")))
        }
        _ => Ok(value.get_ref().clone()),
    };
    let reason = text_ok(&raw.reason, "reason", false)?;
    let requested_by = text_ok(&raw.requested_by, "requested_by", true)?;
    let ssh_key = match &raw.ssh_key {
        None => None,
        Some(key) => Some(super::check_public_key(key.get_ref()).map_err(|e| at(key.span(), e))?),
    };
    let contact = match &raw.contact {
        Some(c) if !crate::config::is_mail_address(c.get_ref()) => {
            return Err(at(c.span(), format!("`contact` `{}` is not a mail address", shown(c.get_ref()))))
        }
        contact => contact.as_ref().map(|c| c.get_ref().clone()),
    };
    let state = State::parse(raw.state.get_ref()).ok_or_else(|| {
        at(
            raw.state.span(),
            format!(
                "`state` must be pending, in_review, approved, rejected, revoked or expired, not `{}`",
                shown(raw.state.get_ref())
            ),
        )
    })?;
    let mark = |by: &Option<Spanned<String>>,
                when: &Option<Spanned<Timestamp>>,
                reason: Option<&Spanned<String>>,
                key: &str|
     -> Result<Option<Mark>, SourceError> {
        match (by, when) {
            (None, None) => Ok(None),
            (Some(by), Some(when)) => Ok(Some(Mark {
                by: text_ok(by, key, true)?,
                at: *when.get_ref(),
                reason: reason.map(|r| text_ok(r, "decision_reason", false)).transpose()?.unwrap_or_default(),
            })),
            (Some(by), None) => Err(at(by.span(), format!("`{key}` needs its `_at` time too"))),
            (None, Some(when)) => Err(at(when.span(), format!("the `_at` time needs `{key}` too"))),
        }
    };
    let reviewed = mark(&raw.reviewed_by, &raw.reviewed_at, None, "reviewed_by")?;
    let decided = mark(&raw.decided_by, &raw.decided_at, raw.decision_reason.as_ref(), "decided_by")?;
    let window = match (&raw.starts, &raw.expires) {
        (None, None) => None,
        (Some(s), Some(e)) if s.get_ref() < e.get_ref() => Some((*s.get_ref(), *e.get_ref())),
        (Some(_), Some(e)) => return Err(at(e.span(), "`expires` is not after `starts`".into())),
        (Some(s), None) => return Err(at(s.span(), "`starts` needs `expires` too".into())),
        (None, Some(e)) => return Err(at(e.span(), "`expires` needs `starts` too".into())),
    };
    // A decided request says who decided; an approved one also says for when.
    let decided_states = !matches!(state, State::Pending | State::InReview);
    if decided_states && decided.is_none() {
        return Err(at(
            raw.state.span(),
            format!("a request that is {state} needs `decided_by` and `decided_at`"),
        ));
    }
    if matches!(state, State::Approved | State::Expired) && window.is_none() {
        return Err(at(raw.state.span(), format!("a request that is {state} needs `starts` and `expires`")));
    }
    Ok(Request {
        id: raw.id.into_inner(),
        login: raw.login.into_inner(),
        actions: raw.actions.into_inner().into_iter().map(Spanned::into_inner).collect(),
        reason,
        duration: Duration::from_secs(duration),
        not_before: raw.not_before.map(Spanned::into_inner),
        ssh_key,
        contact,
        requested_by,
        requested_at: raw.requested_at.into_inner(),
        state,
        reviewed,
        decided,
        window,
    })
}
