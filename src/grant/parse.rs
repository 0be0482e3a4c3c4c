//! Reading a grant file: TOML into spanned raw fields, then every rule checked with a location.
#![forbid(unsafe_code)]

use super::{Grant, GrantError, GrantState, Revocation};
use crate::shown::{is_deceptive, shown};
use crate::source::SourceError;
use crate::time::Timestamp;
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use toml::Spanned;

const MAX_REQ_AUTH_ID_CHARS: usize = 64;

/// The file as written. Every field keeps its span so a rule broken later can still point at
/// the offending value; unknown keys are refused so a typo (`expire = ...`) cannot pass silently.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    req_auth_id: Spanned<String>,
    login: Spanned<String>,
    actions: Spanned<Vec<Spanned<String>>>,
    not_before: Spanned<Timestamp>,
    expires: Spanned<Timestamp>,
    approved_by: Spanned<String>,
    reason: Spanned<String>,
    state: Spanned<String>,
    #[serde(default)]
    revoked_by: Option<Spanned<String>>,
    #[serde(default)]
    revoked_at: Option<Spanned<Timestamp>>,
    #[serde(default)]
    revoke_reason: Option<Spanned<String>>,
}

/// Parses and validates grant file `text`; `file` names it in error messages.
pub(super) fn parse(text: &str, file: &str) -> Result<Grant, GrantError> {
    let at = Locator { file, text };
    let raw: RawGrant = toml::from_str(text).map_err(|e| {
        // The message can quote a key from the file verbatim (`unknown field`), so escape it.
        let offset = e.span().map_or(0, |span| span.start);
        at.error(offset..offset, shown(e.message()))
    })?;
    at.check_req_auth_id(&raw.req_auth_id)?;
    at.check_login(&raw.login)?;
    at.check_actions(&raw.actions)?;
    at.check_period(&raw.not_before, &raw.expires)?;
    at.check_name("approved_by", &raw.approved_by)?;
    at.check_text("reason", &raw.reason)?;
    let state = at.parse_state(&raw.state)?;
    let revoked = at.parse_revocation(&raw, state)?;
    Ok(Grant {
        req_auth_id: raw.req_auth_id.into_inner(),
        login: raw.login.into_inner(),
        actions: raw.actions.into_inner().into_iter().map(Spanned::into_inner).collect(),
        not_before: raw.not_before.into_inner(),
        expires: raw.expires.into_inner(),
        approved_by: raw.approved_by.into_inner(),
        reason: raw.reason.into_inner(),
        state,
        revoked,
    })
}

/// Turns a span of the file into a `FILE:LINE:COL` error; every check reports through it.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> GrantError {
        GrantError::Source(SourceError::at(self.file, self.text, span.start, message))
    }

    fn check_req_auth_id(&self, id: &Spanned<String>) -> Result<(), GrantError> {
        let value = id.get_ref();
        if value.is_empty() {
            return Err(self.error(id.span(), "`req_auth_id` is empty"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if let Some(bad) = value.chars().find(|&c| !allowed(c)) {
            return Err(self.error(
                id.span(),
                format!(
                    "`req_auth_id` contains {}; only A-Z a-z 0-9 . _ : - are allowed",
                    describe_char(bad)
                ),
            ));
        }
        if value.len() > MAX_REQ_AUTH_ID_CHARS {
            let message = format!(
                "`req_auth_id` is {} characters long; at most {MAX_REQ_AUTH_ID_CHARS} are allowed",
                value.len()
            );
            return Err(self.error(id.span(), message));
        }
        Ok(())
    }

    /// The login must be a name `useradd` would accept with its default rules.
    fn check_login(&self, login: &Spanned<String>) -> Result<(), GrantError> {
        let value = login.get_ref();
        let mut chars = value.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if first_ok && rest_ok && value.len() <= 32 {
            return Ok(());
        }
        Err(self.error(
            login.span(),
            format!(
                "`login` `{}` is not a valid user name (a-z or _, then up to 31 of a-z 0-9 _ -)",
                shown(value)
            ),
        ))
    }

    fn check_actions(&self, actions: &Spanned<Vec<Spanned<String>>>) -> Result<(), GrantError> {
        if actions.get_ref().is_empty() {
            let message = "`actions` is empty; a grant must allow at least one action";
            return Err(self.error(actions.span(), message));
        }
        let mut seen = HashSet::new();
        for action in actions.get_ref() {
            let name = action.get_ref();
            if !is_action_name(name) {
                let message = format!(
                    "action `{}` is not a valid action name (A-Z, then up to 63 of A-Z 0-9 _)",
                    shown(name)
                );
                return Err(self.error(action.span(), message));
            }
            if !seen.insert(name) {
                return Err(self.error(action.span(), format!("action `{name}` is listed twice")));
            }
        }
        Ok(())
    }

    /// An empty or inverted window would never be valid; refusing it catches swapped fields.
    fn check_period(
        &self,
        not_before: &Spanned<Timestamp>,
        expires: &Spanned<Timestamp>,
    ) -> Result<(), GrantError> {
        let (start, end) = (not_before.get_ref(), expires.get_ref());
        if start < end {
            return Ok(());
        }
        let message = format!(
            "`expires` ({}) is not after `not_before` ({})",
            end.to_rfc3339_exact(),
            start.to_rfc3339_exact()
        );
        Err(self.error(expires.span(), message))
    }

    /// A person's name: not blank, since an approval must be attributable to someone.
    fn check_name(&self, field: &str, name: &Spanned<String>) -> Result<(), GrantError> {
        if name.get_ref().trim().is_empty() {
            return Err(self.error(name.span(), format!("`{field}` is empty")));
        }
        self.check_text(field, name)
    }

    /// Free text may be anything printable: it ends up in terminals and audit logs.
    fn check_text(&self, field: &str, text: &Spanned<String>) -> Result<(), GrantError> {
        match text.get_ref().chars().find(|&c| is_deceptive(c)) {
            None => Ok(()),
            Some(c) => Err(self
                .error(text.span(), format!("`{field}` contains control character U+{:04X}", u32::from(c)))),
        }
    }

    fn parse_state(&self, state: &Spanned<String>) -> Result<GrantState, GrantError> {
        match state.get_ref().as_str() {
            "approved" => Ok(GrantState::Approved),
            "revoked" => Ok(GrantState::Revoked),
            other => Err(self.error(
                state.span(),
                format!("`state` must be \"approved\" or \"revoked\", not `{}`", shown(other)),
            )),
        }
    }
}

impl Locator<'_> {
    /// `revoked_*` fields only make sense on a revoked grant, and `by` and `at` come together;
    /// a revoked grant without them is still revoked.
    fn parse_revocation(&self, raw: &RawGrant, state: GrantState) -> Result<Option<Revocation>, GrantError> {
        if state == GrantState::Approved {
            return self.refuse_revocation_fields(raw);
        }
        match (&raw.revoked_by, &raw.revoked_at, &raw.revoke_reason) {
            (None, None, None) => Ok(None),
            (Some(by), Some(at), reason) => self.revocation(by, at, reason.as_ref()).map(Some),
            (Some(by), None, _) => Err(self.error(by.span(), "`revoked_by` needs `revoked_at` too")),
            (None, Some(at), _) => Err(self.error(at.span(), "`revoked_at` needs `revoked_by` too")),
            (None, None, Some(reason)) => {
                Err(self.error(reason.span(), "`revoke_reason` needs `revoked_by` and `revoked_at` too"))
            }
        }
    }

    fn revocation(
        &self,
        by: &Spanned<String>,
        at: &Spanned<Timestamp>,
        reason: Option<&Spanned<String>>,
    ) -> Result<Revocation, GrantError> {
        self.check_name("revoked_by", by)?;
        if let Some(reason) = reason {
            self.check_text("revoke_reason", reason)?;
        }
        Ok(Revocation {
            by: by.get_ref().clone(),
            at: *at.get_ref(),
            reason: reason.map(|r| r.get_ref().clone()).unwrap_or_default(),
        })
    }

    /// On an approved grant a revocation field is a contradiction: either the revocation was
    /// only half written, or the grant was meant to stay usable. Neither should be guessed.
    fn refuse_revocation_fields(&self, raw: &RawGrant) -> Result<Option<Revocation>, GrantError> {
        match first_revocation_field(raw) {
            None => Ok(None),
            Some((field, span)) => {
                let message = format!(
                    "`{field}` is set but `state` is \"approved\"; \
                     set `state = \"revoked\"` or remove `{field}`"
                );
                Err(self.error(span, message))
            }
        }
    }
}

/// The `revoked_*` field that comes first in the file, so the error points at the first one.
fn first_revocation_field(raw: &RawGrant) -> Option<(&'static str, Range<usize>)> {
    let spans = [
        ("revoked_by", raw.revoked_by.as_ref().map(Spanned::span)),
        ("revoked_at", raw.revoked_at.as_ref().map(Spanned::span)),
        ("revoke_reason", raw.revoke_reason.as_ref().map(Spanned::span)),
    ];
    spans.into_iter().filter_map(|(field, span)| Some((field, span?))).min_by_key(|(_, span)| span.start)
}

/// `^[A-Z][A-Z0-9_]{0,63}$`, without a regex engine.
fn is_action_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    let rest_ok = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    first_ok && rest_ok && name.len() <= 64
}

/// `` `/` `` for a printable character, `U+0007` for one that is not.
fn describe_char(c: char) -> String {
    if is_deceptive(c) || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_upper_case_and_at_most_64_characters() {
        assert!(is_action_name("A") && is_action_name("INFRA_DIAG_2"));
        assert!(is_action_name(&"A".repeat(64)) && !is_action_name(&"A".repeat(65)));
        for bad in ["", "a", "_A", "1A", "A-B", "A B", "Ä"] {
            assert!(!is_action_name(bad), "{bad}");
        }
    }

    #[test]
    fn characters_are_described_so_that_invisible_ones_show() {
        assert_eq!(describe_char('/'), "`/`");
        assert_eq!(describe_char(' '), "U+0020");
        assert_eq!(describe_char('\u{7}'), "U+0007");
        assert_eq!(describe_char('\u{202e}'), "U+202E");
    }

    #[test]
    fn every_prefix_of_a_grant_is_refused_without_panicking() {
        let text = "req_auth_id = \"R\"\nlogin = \"a\"\nactions = [\"A\"]\n\
                    not_before = \"2026-01-01T00:00:00Z\"\nexpires = \"2026-01-02T00:00:00Z\"\n\
                    approved_by = \"x\"\nreason = \"\"\nstate = \"revoked\"\n";
        assert!(parse(text, "g").is_ok());
        for end in (0..text.len()).filter(|&end| !text[end..].trim().is_empty()) {
            assert!(parse(&text[..end], "g").is_err(), "{}", &text[..end]);
        }
    }
}
